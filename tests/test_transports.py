"""The transport interface (issue 10) and what each transport sends (issue 9 items 2, 13).

A real aiosmtpd server on 127.0.0.1 (several messages over one connection, a restart in
between, 4xx and 5xx answers, a connection lost after DATA), a real directory for the file
transport, and a real executable for the sendmail transport.
"""

from __future__ import annotations

import threading
import types

import pytest

from autoresponder import transports
from autoresponder.transports import PermFail, TempFail, Transport, open_transport
from autoresponder.transports.file import FileTransport
from autoresponder.transports.sendmail import SendmailTransport
from autoresponder.transports.smtp import SMTPTransport
from tests.support.sink import free_port

REPLY = (b"From: Ana <ana@example.com>\r\nTo: bob@example.org\r\nSubject: Auto: hi\r\n"
         b"Auto-Submitted: auto-replied\r\n\r\nAway.\r\n.leading dot line\r\n")


class Server:
    """aiosmtpd on loopback that records, per message, the connection it came over; what it
    answers to RCPT and DATA can be set, and it can cut the connection once it has taken a
    message (before answering the final dot)."""

    def __init__(self, smtputf8: bool = True, dsn: bool = True, takes_notify: bool = True):
        self.port = free_port()
        self.smtputf8, self.dsn, self.takes_notify = smtputf8, dsn, takes_notify
        self.messages: list[dict] = []
        self.sessions: list[tuple] = []  # peer of each new connection (EHLO)
        self.rsets = 0
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.cut_after_data = False
        self.lock = threading.Lock()
        self.controller = None

    def start(self) -> "Server":
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        srv = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                session.host_name = hostname
                with srv.lock:
                    srv.sessions.append(session.peer)
                if srv.dsn:
                    responses.insert(-1, "250-DSN")
                return responses

            async def handle_RSET(self, server, session, envelope):
                with srv.lock:
                    srv.rsets += 1
                return "250 OK"

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if srv.rcpt_reply:
                    return srv.rcpt_reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if srv.data_reply:
                    return srv.data_reply
                with srv.lock:
                    srv.messages.append({
                        "peer": session.peer, "mail_from": envelope.mail_from,
                        "rcpt_tos": list(envelope.rcpt_tos), "data": bytes(envelope.content),
                        "mail_options": list(envelope.mail_options),
                        "rcpt_options": list(getattr(server, "dsn_params", []))})
                if srv.cut_after_data:
                    server.transport.abort()
                return "250 2.0.0 queued"

        class _SMTP(SMTP):
            async def smtp_RCPT(self, arg):  # take NOTIFY= like a DSN-capable server
                self.dsn_params = []
                if arg and srv.dsn and srv.takes_notify:
                    parts = arg.split()
                    self.dsn_params = [p for p in parts[1:] if p.upper().startswith("NOTIFY=")]
                    arg = " ".join(p for p in parts if p not in self.dsn_params)
                return await super().smtp_RCPT(arg)

        class _Controller(Controller):
            def factory(self):
                return _SMTP(self.handler, enable_SMTPUTF8=srv.smtputf8, decode_data=False,
                             hostname="sink.test")

        self.controller = _Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server():
    s = Server().start()
    try:
        yield s
    finally:
        s.stop()


def smtp_config(port: int, **kw) -> types.SimpleNamespace:
    t = dict(kind="smtp", host="127.0.0.1", port=port, helo="agent.test", timeout=10,
             starttls=False, ssl=False, tls_verify=True, ca_file="", username="", password="",
             password_file="", dsn_notify_never=True, sendmail="/usr/sbin/sendmail", path="")
    t.update(kw)
    return types.SimpleNamespace(transport=types.SimpleNamespace(**t))


def test_open_transport_builds_the_configured_kind(tmp_path):
    assert isinstance(open_transport(smtp_config(25)), SMTPTransport)
    assert isinstance(open_transport(smtp_config(25, kind="sendmail")), SendmailTransport)
    assert isinstance(open_transport(smtp_config(25, kind="file", path=str(tmp_path))),
                      FileTransport)
    for kind in ("smtp", "sendmail", "file"):
        assert isinstance(open_transport(smtp_config(25, kind=kind)), Transport)
    with pytest.raises(TypeError):
        Transport()  # send is abstract


def test_opening_costs_nothing_the_first_send_connects(server):
    t = open_transport(smtp_config(server.port))
    t.open()
    assert server.sessions == []
    t.close()
    t.close()  # twice is fine
    assert server.sessions == []


def test_many_messages_over_one_connection_with_rset_between(server):
    with open_transport(smtp_config(server.port)) as t:
        for i in range(5):
            assert t.send("", f"bob{i}@example.org", REPLY).startswith("sent via")
    assert [m["rcpt_tos"] for m in server.messages] == [[f"bob{i}@example.org"]
                                                        for i in range(5)]
    assert len(server.sessions) == 1
    assert len({m["peer"] for m in server.messages}) == 1
    assert server.rsets == 4  # before each transaction after the first
    m = server.messages[0]
    assert m["mail_from"] == "<>" and m["rcpt_options"] == ["NOTIFY=NEVER"]
    assert m["data"].replace(b"\r\n", b"\n") == REPLY.replace(b"\r\n", b"\n")  # dot unstuffed


