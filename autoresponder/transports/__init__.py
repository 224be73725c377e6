"""How replies leave: sendmail, SMTP, a directory of .eml files, or (explain) a capture.

The delivery line sees a Transport: ``open()``, ``send(mail_from, rcpt, data) -> detail``
and ``close()``; ``open_transport(config)`` builds the configured one. Opening must cost
nothing (a skip never reaches the transport): a transport connects on its first send.

Each transport's ``send(config, mail_from, rcpt, data)`` returns a short detail string, or
raises TempFail (retry later: delivery exits 75 after releasing the ledger claim) or PermFail
(the server refused this reply for good: recorded, never retried in the window).
"""


class TempFail(Exception):
    pass


class PermFail(Exception):
    pass


def send(config, mail_from: str, rcpt: str, data: bytes) -> str:
    kind = config.transport.kind
    if kind == "smtp":
        from autoresponder.transports.smtp import send as impl
    elif kind == "sendmail":
        from autoresponder.transports.sendmail import send as impl
    else:
        from autoresponder.transports.file import send as impl
    return impl(config.transport, mail_from, rcpt, data)


class _ConfiguredTransport:
    """The configured transport as a Transport (open/send/close) around ``send`` above: one
    process per message needs nothing more; a long-lived connection belongs in the transport
    itself (issue 10's transport interface)."""

    def __init__(self, config):
        self.config = config

    def open(self) -> None:
        pass

    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        return send(self.config, mail_from, rcpt, data)

    def close(self) -> None:
        pass


def open_transport(config):
    """The Transport the config names (transport.kind)."""
    return _ConfiguredTransport(config)
