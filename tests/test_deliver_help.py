"""Issue 9 item 5: `-h`/`--help` in deliver's argv is help only as the sole argument; anywhere
else it is bad arguments: stdin drained, exit 75 under Postfix, else 78, never argparse's 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, personal

BIG = personal() + b"x" * 100 + (b"filler line of the body\n" * 80_000)  # ~2 MB > any pipe


def _deliver_streaming(agent, argv: list[str], env: dict | None = None):
    """Run `deliver` like pipe(8) does: write the whole message into its stdin pipe. A child
    that exits without draining stdin makes the write fail with EPIPE."""
    e = dict(agent.env)
    e.update(env or {})
    p = subprocess.Popen([sys.executable, "-m", "autoresponder", "--config", str(agent.config),
                          "deliver", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e, cwd=str(ROOT))
    broken = False
    try:
        for i in range(0, len(BIG), 65536):
            p.stdin.write(BIG[i:i + 65536])
        p.stdin.close()
    except BrokenPipeError:
        broken = True
    out, err = p.stdout.read(), p.stderr.read()
    return p.wait(timeout=60), broken, out.decode(), err.decode()


ARGVS = [
    ["-f", "bob@example.org", "-r", "ana@example.com", "-o", "-h"],
    ["--sender", "-h", "--recipient", "ana@example.com"],
    ["-h", "--sender", "bob@example.org", "--recipient", "ana@example.com"],
    ["--sender", "bob@example.org", "--recipient", "ana@example.com", "--help"],
    ["--help", "ana@example.com"],
    ["-r", "ana@example.com", "--sender", "--help"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=lambda a: " ".join(a))
def test_help_among_other_arguments_is_bad_arguments(agent, argv):
    code, broken, out, err = _deliver_streaming(agent, argv)
    assert (code, broken) == (78, False), err
    assert "bad arguments" in err and out == ""
    assert agent.replies() == []


@pytest.mark.parametrize("argv", ARGVS[:2], ids=lambda a: " ".join(a))
def test_under_postfix_bad_arguments_defer(agent, argv):
    code, broken, _, err = _deliver_streaming(agent, argv, {"MAIL_CONFIG": "/etc/postfix"})
    assert (code, broken) == (75, False), err


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_alone_is_help(agent, flag):
    r = agent.run("deliver", flag)
    assert r.returncode == 0, r.stderr
    assert b"usage:" in r.stdout and b"--sender" in r.stdout