def test_a_server_restart_between_messages_reconnects_once(server):
    t = open_transport(smtp_config(server.port))
    try:
        t.send("", "bob@example.org", REPLY)
        server.stop()
        server.start()  # same port; the kept connection is dead
        t.send("", "carol@example.org", REPLY)
        t.send("", "dave@example.org", REPLY)
    finally:
        t.close()
    assert [m["rcpt_tos"][0] for m in server.messages] == [
        "bob@example.org", "carol@example.org", "dave@example.org"]
    assert len(server.sessions) == 2
    assert server.messages[1]["peer"] == server.messages[2]["peer"] != server.messages[0]["peer"]


def test_a_server_that_is_gone_is_a_temporary_failure(server):
    t = open_transport(smtp_config(server.port))
    t.send("", "bob@example.org", REPLY)
    server.stop()
    with pytest.raises(TempFail):
        t.send("", "carol@example.org", REPLY)  # the reconnect is refused: no loop, TempFail
    with pytest.raises(TempFail):
        t.send("", "carol@example.org", REPLY)  # fresh connection refused
    t.close()


def test_4xx_is_temporary_5xx_rcpt_is_permanent_and_the_connection_lives_on(server):
    with open_transport(smtp_config(server.port)) as t:
        server.rcpt_reply = "451 4.3.0 try later"
        with pytest.raises(TempFail, match="451"):
            t.send("", "bob@example.org", REPLY)
        server.rcpt_reply = "550 5.1.1 no such user"
        with pytest.raises(PermFail, match="550"):
            t.send("", "bob@example.org", REPLY)
        server.rcpt_reply = None
        server.data_reply = "452 4.3.1 insufficient storage"
        with pytest.raises(TempFail, match="452"):
            t.send("", "bob@example.org", REPLY)
        server.data_reply = "554 5.6.0 content refused"
        with pytest.raises(PermFail, match="554"):
            t.send("", "bob@example.org", REPLY)
        server.data_reply = None
        t.send("", "bob@example.org", REPLY)
    assert len(server.messages) == 1 and len(server.sessions) == 1


def test_a_421_closes_and_the_next_send_reconnects(server):
    with open_transport(smtp_config(server.port)) as t:
        server.rcpt_reply = "421 4.3.2 shutting down"
        with pytest.raises(TempFail, match="421"):
            t.send("", "bob@example.org", REPLY)  # a fresh connection: not retried
        server.rcpt_reply = None
        t.send("", "bob@example.org", REPLY)
    assert len(server.messages) == 1 and len(server.sessions) == 2


def test_a_connection_lost_after_data_is_never_resent(server):
    """The server took the message and the connection broke before the answer to the dot:
    a temporary failure, and exactly one copy at the server (no reconnect-and-resend)."""
    with open_transport(smtp_config(server.port)) as t:
        t.send("", "bob@example.org", REPLY)  # the connection is now a kept one
        server.cut_after_data = True
        with pytest.raises(TempFail, match="during DATA"):
            t.send("", "carol@example.org", REPLY)
        server.cut_after_data = False
        t.send("", "dave@example.org", REPLY)  # and the transport recovers
    assert [m["rcpt_tos"][0] for m in server.messages] == [
        "bob@example.org", "carol@example.org", "dave@example.org"]


def test_an_idle_connection_is_replaced_not_probed(server):
    t = open_transport(smtp_config(server.port))
    t.idle_limit = 0.0
    try:
        t.send("", "bob@example.org", REPLY)
        t.send("", "carol@example.org", REPLY)
    finally:
        t.close()
    assert len(server.sessions) == 2 and server.rsets == 0


def test_concurrent_sends_share_the_connection_safely(server):
    errors = []
    with open_transport(smtp_config(server.port)) as t:
        def worker(n):
            try:
                for i in range(5):
                    t.send("", f"w{n}.{i}@example.org", REPLY)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
    assert errors == []
    assert sorted(m["rcpt_tos"][0] for m in server.messages) == sorted(
        f"w{n}.{i}@example.org" for n in range(4) for i in range(5))
    assert len(server.sessions) == 1


# --- the envelope the agent builds (items 2 and 13) ----------------------------------------

def test_smtp_sends_the_canonical_envelope_it_built(server):
    with open_transport(smtp_config(server.port)) as t:
        t.send("<Ana@Example.COM>", '"john doe"@Example.ORG', REPLY)
        t.send("", "joerg@bücher.example", REPLY)  # item 13: the A-label, no SMTPUTF8 needed
        t.send("", "<Bob@Example.org.>", REPLY)
    assert [(m["mail_from"], m["rcpt_tos"]) for m in server.messages] == [
        ("Ana@example.com", ['"john doe"@example.org']),
        ("<>", ["joerg@xn--bcher-kva.example"]),
        ("<>", ["Bob@example.org"])]
    assert all(m["mail_options"] == [] for m in server.messages)


