"""One delivery line for every entry point (issue 10, "done when").

Every corpus message goes through ``explain --json`` and through ``deliver`` (a fresh
ledger, the ``file`` transport, the log to a file), and both must name the same rule, the
same outcome and the same exit code; then both again after that first delivery, when the
messages that got a reply must say ``already-replied``. The runs are in-process through
``autoresponder.cli.main`` (the real command line without an interpreter start per
message), one fresh world per message.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import Agent
from tests.test_corpus import ACCOUNT, CORPUS, FILES, expected, split_envelope

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def log_fields(line: str) -> dict:
    """The key=value pairs of one log line (logs.format_fields), unquoted."""
    out = {}
    for k, v in _FIELD.findall(line.split("]: ", 1)[1]):
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[k] = v
    return out


class World(Agent):
    """A fresh config, database (ana@ on vacation, with an alias) and outbox; the command
    line runs in this process."""

    def run(self, *args: str, input: bytes = b"", env: dict | None = None,
            timeout: float = 60):
        from autoresponder.cli import main

        out = io.StringIO()
        saved_env, saved_stdin = dict(os.environ), sys.stdin
        os.environ.clear()
        os.environ.update(self.env)
        os.environ.update(env or {})
        sys.stdin = io.TextIOWrapper(io.BytesIO(input), encoding="utf-8")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                code = main(["--config", str(self.config), *args])
        finally:
            sys.stdin = saved_stdin
            os.environ.clear()
            os.environ.update(saved_env)
        return code, out.getvalue()

    def explain(self, sender: str, message: bytes) -> dict:
        code, out = self.run("explain", "--json", "--sender", sender, "--recipient", ACCOUNT,
                             input=message)
        assert code == 0, out
        return json.loads(out)

    def deliver_logged(self, sender: str, message: bytes) -> "tuple[int, dict]":
        before = len(self.log_lines())
        code, _ = self.run("deliver", "--sender", sender, "--recipient", ACCOUNT,
                           input=message)
        lines = self.log_lines()[before:]
        assert len(lines) == 1, lines
        return code, log_fields(lines[0])


def outcome_of(fields: dict) -> str:
    """The outcome a delivery's log line names: its rule, or reply."""
    return "reply" if fields["decision"] == "reply" else fields["rule"]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_explain_and_deliver_agree_before_and_after_a_first_delivery(tmp_path, path):
    w = World(tmp_path)
    code, _ = w.run("vacation", "enable", ACCOUNT, "--alias", "ana.silva@example.com")
    assert code == 0
    sender, message = split_envelope(path.read_bytes())
    message = message.replace(b"\r\n", b"\n")
    for round_ in ("first", "again"):
        said = w.explain(sender, message)
        code, logged = w.deliver_logged(sender, message)
        where = f"{path.relative_to(CORPUS)} ({round_} delivery)"
        assert (logged["decision"], logged["rule"]) == (said["decision"], said["rule"]), (
            where, said["reason"], logged["reason"])
        assert outcome_of(logged) == said["outcome"], where
        assert code == said["exit_code"] == 0, where
        if expected(path) == "reply":
            want = "reply" if round_ == "first" else "already-replied"
            assert said["outcome"] == want, (where, said["reason"])
        else:
            assert said["decision"] == "skip" and said["outcome"] != "already-replied", where
    replies = w.replies()
    assert len(replies) == (1 if expected(path) == "reply" else 0), path


def test_explain_shows_the_reply_deliver_sends(tmp_path):
    """The reply explain previews (through the capture transport) is the one deliver writes:
    same recipient, sender and subject."""
    import email
    import email.policy

    w = World(tmp_path)
    assert w.run("vacation", "enable", ACCOUNT, "--subject", "Fora do escritório")[0] == 0
    path = next(p for p in FILES if expected(p) == "reply")
    sender, message = split_envelope(path.read_bytes())
    said = w.explain(sender, message)
    assert said["outcome"] == "reply" and said["checks"][-1] == {"rule": "ledger",
                                                                 "result": "pass"}
    code, _ = w.deliver_logged(sender, message)
    assert code == 0
    (sent,) = w.replies()
    m = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert (str(m["To"]), str(m["From"]), str(m["Subject"])) == (
        said["reply"]["to"], said["reply"]["from"], said["reply"]["subject"])
    assert said["reply"]["subject"] == "Fora do escritório"


def test_a_corpus_sized_run_is_not_vacuous():
    """The agreement test above covers both kinds of message."""
    kinds = {expected(p) for p in FILES}
    assert kinds == {"reply", "skip"} and len(FILES) >= 60
    assert Path(CORPUS).is_dir()
