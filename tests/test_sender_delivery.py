"""Issue 9 items 2, 6, 7 and 13 through the real command line: the review's reproductions,
each a real `deliver` process with a real transport (a sendmail executable that records its
argv, the file transport's directory, an aiosmtpd server) and a real SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, Agent, personal

ANA = "ana@example.com"


def fake_sendmail(tmp_path) -> Agent:
    """An agent whose sendmail records each run's argv (one word a line) and message."""
    prog = tmp_path / "sendmail"
    runs = tmp_path / "runs"
    runs.mkdir()
    prog.write_text("#!/bin/sh\nn=$(ls " + str(runs) + " | wc -l)\n"
                    f"printf '%s\\n' \"$@\" > {runs}/$n.argv\ncat > {runs}/$n.msg\n")
    prog.chmod(0o755)
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "sendmail", "sendmail": str(prog)})
    a.admin("vacation", "enable", ANA, "--message", "Back on Monday.")
    a.runs = runs
    return a


def argvs(a: Agent) -> list[list[str]]:
    return [p.read_text().splitlines() for p in sorted(a.runs.glob("*.argv"))]


def explain(a: Agent, sender) -> dict:
    r = a.run("explain", "--json", "--sender", sender, "--recipient", ANA,
              input=personal(sender="x@example.org"))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# --- item 2: decorated senders through sendmail and SMTP --------------------------------------

DECORATED = [
    ("v1@evil.example,v2@evil2.example,v3@evil3.example,x@attacker.example", "list"),
    ("(c)mailer-daemon@evil.example", "comment"),
    ("<victim@evil.example>x@attacker.example", "angle brackets"),
    ("victim@evil.example(@attacker.example)", "comment"),
    ("victim%evil.example@example.com", "percent"),
    ("evil.example!victim@example.com", "bang path"),
    ("@relay.example,@r2.example:victim@evil.example", "source route"),
]


@pytest.mark.parametrize("sender,why", DECORATED)
def test_a_decorated_sender_draws_no_reply_and_the_skip_says_why(tmp_path, sender, why):
    a = fake_sendmail(tmp_path)
    r = a.deliver(sender, ANA, personal(sender="x@attacker.example"))
    assert r.returncode == 0, r.stderr
    assert argvs(a) == []  # sendmail never ran
    line = a.log_lines()[-1]
    assert "rule=null-sender" in line and "not a valid RFC 5321 mailbox" in line and why in line
    out = explain(a, sender)
    assert out["rule"] == "null-sender" and why in out["reason"]


def test_a_valid_sender_reaches_sendmail_as_one_canonical_word(tmp_path):
    a = fake_sendmail(tmp_path)
    assert a.deliver('<"John Doe"@Example.ORG>', ANA, personal()).returncode == 0
    assert argvs(a) == [["-i", "-f", "<>", "--", '"John Doe"@example.org']]
    msg = (a.runs / "0.msg").read_bytes()
    assert b'\r\nTo: "John Doe"@example.org\r\n' in msg
    # the ledger key folds case: another spelling of the same sender gets no second reply
    a.deliver('"john doe"@example.org', ANA, personal(message_id="<m2@example.org>"))
    assert len(argvs(a)) == 1 and "rule=already-replied" in a.log_lines()[-1]


def test_the_same_mailbox_spelled_with_needless_quotes_is_one_sender(tmp_path):
    a = fake_sendmail(tmp_path)
    a.deliver("bob@example.org", ANA, personal())
    a.deliver('<"bob"@EXAMPLE.org.>', ANA, personal(message_id="<m2@example.org>"))
    assert argvs(a) == [["-i", "-f", "<>", "--", "bob@example.org"]]


def test_smtp_rcpt_is_the_agents_own(tmp_path, sink):
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": sink.port,
                              "timeout": 10})
    a.admin("vacation", "enable", ANA)
    for sender, _ in DECORATED[:4]:
        assert a.deliver(sender, ANA, personal()).returncode == 0
    assert a.deliver('"a b"@example.org', ANA, personal()).returncode == 0
    [got] = sink.wait_for(1)
    assert got.rcpt_tos == ['"a b"@example.org'] and got.message["To"] == '"a b"@example.org'


# --- item 13: an IDN domain --------------------------------------------------------------------