@pytest.mark.parametrize("rcpt", ["victim@evil.example(@attacker.example)",
                                  "(c)victim@evil.example", "a@x.example,b@y.example",
                                  "x%y@example.org", "<@relay:x@y.example>",
                                  "a\u2028b@example.org", "a" * 300 + "@example.org"])
def test_a_recipient_that_is_no_mailbox_is_refused_before_connecting(server, rcpt):
    with open_transport(smtp_config(server.port)) as t:
        with pytest.raises(PermFail, match="not a valid RFC 5321 mailbox"):
            t.send("", rcpt, REPLY)
    assert server.sessions == [] and server.messages == []


def test_a_configured_sender_that_is_no_mailbox_defers(server):
    with open_transport(smtp_config(server.port)) as t:
        with pytest.raises(TempFail, match="envelope_sender"):
            t.send("ana@example.com, boss@example.com", "bob@example.org", REPLY)
    assert server.messages == []


def test_a_non_ascii_local_part_goes_with_smtputf8(server):
    with open_transport(smtp_config(server.port)) as t:
        t.send("", "jörg@bücher.example", "To: jörg@xn--bcher-kva.example\r\n\r\nx\r\n".encode())
    [m] = server.messages
    assert m["rcpt_tos"] == ["jörg@xn--bcher-kva.example"]
    assert "SMTPUTF8" in m["mail_options"]


def test_a_non_ascii_local_part_without_smtputf8_is_permanent():
    srv = Server(smtputf8=False).start()
    try:
        with open_transport(smtp_config(srv.port)) as t:
            with pytest.raises(PermFail, match="SMTPUTF8"):
                t.send("", "jörg@bücher.example", REPLY)
            t.send("", "joerg@bücher.example", REPLY)  # the ASCII one still goes
        assert [m["rcpt_tos"] for m in srv.messages] == [["joerg@xn--bcher-kva.example"]]
    finally:
        srv.stop()


def test_a_server_that_offers_dsn_but_refuses_notify_still_gets_the_reply():
    """aiosmtpd without the parameter answers 555 to RCPT ... NOTIFY=NEVER: RSET, send again
    without it, over the same connection."""
    srv = Server(takes_notify=False).start()
    try:
        with open_transport(smtp_config(srv.port)) as t:
            t.send("", "bob@example.org", REPLY)
            t.send("", "carol@example.org", REPLY)
        assert [m["rcpt_tos"] for m in srv.messages] == [["bob@example.org"],
                                                         ["carol@example.org"]]
        assert all(m["rcpt_options"] == [] for m in srv.messages)
        assert len(srv.sessions) == 1
    finally:
        srv.stop()


def test_the_compatibility_send_opens_and_closes(server):
    assert transports.send(smtp_config(server.port), "", "bob@example.org", REPLY)
    assert len(server.messages) == 1


# --- file and sendmail ----------------------------------------------------------------------

def test_file_transport_writes_canonical_return_path_and_delivered_to(tmp_path):
    cfg = smtp_config(25, kind="file", path=str(tmp_path / "out"))
    with open_transport(cfg) as t:
        t.send("<Ana@Example.com>", '"john doe"@bücher.example', REPLY)
        with pytest.raises(PermFail):
            t.send("", "a\u2028b@example.org", REPLY)
        with pytest.raises(PermFail):
            t.send("", "x@y.example(comment)", REPLY)
    [f] = list((tmp_path / "out").glob("*.eml"))
    head = f.read_bytes().split(b"\r\n")[:2]
    assert head == [b"Return-Path: <Ana@example.com>",
                    b'Delivered-To: "john doe"@xn--bcher-kva.example']


def test_sendmail_gets_the_canonical_address_as_one_word_after_dashdash(tmp_path):
    capture = tmp_path / "argv"
    prog = tmp_path / "sendmail"
    prog.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {capture}\ncat > /dev/null\n")
    prog.chmod(0o755)
    cfg = smtp_config(25, kind="sendmail", sendmail=str(prog))
    with open_transport(cfg) as t:
        t.send("", '<"john doe"@Example.org>', REPLY)
        assert capture.read_text().splitlines() == ["-i", "-f", "<>", "--",
                                                    '"john doe"@example.org']
        t.send("ana@example.com", "joerg@bücher.example", REPLY)
        assert capture.read_text().splitlines() == ["-i", "-f", "ana@example.com", "--",
                                                    "joerg@xn--bcher-kva.example"]
        capture.unlink()
        with pytest.raises(PermFail):
            t.send("", "v1@evil.example,v2@evil2.example", REPLY)
        assert not capture.exists()  # never run
