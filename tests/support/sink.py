"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message it accepts.

Tests use it as the far end of the reply path: what the agent (or Postfix, or Dovecot) sends
lands here with its envelope. ``fail_with`` makes it answer RCPT/DATA with an error (e.g.
``"451 4.3.0 try later"``) to test temporary failures.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    mail_from: str          # "<>" for the null sender (aiosmtpd's spelling)
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)
    rcpt_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class Handler:
    def __init__(self, sink: "Sink"):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # Offer DSN so clients may send NOTIFY=NEVER (RFC 3834 §3.3), which tests check.
        session.host_name = hostname
        if self.sink.enable_dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.fail_with:
            return self.sink.fail_with
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        envelope.rcpt_options.extend(getattr(server, "dsn_params", []))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.fail_with:
            return self.sink.fail_with
        with self.sink.lock:
            self.sink.messages.append(Received(
                envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content),
                list(envelope.mail_options), list(envelope.rcpt_options)))
        return "250 2.0.0 queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self, port: int | None = None, enable_dsn: bool = True):
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.fail_with: str | None = None
        self.controller = None
        self.enable_dsn = enable_dsn

    def start(self) -> "Sink":
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        sink = self

        class _SMTP(SMTP):
            # aiosmtpd refuses every RCPT parameter; a DSN-capable server takes NOTIFY/ORCPT.
            async def smtp_RCPT(self, arg):
                self.dsn_params = []
                if arg and sink.enable_dsn:
                    parts = arg.split()
                    self.dsn_params = [p for p in parts[1:]
                                       if p.upper().startswith(("NOTIFY=", "ORCPT="))]
                    arg = " ".join(p for p in parts if p not in self.dsn_params)
                return await super().smtp_RCPT(arg)

        class _Controller(Controller):
            def factory(self):
                return _SMTP(self.handler, enable_SMTPUTF8=True, decode_data=False,
                             hostname="sink.test")

        self.controller = _Controller(Handler(sink), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Poll until at least `count` messages arrived (or timeout); return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
