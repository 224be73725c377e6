"""How replies leave: sendmail, SMTP, a directory of .eml files, or (explain) a capture.

The delivery line sees a Transport: ``open()``, ``send(mail_from, rcpt, data) -> detail`` and
``close()``; ``open_transport(config)`` builds the configured one. Opening costs nothing (a
skip never reaches the transport): a transport connects on its first send, and one transport
may carry many replies (the LMTP service keeps one SMTP connection open).

``send`` returns a short detail string, or raises TempFail (retry later: delivery exits 75
after releasing the ledger claim) or PermFail (this reply can never go: recorded, never
retried in the window). Every transport sends the canonical RFC 5321 form of both envelope
addresses (``envelope_addresses``), whatever spelling it was handed.

Transport is an abc.ABC rather than a typing.Protocol: ``import typing`` would cost the
memoised reply path ~14 ms per message, and abc is loaded anyway.
"""

import abc

from autoresponder import addresses


class TempFail(Exception):
    pass


class PermFail(Exception):
    pass


class Transport(abc.ABC):
    """Where replies go. Subclasses implement ``send``; ``open``/``close`` default to nothing.
    A transport may be used for any number of sends between ``open`` and ``close``."""

    def open(self) -> None:
        """Get ready without I/O; the first send connects."""
        return None

    @abc.abstractmethod
    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        """Hand over one reply; a detail for the log, or TempFail / PermFail."""

    def close(self) -> None:
        """Release what the sends kept open; safe to call twice."""
        return None

    def __enter__(self) -> "Transport":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def envelope_addresses(mail_from: str, rcpt: str) -> "tuple[str, str]":
    """The canonical forms of the reply's envelope, "" for a null MAIL FROM.

    A recipient that is not an RFC 5321 Mailbox can never be sent to (PermFail); a MAIL FROM
    that is not one is our configuration's fault (TempFail: the MTA keeps the message until
    the admin fixes envelope_sender or the account's address)."""
    if mail_from.strip() in ("", "<>"):
        mail_from = ""
    else:
        try:
            mail_from = addresses.mailbox(mail_from).address
        except addresses.InvalidMailbox as e:
            raise TempFail(f"the reply's envelope sender {mail_from[:100]!r} is not a valid "
                           f"RFC 5321 mailbox ({e}): see envelope_sender") from None
    try:
        rcpt = addresses.mailbox(rcpt).address
    except addresses.InvalidMailbox as e:
        raise PermFail(f"the reply's recipient {rcpt[:100]!r} is not a valid RFC 5321 "
                       f"mailbox ({e})") from None
    return mail_from, rcpt


def open_transport(config) -> Transport:
    """The Transport that config.transport.kind names (not yet connected)."""
    t = config.transport
    if t.kind == "smtp":
        from autoresponder.transports.smtp import SMTPTransport

        return SMTPTransport(t)
    if t.kind == "sendmail":
        from autoresponder.transports.sendmail import SendmailTransport

        return SendmailTransport(t)
    from autoresponder.transports.file import FileTransport

    return FileTransport(t)


def send(config, mail_from: str, rcpt: str, data: bytes) -> str:
    """One reply through a transport opened for it alone (the per-message command)."""
    with open_transport(config) as transport:
        return transport.send(mail_from, rcpt, data)