def test_an_idn_sender_domain_is_answered_at_its_a_label_over_smtp(tmp_path, sink):
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": sink.port,
                              "timeout": 10})
    a.admin("vacation", "enable", ANA)
    r = a.deliver("joerg@bücher.example", ANA, personal(sender="joerg@bücher.example"))
    assert r.returncode == 0, r.stderr
    [got] = sink.wait_for(1)
    assert got.rcpt_tos == ["joerg@xn--bcher-kva.example"]
    assert "SMTPUTF8" not in got.mail_options
    assert got.message["To"] == "joerg@xn--bcher-kva.example"
    assert "decision=reply" in a.log_lines()[-1]
    # the U-label and the A-label spelling are one sender in the ledger
    a.deliver("joerg@xn--bcher-kva.example", ANA, personal(message_id="<m2@example.org>"))
    assert "rule=already-replied" in a.log_lines()[-1]


# --- item 6: invalid UTF-8 next to valid non-ASCII ---------------------------------------------

def test_invalid_utf8_mixed_with_valid_non_ascii_is_a_clean_decision(tmp_path):
    a = fake_sendmail(tmp_path)
    env = dict(a.env)
    base = [sys.executable.encode(), b"-m", b"autoresponder", b"--config", bytes(a.config)]
    msg = b"From: a@b.example\nTo: ana@example.com\n\nx\n"
    sender = b"\xc3\xa9\xff@example.org"
    r = subprocess.run(base + [b"deliver", b"--sender", sender, b"--recipient", ANA.encode()],
                       input=msg, capture_output=True, env=env, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0 and b"internal error" not in r.stderr, r.stderr
    line = a.log_lines()[-1]
    assert "rule=null-sender" in line and "not UTF-8" in line and "\\\\xff" in line, line
    assert argvs(a) == []
    # the same through Dovecot's way (SENDER in the environment) and explain --json
    env["SENDER"] = os.fsdecode(sender)
    r = subprocess.run(base + [b"explain", b"--json", b"--recipient", ANA.encode()],
                       input=msg, capture_output=True, env=env, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.decode("utf-8"))
    assert out["rule"] == "null-sender" and "not UTF-8" in out["reason"]


# --- item 7: length and Unicode controls never reach To:/Delivered-To: -------------------------

@pytest.mark.parametrize("sender,why", [
    ("a" * 990 + "@example.org", "octets"),
    ("a" * 20000 + "@example.org", "octets"),
    ("b@" + ".".join(["d" * 60] * 5), "octets"),
    ("a\u2028b@example.org", "U+2028"),
    ("a\x85b@example.org", "U+0085"),
    ("a\x9b2Jb@example.org", "U+009B"),
    ("a\u202eb@example.org", "U+202E"),
    ('"a\u2029b"@example.org', "U+2029"),
])
def test_item7_over_long_or_unicode_control_senders_get_no_reply(tmp_path, sender, why):
    a = Agent(tmp_path)
    a.admin("vacation", "enable", ANA)
    r = a.deliver(sender, ANA, personal())
    assert r.returncode == 0 and a.replies() == []
    line = a.log_lines()[-1]
    assert "rule=null-sender" in line and why in line
    assert len(line.encode()) < 1000  # the raw sender is shown cut short


def test_item7_the_longest_valid_sender_keeps_every_line_within_998_octets(tmp_path):
    a = Agent(tmp_path)
    a.admin("vacation", "enable", ANA, "--from-name", "Ana " + "Silva " * 40)
    local = "b" * 64
    domain = "d" * 60 + "." + "d" * 60 + "." + "d" * 59 + ".example"
    sender = f"{local}@{domain}"
    assert len(sender) + 2 == 256  # the path limit exactly
    r = a.deliver(sender, ANA, personal(sender=sender))
    assert r.returncode == 0 and "decision=reply" in a.log_lines()[-1], a.log_lines()
    [p] = a.replies()
    data = p.read_bytes()
    for ln in data.split(b"\r\n"):
        assert len(ln) <= 998
    assert f"\r\nDelivered-To: {sender}\r\n".encode() in data
    assert f"\r\nTo: Bob Example <{sender}>\r\n".encode() in data
    r = a.deliver("c" + sender, ANA, personal(sender="c" + sender))  # one octet more
    assert "rule=null-sender" in a.log_lines()[-1] and len(a.replies()) == 1
