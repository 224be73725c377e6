"""End to end: `autoresponder deliver` as a subprocess, as an MTA runs it, against a real
aiosmtpd server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import Agent, personal


def smtp_agent(tmp_path, sink, **top) -> Agent:
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": sink.port,
                              "timeout": 10}, **top)
    return a


def enable(a: Agent, address: str = "ana@example.com", *extra: str) -> None:
    a.admin("vacation", "enable", address, "--from-name", "Ana Silva",
            "--message", "Back on Monday.", *extra)


def test_personal_message_gets_exactly_one_reply_with_rfc3834_headers(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    msg = personal(extra="Reply-To: someone-else@example.net\n"
                         "References: <r0@example.org>\nIn-Reply-To: <r0@example.org>\n")
    r = a.deliver("bob@example.org", "ana@example.com", msg)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    got = sink.wait_for(1)
    assert len(got) == 1
    env = got[0]
    assert env.mail_from == "<>"
    assert env.rcpt_tos == ["bob@example.org"]
    assert "NOTIFY=NEVER" in env.rcpt_options
    m = env.message
    assert m["Auto-Submitted"] == "auto-replied"
    assert m["To"].addresses[0].addr_spec == "bob@example.org"  # not Reply-To
    assert m["From"].addresses[0].addr_spec == "ana@example.com"
    assert m["From"].addresses[0].display_name == "Ana Silva"
    assert m["In-Reply-To"] == "<m1@example.org>"
    assert m["References"].split() == ["<r0@example.org>", "<m1@example.org>"]
    assert m["Message-ID"].startswith("<autoreply.") and m["Message-ID"] != "<m1@example.org>"
    assert m["Date"] and m["X-Auto-Response-Suppress"] == "All"
    assert m["Content-Language"] == "en"
    assert "Lunch next week?" in m["Subject"]
    body = m.get_body(("plain",)).get_content()
    assert "Back on Monday." in body
    # one log line per message, naming account, sender, message-id, decision, rule, reason
    line = a.log_lines()[-1]
    for part in ("account=ana@example.com", "sender=bob@example.org",
                 "message_id=<m1@example.org>", "decision=reply", "rule=reply", "reason="):
        assert part in line
    # second message from the same sender in the window: no reply
    r = a.deliver("bob@example.org", "ana@example.com", personal(message_id="<m2@example.org>"))
    assert r.returncode == 0
    time.sleep(0.3)
    assert len(sink.messages) == 1
    assert "rule=already-replied" in a.log_lines()[-1]
    hist = json.loads(a.admin("history", "ana@example.com", "--json").stdout)
    assert [h["sender"] for h in hist] == ["bob@example.org"]


def test_changed_message_is_a_new_handle_and_gets_a_new_reply(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    sink.wait_for(1)
    a.admin("vacation", "enable", "ana@example.com", "--message", "Now back on Tuesday.")
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    got = sink.wait_for(2)
    assert len(got) == 2
    assert "Now back on Tuesday." in got[1].message.get_body(("plain",)).get_content()
    # the same settings again: same handle, no third reply
    a.admin("vacation", "enable", "ana@example.com", "--message", "Now back on Tuesday.")
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    time.sleep(0.3)
    assert len(sink.messages) == 2


def test_reenabling_the_vacation_starts_a_new_round(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    a.deliver("bob@example.org", "ana@example.com", personal())
    sink.wait_for(1)
    a.admin("vacation", "disable", "ana@example.com")
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0 and "rule=account" in a.log_lines()[-1]
    a.admin("vacation", "enable", "ana@example.com")
    a.deliver("bob@example.org", "ana@example.com", personal())
    assert len(sink.wait_for(2)) == 2


def test_window_passing_allows_a_new_reply(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a, "ana@example.com", "--interval", "2s")
    a.deliver("bob@example.org", "ana@example.com", personal())
    sink.wait_for(1)
    a.deliver("bob@example.org", "ana@example.com", personal())
    assert len(sink.messages) == 1
    time.sleep(2.2)
    a.deliver("bob@example.org", "ana@example.com", personal())
    assert len(sink.wait_for(2)) == 2


@pytest.mark.parametrize("round_", range(10))
def test_32_concurrent_deliveries_of_one_sender_send_exactly_one_reply(tmp_path, sink, round_):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    sender = f"burst{round_}@example.org"
    msg = personal(sender=sender)
    procs = [subprocess.Popen([sys.executable, "-m", "autoresponder", "--config", str(a.config),
                               "deliver", "--sender", sender, "--recipient", "ana@example.com"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=a.env) for _ in range(32)]
    threads = [threading.Thread(target=p.communicate, args=(msg,)) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = [p.returncode for p in procs]
    # A delivery that finds another one's live claim defers (75; issue 9 item 4): if the
    # holder dies, the MTA's retry after the lease still replies. Never a second reply.
    assert set(codes) <= {0, 75} and 0 in codes, codes
    time.sleep(0.5)
    assert len(sink.wait_for(1)) == 1
    assert sink.messages[0].rcpt_tos == [sender]
    decisions = [line for line in a.log_lines() if "decision=" in line]
    assert len(decisions) == 32
    assert sum("decision=reply" in line for line in decisions) == 1
    assert sum("rule=tempfail" in line for line in decisions) == codes.count(75)
    if 75 in codes:  # the MTA's retry of a deferred copy: already replied, exit 0
        assert a.deliver(sender, "ana@example.com", msg).returncode == 0
        assert "rule=already-replied" in a.log_lines()[-1]
        time.sleep(0.3)
        assert len(sink.messages) == 1


def _ledger(a: Agent) -> list[tuple]:
    with sqlite3.connect(a.db) as c:
        return c.execute("SELECT account, sender, state FROM ledger").fetchall()


def _history(a: Agent) -> list:
    return json.loads(a.admin("history", "ana@example.com", "--json").stdout)


def test_smtp_server_down_tempfails_records_nothing_and_the_retry_replies_once(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    port = sink.port
    sink.stop()
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 75
    assert _ledger(a) == [] and _history(a) == []
    assert "rule=tempfail" in a.log_lines()[-1]
    from tests.support.sink import Sink

    again = Sink(port=port).start()
    try:
        assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
        assert len(again.wait_for(1)) == 1
        assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
        time.sleep(0.3)
        assert len(again.messages) == 1
    finally:
        again.stop()


def test_smtp_451_tempfails_and_the_retry_replies_once(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    sink.fail_with = "451 4.3.0 try again later"
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 75
    assert _ledger(a) == [] and _history(a) == []
    sink.fail_with = None
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    assert len(sink.wait_for(1)) == 1


def test_smtp_550_is_recorded_and_not_retried_in_the_window(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    sink.fail_with = "550 5.1.1 no such user"
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    assert [h["status"] for h in _history(a)] == ["rejected"]
    sink.fail_with = None
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    time.sleep(0.3)
    assert sink.messages == []


class StallingServer:
    """Accepts TCP connections and never answers: a delivery blocks after its claim."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return

    def close(self):
        self.stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


