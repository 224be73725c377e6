"""Issue 9 item 2 where the review found it: the agent run directly with the sendmail
transport, handing its replies to the lab's real Postfix sendmail, which parses every argv
word as an address list and relays to the sink. Before the fix one decorated sender drew
one reply to four RCPTs; now it draws none, and a quoted mailbox reaches exactly itself.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.postfix.conftest import DOMAIN

ACCOUNT = f"lia@{DOMAIN}"


@pytest.fixture
def direct(lab, tmp_path):
    """A private agent config and database; replies through the lab's sendmail."""
    os.chmod(tmp_path, 0o755)
    wrapper = tmp_path / "lab-sendmail"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/sbin/sendmail -C "{lab.etc}" "$@"\n')
    wrapper.chmod(0o755)
    config = tmp_path / "autoresponder.toml"
    config.write_text(f"""\
database = "{tmp_path}/direct.sqlite3"
[log]
target = "file"
path = "{tmp_path}/agent.log"
[transport]
kind = "sendmail"
sendmail = "{wrapper}"
""")
    env = dict(os.environ, AUTORESPONDER_CACHE_DIR=str(tmp_path / "cache"))
    for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG", "MAIL_CONFIG"):
        env.pop(k, None)

    def run(*args: str, input: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run([str(lab.agent_bin), "--config", str(config), *args],
                              input=input, capture_output=True, env=env, timeout=60)

    r = run("vacation", "enable", ACCOUNT)
    assert r.returncode == 0, r.stderr
    run.log = tmp_path / "agent.log"
    return run


def deliver(run, sender: str) -> str:
    msg = (f"From: x@attacker.example\nTo: {ACCOUNT}\nSubject: hi\n"
           f"Message-ID: <{abs(hash(sender))}@attacker.example>\n\nhi\n").encode()
    r = run("deliver", "--sender", sender, "--recipient", ACCOUNT, input=msg)
    assert r.returncode == 0, r.stderr
    return run.log.read_text().splitlines()[-1]


@pytest.mark.parametrize("sender", [
    "v1@evil.example,v2@evil2.example,v3@evil3.example,x@attacker.example",
    "(c)mailer-daemon@evil.example",
    "<victim@evil.example>x@attacker.example",
    f"victim%evil.example@{DOMAIN}",
    f"evil.example!victim@{DOMAIN}",
])
def test_a_decorated_sender_reaches_nobody_through_postfix_sendmail(lab, direct, sender):
    line = deliver(direct, sender)
    assert "rule=null-sender" in line and "not a valid RFC 5321 mailbox" in line
    lab.wait_idle()
    assert lab.sink.messages == []


def test_a_quoted_mailbox_reaches_exactly_itself_through_postfix_sendmail(lab, direct):
    line = deliver(direct, '"john doe"@example.org')
    assert "decision=reply" in line
    lab.wait_idle()
    [got] = lab.sink.wait_for(1)
    assert got.rcpt_tos == ['"john doe"@example.org']
    assert got.message["To"] == '"john doe"@example.org'
