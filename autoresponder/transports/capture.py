"""A transport that keeps each reply instead of sending it: ``explain`` and ``template
preview`` run the real delivery line with it, so what they show is what would be sent
(including the canonical envelope, or the refusal of an address that is not a mailbox)."""

from autoresponder.transports import Transport, envelope_addresses


class Captured:
    __slots__ = ("mail_from", "rcpt", "data")

    def __init__(self, mail_from: str, rcpt: str, data: bytes):
        self.mail_from, self.rcpt, self.data = mail_from, rcpt, data


class CaptureTransport(Transport):
    """Appends every reply to ``self.sent``."""

    def __init__(self, t=None):
        self.sent: "list[Captured]" = []

    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        mail_from, rcpt = envelope_addresses(mail_from, rcpt)
        self.sent.append(Captured(mail_from, rcpt, data))
        return "captured, not sent"
