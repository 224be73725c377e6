"""A corpus of realistic messages, each run through ``autoresponder explain --json``.

Files live in ``tests/corpus/<outcome>/...``: everything under ``skip/`` must be skipped
(bounces, list and bulk mail, other robots' auto-replies, spam), everything under ``reply/``
must get a reply. The first header line of each file, ``X-Corpus-Envelope: <sender>``, is the
envelope sender the MTA would pass (empty for the null sender); it is taken off before the
message is handed to the agent, as the MTA would never deliver it.

All files are explained once per session, in parallel subprocesses (the real command line,
as the reviewers run it), then each file is its own test. Each file is also run with CRLF line
endings, as Dovecot's extprograms hand messages over by default (``sieve_<ext>_input_eol =
crlf``): the decision must not depend on the line ending.
"""

from __future__ import annotations

import json
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

    def one(job: "tuple[Path, str]"):
        path, eol = job
        sender, message = split_envelope(path.read_bytes())
        message = message.replace(b"\r\n", b"\n")
        if eol == "crlf":
            message = message.replace(b"\n", b"\r\n")
        r = agent.run("explain", "--json", "--sender", sender, "--recipient", ACCOUNT,
                      input=message)
        assert r.returncode == 0, (path, r.stdout, r.stderr)
        return job, json.loads(r.stdout)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, [(p, eol) for p in FILES for eol in EOLS]))


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
