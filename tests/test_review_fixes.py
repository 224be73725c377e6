"""Defects found in review, each shown end to end: they must stay fixed."""

from __future__ import annotations

import email
import email.policy
import socket
import sqlite3
import threading

from tests.conftest import Agent, personal


class QuitFailsServer:
    """A minimal SMTP peer that accepts a message and then answers QUIT with 421."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            f = c.makefile("rb")
            c.sendall(b"220 quitfails.test ESMTP\r\n")
            in_data = False
            for line in f:
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        self.accepted += 1
                        c.sendall(b"250 2.0.0 queued\r\n")
                    continue
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    c.sendall(b"250 quitfails.test\r\n")
                elif cmd == b"DATA":
                    in_data = True
                    c.sendall(b"354 go ahead\r\n")
                elif cmd == b"QUIT":
                    c.sendall(b"421 4.3.2 closing anyway\r\n")
                    break
                else:
                    c.sendall(b"250 OK\r\n")
            c.close()

    def close(self):
        self.sock.close()


def test_a_bad_answer_to_quit_after_data_is_still_one_sent_reply(tmp_path):
    srv = QuitFailsServer()
    try:
        a = Agent(tmp_path)
        a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": srv.port,
                                  "timeout": 10})
        a.admin("vacation", "enable", "ana@example.com")
        for _ in range(3):
            assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
        assert srv.accepted == 1
        assert "rule=already-replied" in a.log_lines()[-1]
    finally:
        srv.close()


def test_cr_lf_in_the_envelope_sender_is_no_address(tmp_path):
    a = Agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com")
    evil = "bob\r\nBcc: victim@evil.org\r\nX-Inj: 1@example.org"
    r = a.deliver(evil, "ana@example.com", personal())
    assert r.returncode == 0
    assert a.replies() == []
    assert "rule=null-sender" in a.log_lines()[-1]
    r = a.run("deliver", "--recipient", "ana@example.com", input=personal(),
              env={"SENDER": "bob@example.org\nBcc: victim@evil.org"})
    assert a.replies() == []


def test_the_reply_goes_to_the_senders_local_part_as_written(tmp_path):
    a = Agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com")
    msg = personal(sender="Bob.Smith@Example.ORG")
    assert a.deliver("Bob.Smith@Example.ORG", "ana@example.com", msg).returncode == 0
    raw = a.replies()[0].read_bytes()
    assert b"Delivered-To: Bob.Smith@example.org\r\n" in raw
    m = email.message_from_bytes(raw.split(b"\r\n", 2)[2], policy=email.policy.default)
    assert m["To"].addresses[0].addr_spec == "Bob.Smith@example.org"
    # ...while the ledger folds case: another spelling is the same sender
    a.deliver("bob.smith@example.org", "ana@example.com", personal(sender="bob.smith@example.org"))
    assert len(a.replies()) == 1


def test_changing_aliases_refreshes_the_render_memo(tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "al.en.txt").write_text("Also: {{ account.aliases | join(', ') }}\n")
    a = Agent(tmp_path)
    a.write_config(templates=str(tdir), transport={"kind": "file", "path": str(a.outbox)})
    a.admin("vacation", "enable", "ana@example.com", "--template", "al", "--alias",
            "old@example.com")
    a.deliver("e1@example.org", "ana@example.com", personal(sender="e1@example.org"))
    a.admin("vacation", "enable", "ana@example.com", "--alias", "new@example.com")
    a.deliver("e2@example.org", "ana@example.com", personal(sender="e2@example.org"))
    texts = [p.read_bytes() for p in a.replies()]
    assert b"old@example.com" in texts[0] and b"new@example.com" in texts[1]


def test_a_reply_recorded_late_is_still_recorded(tmp_path):
    """The database is locked past busy_timeout right after the send: the agent waits it out
    instead of leaving a pending claim that would let a second reply out after the lease."""
    lock_db = tmp_path / "lock.py"
    a = Agent(tmp_path)
    script = tmp_path / "sendmail"
    lock_db.write_text(
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(a.db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); time.sleep(2.5); c.execute('COMMIT')\n")
    script.write_text(f"#!/bin/sh\ncat > /dev/null\n(\"{__import__('sys').executable}\" "
                      f"{lock_db} &) ; sleep 0.3\nexit 0\n")
    script.chmod(0o755)
    a.write_config(transport={"kind": "sendmail", "sendmail": str(script)},
                   busy_timeout="1s", lease="2s")
    a.admin("vacation", "enable", "ana@example.com")
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    with sqlite3.connect(a.db) as c:
        assert c.execute("SELECT state FROM ledger").fetchall() == [("sent",)]
        assert c.execute("SELECT count(*) FROM replies").fetchone()[0] == 1


def test_non_finite_durations_and_thresholds_are_config_errors(tmp_path):
    a = Agent(tmp_path)
    for text in ("interval = inf\n", "lease = nan\n", "[rules]\nspam_threshold = nan\n"):
        a.config.write_text(text)
        r = a.run("vacation", "list")
        assert r.returncode == 78 and len(r.stderr.splitlines()) == 1, r.stderr
        assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 78


def test_a_non_utf8_template_is_a_template_error(tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "lat.en.txt").write_bytes(b"Ol\xe1\n")
    a = Agent(tmp_path)
    a.write_config(templates=str(tdir), transport={"kind": "file", "path": str(a.outbox)})
    a.admin("vacation", "enable", "ana@example.com", "--template", "lat")
    assert a.deliver("bob@example.org", "ana@example.com", personal()).returncode == 0
    assert "rule=template-error" in a.log_lines()[-1]


def test_database_trouble_is_given_up_on_like_a_failing_transport(tmp_path):
    a = Agent(tmp_path)
    a.db.parent.mkdir(parents=True)
    a.db.write_bytes(b"this is not a database" * 300)
    old = b"Received: from mx by mx.example.com; Mon, 01 Jan 2024 10:00:00 +0000\n"
    r = a.deliver("bob@example.org", "ana@example.com", personal(), env={"MAIL_CONFIG": "/x"})
    assert r.returncode == 75
    r = a.deliver("bob@example.org", "ana@example.com", old + personal())
    assert r.returncode == 0 and "rule=gave-up" in a.log_lines()[-1]
