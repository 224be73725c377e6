"""Issue 9 item 15: stdin that never closes cannot hold `deliver` forever: past read_timeout
the message is deferred (75) and the log line says why; a slow writer that does finish is
read whole. Real pipes and real processes; the generous `timeout=` of each wait only keeps a
regression from hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from autoresponder import message
from tests.conftest import ROOT, personal


def test_a_pipe_that_never_closes_raises_read_timeout():
    r, w = os.pipe()
    head = b"From: bob@example.org\nSubject: half a message\n"
    os.write(w, head)
    try:
        with os.fdopen(r, "rb") as stream:
            with pytest.raises(message.ReadTimeout) as got:
                message.read_message(stream, timeout=1)
        assert got.value.size == len(head) and "read_timeout" in str(got.value)
    finally:
        os.close(w)


def test_a_stalled_body_raises_too():
    """The deadline covers the whole input: header block, body prefix and the drain."""
    r, w = os.pipe()
    os.write(w, personal() + b"more body, then nothing\n")
    try:
        with os.fdopen(r, "rb") as stream:
            with pytest.raises(message.ReadTimeout):
                message.read_message(stream, timeout=1)
    finally:
        os.close(w)


def test_a_slow_writer_that_finishes_is_read_whole():
    data = personal(body="line of the body\n" * 4000)
    r, w = os.pipe()

    def trickle():
        with os.fdopen(w, "wb", buffering=0) as f:
            for i in range(0, len(data), 997):
                f.write(data[i:i + 997])
                time.sleep(0.002)

    t = threading.Thread(target=trickle)
    t.start()
    with os.fdopen(r, "rb") as stream:
        m = message.read_message(stream, timeout=60)
    t.join()
    assert m.size == len(data)
    assert m.get("subject") == "Lunch next week?"
    assert m.body_prefix == data[data.index(b"\n\n") + 2:][:message.BODY_PREFIX]


def test_drain_gives_up_at_the_deadline():
    r, w = os.pipe()
    os.write(w, b"x" * 1000)
    try:
        with os.fdopen(r, "rb") as stream:
            message.drain(stream, timeout=1)  # returns: no exception, no hang
    finally:
        os.close(w)


def test_bytes_are_read_without_a_descriptor():
    assert message.from_bytes(personal()).get("message-id") == "<m1@example.org>"


def test_deliver_defers_a_message_whose_stdin_never_ends(agent):
    agent.write_config(read_timeout="1s")
    agent.admin("vacation", "enable", "ana@example.com")
    p = subprocess.Popen([sys.executable, "-m", "autoresponder", "--config", str(agent.config),
                          "deliver", "--sender", "bob@example.org", "--recipient",
                          "ana@example.com"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=agent.env, cwd=str(ROOT))
    try:
        p.stdin.write(personal()[:120])
        p.stdin.flush()
        code = p.wait(timeout=60)  # stdin stays open all along
    finally:
        p.kill()
        p.stdin.close()
        p.wait()
    assert code == 75, p.stderr.read()
    [line] = agent.log_lines()
    assert "rule=tempfail" in line and "read_timeout" in line and "sender=bob@example.org" in line
    assert agent.replies() == []
    # the MTA's retry, with the whole message this time, is answered
    r = agent.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0 and len(agent.replies()) == 1


@pytest.mark.parametrize("value", ["0", '"0s"', '"soon"'])
def test_read_timeout_must_be_a_positive_duration(agent, value):
    agent.write_config(extra="")
    agent.config.write_text(f"read_timeout = {value}\n" + agent.config.read_text())
    r = agent.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 78
    assert b"read_timeout" in r.stderr


@pytest.mark.parametrize("command", [["explain", "--recipient", "ana@example.com"],
                                     ["template", "preview", "ana@example.com"]])
def test_admin_commands_reading_a_message_give_up_cleanly(agent, command):
    agent.write_config(read_timeout="1s")
    agent.admin("vacation", "enable", "ana@example.com")
    p = subprocess.Popen([sys.executable, "-m", "autoresponder", "--config", str(agent.config),
                          *command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=agent.env, cwd=str(ROOT))
    try:
        p.stdin.write(personal()[:120])
        p.stdin.flush()
        code = p.wait(timeout=60)
    finally:
        p.kill()
        p.stdin.close()
        p.wait()
    err = p.stderr.read()
    assert code == 75 and b"Traceback" not in err and b"read deadline" in err, err