def test_sigkill_after_claim_leaves_a_lease_then_one_reply(tmp_path, sink):
    stall = StallingServer()
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": stall.port,
                              "timeout": 60}, lease="3s")
    enable(a)
    p = subprocess.Popen([sys.executable, "-m", "autoresponder", "--config", str(a.config),
                          "deliver", "--sender", "bob@example.org", "--recipient",
                          "ana@example.com"], stdin=subprocess.PIPE, env=a.env)
    p.stdin.write(personal())
    p.stdin.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _ledger(a):
        time.sleep(0.05)
    assert _ledger(a) == [("ana@example.com", "bob@example.org", "pending")]
    p.kill()
    p.wait()
    stall.close()
    killed_at = time.monotonic()
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": sink.port,
                              "timeout": 10}, lease="3s")
    # inside the lease: another delivery must not send (the first might still be sending),
    # and must not drop the reply either (the first might be dead): it defers (issue 9.4)
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 75
    assert "rule=tempfail" in a.log_lines()[-1]
    time.sleep(max(0.0, 3.2 - (time.monotonic() - killed_at)))
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    assert len(sink.wait_for(1)) == 1
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    time.sleep(0.3)
    assert len(sink.messages) == 1


def test_rate_limit_per_account(tmp_path, sink):
    a = smtp_agent(tmp_path, sink, extra="")
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": sink.port},
                   extra="[rate_limit]\nper_account = 2\n")
    enable(a)
    for i in range(3):
        assert a.deliver(f"p{i}@example.org", "ana@example.com",
                         personal(sender=f"p{i}@example.org")).returncode == 0
    time.sleep(0.3)
    assert len(sink.wait_for(2)) == 2
    assert "rule=rate-limit" in a.log_lines()[-1]


