"""A corpus of realistic messages, each run through ``autoresponder explain --json``.

Files live in ``tests/corpus/<outcome>/...``: everything under ``skip/`` must be skipped
(bounces, list and bulk mail, other robots' auto-replies, spam), everything under ``reply/``
must get a reply. Each file opens with two lines that are taken off before the message is
handed to the agent (the MTA would never deliver them): ``X-Corpus-Envelope: <sender>``, the
envelope sender the MTA would pass (empty for the null sender), and ``X-Corpus-Rule: <rule>``,
the rule that must decide it (``reply`` for the reply cases): the first rule in
``autoresponder.rules.ORDER`` that objects, so a rule that starts deciding earlier, or stops
deciding, shows up here even when the message is still skipped.

All files are explained once per session, then each file is its own test: with LF line
endings in parallel subprocesses (the real command line, as the reviewers run it), and with CRLF
line endings, as Dovecot's extprograms hand messages over by default (``sieve_<ext>_input_eol =
crlf``), in-process through ``autoresponder.cli.main`` (no interpreter start per message, so the
whole file stays well under 30 s on two cores). The decision must not depend on the line ending.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import Agent

CORPUS = Path(__file__).resolve().parent / "corpus"
ACCOUNT = "ana@example.com"
FILES = sorted(CORPUS.rglob("*.eml"))
EOLS = ("lf", "crlf")


def expected(path: Path) -> str:
    top = path.relative_to(CORPUS).parts[0]
    assert top in ("skip", "reply"), path
    return top


def corpus_headers(raw: bytes) -> "tuple[dict[str, str], bytes]":
    """The file's leading ``X-Corpus-*`` lines (lower-case names) and the message after them."""
    found: "dict[str, str]" = {}
    rest = raw
    while rest[:9].lower() == b"x-corpus-":
        line, _, rest = rest.partition(b"\n")
        name, _, value = line.partition(b":")
        found[name.strip().lower().decode("ascii")] = value.strip().decode("utf-8")
    return found, rest


def split_envelope(raw: bytes) -> "tuple[str, bytes]":
    """(the envelope sender, the message as the MTA would hand it over)."""
    assert raw[:18].lower() == b"x-corpus-envelope:", "first line must be X-Corpus-Envelope"
    found, rest = corpus_headers(raw)
    sender = found["x-corpus-envelope"]
    if sender == "<>":
        sender = ""
    return sender.strip("<>") if sender.startswith("<") else sender, rest


def expected_rule(path: Path) -> str:
    """The rule that must decide the file's message (``reply`` if none objects)."""
    found, _ = corpus_headers(path.read_bytes())
    assert "x-corpus-rule" in found, f"{path}: no X-Corpus-Rule line"
    return found["x-corpus-rule"]


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    agent = Agent(tmp_path_factory.mktemp("corpus"))
    agent.admin("vacation", "enable", ACCOUNT, "--alias", "ana.silva@example.com")

    def subprocess_lf(path: Path):
        sender, message = split_envelope(path.read_bytes())
        r = agent.run("explain", "--json", "--sender", sender, "--recipient", ACCOUNT,
                      input=message.replace(b"\r\n", b"\n"))
        assert r.returncode == 0, (path, r.stdout, r.stderr)
        return (path, "lf"), json.loads(r.stdout)

    with ThreadPoolExecutor(max_workers=8) as pool:
        out = dict(pool.map(subprocess_lf, FILES))
    out.update(_in_process_crlf(agent))
    return out


def _in_process_crlf(agent: Agent) -> dict:
    from autoresponder.cli import main

    saved_env = dict(os.environ)
    saved_stdin = sys.stdin
    os.environ.update({"AUTORESPONDER_CACHE_DIR": agent.env["AUTORESPONDER_CACHE_DIR"]})
    for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
        os.environ.pop(k, None)
    out = {}
    try:
        for path in FILES:
            sender, message = split_envelope(path.read_bytes())
            message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            sys.stdin = io.TextIOWrapper(io.BytesIO(message))
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                rc = main(["--config", str(agent.config), "explain", "--json",
                           "--sender", sender, "--recipient", ACCOUNT])
            assert rc == 0, (path, buf.getvalue())
            out[(path, "crlf")] = json.loads(buf.getvalue())
    finally:
        sys.stdin = saved_stdin
        os.environ.clear()
        os.environ.update(saved_env)
    return out


def test_corpus_is_big_enough():
    assert len(FILES) >= 60
    kinds = {p.relative_to(CORPUS).parts[:2] for p in FILES}
    for k in (("skip", "bounce"), ("skip", "list"), ("skip", "auto")):
        assert k in kinds, k
    assert any(p.relative_to(CORPUS).parts[0] == "reply" for p in FILES)


def test_each_file_names_a_rule_that_fits_its_folder():
    from autoresponder.rules import ORDER

    for path in FILES:
        rule = expected_rule(path)
        assert rule in ORDER or rule == "reply", (path, rule)
        assert (rule == "reply") == (expected(path) == "reply"), (path, rule)


@pytest.mark.parametrize("eol", EOLS)
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_decision(path, eol, results):
    want, want_rule = expected(path), expected_rule(path)
    got = results[(path, eol)]
    assert got["decision"] == want, (
        f"{path.relative_to(CORPUS)} ({eol}): expected {want}, got {got['decision']} "
        f"by rule {got['rule']!r}: {got['reason']}")
    assert got["rule"] == want_rule, (
        f"{path.relative_to(CORPUS)} ({eol}): expected rule {want_rule!r} to decide, got "
        f"{got['rule']!r}: {got['reason']}")
