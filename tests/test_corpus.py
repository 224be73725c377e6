"""A corpus of realistic messages, each run through ``autoresponder explain --json``.

Files live in ``tests/corpus/<outcome>/...``: everything under ``skip/`` must be skipped
(bounces, list and bulk mail, other robots' auto-replies, spam), everything under ``reply/``
must get a reply. The first header line of each file, ``X-Corpus-Envelope: <sender>``, is the
envelope sender the MTA would pass (empty for the null sender); it is taken off before the
message is handed to the agent, as the MTA would never deliver it.

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


def split_envelope(raw: bytes) -> "tuple[str, bytes]":
    first, sep, rest = raw.partition(b"\n")
    name, _, value = first.partition(b":")
    assert name.strip().lower() == b"x-corpus-envelope", "first line must be X-Corpus-Envelope"
    sender = value.strip().decode("utf-8")
    if sender == "<>":
        sender = ""
    return sender.strip("<>") if sender.startswith("<") else sender, rest


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


@pytest.mark.parametrize("eol", EOLS)
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_decision(path, eol, results):
    want = expected(path)
    got = results[(path, eol)]
    assert got["decision"] == want, (
        f"{path.relative_to(CORPUS)} ({eol}): expected {want}, got {got['decision']} "
        f"by rule {got['rule']!r}: {got['reason']}")