def _headers_of(raw: bytes) -> list[tuple[str, str]]:
    return email.message_from_bytes(raw, policy=email.policy.default).items()


def test_crlf_and_non_ascii_in_subject_and_names_yield_single_valid_headers(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    a.admin("vacation", "enable", "ana@example.com", "--from-name", "Ana\r\nBcc: evil@x.org",
            "--language", "pt")
    msg = personal(subject="=?utf-8?q?Ol=C3=A1=0D=0ABcc:_evil@x.org?= \u00e7a",
                   extra="Content-Language: pt\n")
    assert a.deliver("bob@example.org", "ana@example.com", msg).returncode == 0
    [got] = sink.wait_for(1)
    names = [n.lower() for n, _ in _headers_of(got.data)]
    assert "bcc" not in names
    for h in ("subject", "from", "to", "message-id", "auto-submitted"):
        assert names.count(h) == 1
    assert all(b < 128 for b in got.data), "the reply must be 7-bit clean"
    m = got.message
    assert "\n" not in m["Subject"] and "\r" not in m["Subject"]
    assert "Olá" in m["Subject"]
    assert m["From"].addresses[0].addr_spec == "ana@example.com"
    assert m["Content-Language"] == "pt"
    assert "Obrigado" in m.get_body(("plain",)).get_content()
    # the account's subject with CR/LF is flattened too
    a.admin("vacation", "enable", "ana@example.com", "--subject", "Away\nBcc: evil@x.org")
    assert a.deliver("carol@example.org", "ana@example.com",
                     personal(sender="carol@example.org")).returncode == 0
    got = sink.wait_for(2)[1]
    assert "bcc" not in [n.lower() for n, _ in _headers_of(got.data)]


def test_sandbox_escape_is_refused_and_never_bounces(tmp_path, sink):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "evil.en.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    (tdir / "ok.en.txt").write_text("Away.\n")
    a = smtp_agent(tmp_path, sink, templates=str(tdir))
    check = a.run("template", "check", "evil")
    assert check.returncode != 0 and b"FAIL" in check.stdout
    assert a.run("template", "check", "ok").returncode == 0
    enable(a, "ana@example.com", "--template", "evil")
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0
    assert "rule=template-error" in a.log_lines()[-1]
    time.sleep(0.3)
    assert sink.messages == [] and _ledger(a) == []
    # fixed template: the next delivery replies (the failed one did not burn the window)
    a.admin("vacation", "enable", "ana@example.com", "--template", "ok")
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    assert len(sink.wait_for(1)) == 1


def test_bad_arguments_and_bad_config_defer_with_78_and_drain_stdin(tmp_path):
    a = Agent(tmp_path)
    big = personal() + b"x" * (4 * 1024 * 1024)
    r = a.run("deliver", "--bogus", "1", input=big)
    assert r.returncode == 78 and b"bad arguments" in r.stderr
    assert not r.stderr.lstrip().startswith((b"4.", b"5."))
    a.config.write_text("databse = 1\n")
    r = a.deliver("bob@example.org", "ana@example.com", big)
    assert r.returncode == 78 and b"databse" in r.stderr


def test_envelope_from_dovecot_environment(tmp_path):
    a = Agent(tmp_path)
    enable(a)
    msg = personal().replace(b"\n", b"\r\n")
    r = a.run("deliver", input=msg, env={"RECIPIENT": "ana@example.com",
                                         "ORIG_RECIPIENT": "ana@example.com"})
    assert r.returncode == 0 and "rule=null-sender" in a.log_lines()[-1]  # SENDER unset
    r = a.run("deliver", input=msg, env={"SENDER": "bob@example.org",
                                         "RECIPIENT": "ana@example.com"})
    assert r.returncode == 0 and len(a.replies()) == 1


def test_postfix_copy_address_and_detail_are_decoded(tmp_path):
    a = Agent(tmp_path)
    a.write_config(autoreply_domain="autoreply.example.com",
                   transport={"kind": "file", "path": str(a.outbox)})
    enable(a)
    r = a.deliver("bob@example.org", "ana+x#example.com@autoreply.example.com",
                  personal(to="ana+work@example.com"))
    assert r.returncode == 0, r.stderr
    assert len(a.replies()) == 1
    raw = a.replies()[0].read_bytes()
    assert raw.startswith(b"Return-Path: <>\r\nDelivered-To: bob@example.org\r\n")


def test_huge_message_is_drained_and_decided(tmp_path):
    a = Agent(tmp_path)
    enable(a)
    body = b"A" * (50 * 1024 * 1024)
    r = a.deliver("bob@example.org", "ana@example.com", personal() + body, timeout=120)
    assert r.returncode == 0
    assert len(a.replies()) == 1


def test_sendmail_transport_argv_and_exit_status(tmp_path):
    capture = tmp_path / "capture"
    script = tmp_path / "sendmail"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {capture}.argv\ncat > {capture}.msg\n"
                      f"exit ${{FAKE_EXIT:-0}}\n")
    script.chmod(0o755)
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "sendmail", "sendmail": str(script)})
    enable(a)
    r = a.deliver("bob@example.org", "ana@example.com", personal(), env={"FAKE_EXIT": "75"})
    assert r.returncode == 75 and _ledger(a) == []
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0
    argv = (tmp_path / "capture.argv").read_text().splitlines()
    assert argv == ["-i", "-f", "<>", "--", "bob@example.org"]
    assert b"Auto-Submitted: auto-replied" in (tmp_path / "capture.msg").read_bytes()


