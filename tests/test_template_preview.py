"""`template preview ADDRESS < msg` answers the message's sender (Return-Path, else From), as
delivery would, not a sample address; --sender still wins (issue 9, "also seen")."""

from __future__ import annotations

import pytest

from tests.conftest import personal


@pytest.fixture
def previewing(agent):
    agent.admin("vacation", "enable", "ana@example.com", "--message", "Back on Monday.")
    return agent


def preview(agent, message: bytes, *extra: str) -> tuple[str, str]:
    r = agent.run("template", "preview", "ana@example.com", *extra, input=message)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    first, _, reply = out.partition("\n")
    return first, reply


def to_of(reply: str) -> str:
    return next(line for line in reply.splitlines() if line.startswith("To:"))


def test_the_return_path_is_answered(previewing):
    msg = b"Return-Path: <Carol.Ng@example.net>\n" + personal(sender="bob@example.org")
    first, reply = preview(previewing, msg)
    assert "RCPT TO:<Carol.Ng@example.net>" in first and "Return-Path" in first
    assert "Carol.Ng@example.net" in to_of(reply)
    assert "sender@example.org" not in first + reply


def test_without_return_path_the_from_is_answered(previewing):
    first, reply = preview(previewing, personal(sender="bob@example.org"))
    assert "RCPT TO:<bob@example.org>" in first and "From" in first
    assert "bob@example.org" in to_of(reply)


def test_a_null_return_path_falls_back_to_from(previewing):
    msg = b"Return-Path: <>\n" + personal(sender="dan@example.org")
    first, _ = preview(previewing, msg)
    assert "RCPT TO:<dan@example.org>" in first


def test_with_no_sender_at_all_a_sample_is_answered(previewing):
    first, _ = preview(previewing, b"To: ana@example.com\nSubject: hi\n\nhello\n")
    assert "RCPT TO:<sender@example.org>" in first and "sample" in first


def test_sender_flag_wins(previewing):
    msg = b"Return-Path: <carol@example.net>\n" + personal()
    first, _ = preview(previewing, msg, "--sender", "eve@example.com")
    assert "RCPT TO:<eve@example.com>" in first


def test_a_bad_sender_flag_is_refused(previewing):
    r = previewing.run("template", "preview", "ana@example.com", "--sender", "not an address",
                       input=personal())
    assert r.returncode == 65 and b"not a mail address" in r.stderr