def test_envelope_sender_policy_account(tmp_path, sink):
    a = smtp_agent(tmp_path, sink, envelope_sender="account")
    enable(a)
    a.deliver("bob@example.org", "ana@example.com", personal())
    assert sink.wait_for(1)[0].mail_from == "ana@example.com"


def test_a_reply_that_waited_past_give_up_after_is_dropped_not_deferred(tmp_path, sink):
    a = smtp_agent(tmp_path, sink)
    enable(a)
    sink.stop()
    old = "Received: from mx by mx.example.com; Mon, 23 Nov 2026 10:00:00 +0000\n"
    fresh = time.strftime("Received: from mx by mx.example.com; %a, %d %b %Y %H:%M:%S +0000\n",
                          time.gmtime())
    assert a.deliver("bob@example.org", "ana@example.com",
                     fresh.encode() + personal()).returncode == 75
    r = a.deliver("bob@example.org", "ana@example.com", old.encode() + personal())
    assert r.returncode == 0
    assert "rule=gave-up" in a.log_lines()[-1]
    assert _ledger(a) == []


def test_two_accounts_on_vacation_do_not_loop(tmp_path):
    a = Agent(tmp_path)
    enable(a, "ana@example.com")
    enable(a, "carl@example.com")
    assert a.deliver("carl@example.com", "ana@example.com",
                     personal(sender="carl@example.com")).returncode == 0
    [reply] = a.replies()
    raw = reply.read_bytes()
    # Ana's reply reaches Carl's mailbox: its envelope sender is null, so Postfix hands it
    # over with an empty sender; even with a real sender it must not be answered.
    for sender in ("", "ana@example.com"):
        assert a.deliver(sender, "carl@example.com", raw).returncode == 0
        assert "decision=skip" in a.log_lines()[-1]
    assert "rule=own-reply" in a.log_lines()[-1]
    assert len(a.replies()) == 1


def test_render_memo_follows_template_edits_and_skips_per_message_templates(tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "mine.en.txt").write_text("Away, says {{ account.address }}.\n")
    (tdir / "echo.en.txt").write_text("You wrote about {{ original.subject }}.\n")
    a = Agent(tmp_path)
    a.write_config(templates=str(tdir), transport={"kind": "file", "path": str(a.outbox)})
    enable(a, "ana@example.com", "--template", "mine", "--interval", "0")

    def reply_text(sender: str) -> str:
        assert a.deliver(sender, "ana@example.com", personal(sender=sender)).returncode == 0
        raw = a.replies()[-1].read_bytes()
        m = email.message_from_bytes(raw.split(b"\r\n", 2)[2], policy=email.policy.default)
        return m.get_body(("plain",)).get_content().replace("\r\n", "\n")

    def memo_rows() -> int:
        with sqlite3.connect(a.db) as c:
            return c.execute("SELECT count(*) FROM render_cache").fetchone()[0]

    assert reply_text("b1@example.org") == "Away, says ana@example.com.\n"
    assert memo_rows() == 1
    assert reply_text("b2@example.org") == "Away, says ana@example.com.\n"
    (tdir / "mine.en.txt").write_text("Gone fishing, {{ account.address }}!\n")
    assert reply_text("b3@example.org") == "Gone fishing, ana@example.com!\n"
    a.admin("vacation", "enable", "ana@example.com", "--template", "echo")
    rows = memo_rows()
    assert reply_text("b4@example.org") == "You wrote about Lunch next week?.\n"
    assert memo_rows() == rows  # per-message template: never memoised


def test_no_database_means_no_vacation_and_nothing_is_created(tmp_path):
    a = Agent(tmp_path)
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0
    assert "rule=account" in a.log_lines()[-1]
    assert not a.db.exists()


def test_explain_takes_return_path_only_when_no_envelope_is_given(tmp_path):
    a = Agent(tmp_path)
    enable(a)
    msg = b"Return-Path: <bob@example.org>\n" + personal()
    d = json.loads(a.run("explain", "--json", "--recipient", "ana@example.com",
                         input=msg).stdout)
    assert d["sender"] == "bob@example.org" and d["decision"] == "reply"
    d = json.loads(a.run("explain", "--json", "--recipient", "ana@example.com", input=msg,
                         env={"RECIPIENT": "ana@example.com"}).stdout)
    assert d["rule"] == "null-sender"  # Dovecot leaves SENDER unset for <>: trust that


def test_forget_lets_a_sender_get_the_reply_again(tmp_path):
    a = Agent(tmp_path)
    enable(a)
    for sender in ("bob@example.org", "carol@example.org"):
        a.deliver(sender, "ana@example.com", personal(sender=sender))
    assert len(a.replies()) == 2
    out = a.admin("forget", "ana@example.com", "--sender", "Bob@Example.org").stdout
    assert b"forgot 1 ledger row(s) for bob@example.org" in out
    for sender in ("bob@example.org", "carol@example.org"):
        a.deliver(sender, "ana@example.com", personal(sender=sender))
    assert len(a.replies()) == 3
    assert b"forgot 2" in a.admin("forget", "ana@example.com").stdout


def test_html_alternative_escapes_the_message_and_keeps_line_breaks(tmp_path):
    a = Agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com", "--message", "Call <b>me</b>\nor Rui & co")
    a.deliver("bob@example.org", "ana@example.com", personal())
    raw = a.replies()[0].read_bytes().split(b"\r\n", 2)[2]
    html = email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",))
    text = html.get_content()
    assert "Call &lt;b&gt;me&lt;/b&gt;<br>" in text and "or Rui &amp; co" in text
    assert "&lt;br&gt;" not in text


def test_bad_config_under_postfix_pipe_defers_with_75(tmp_path):
    a = Agent(tmp_path)
    a.config.write_text("interval = \"soon\"\n")
    r = a.deliver("bob@example.org", "ana@example.com", personal(),
                  env={"MAIL_CONFIG": "/etc/postfix"})
    assert r.returncode == 75 and b"interval" in r.stderr
    r = a.run("deliver", "--nope", input=personal(), env={"MAIL_CONFIG": "/etc/postfix"})
    assert r.returncode == 75
