"""A transport that keeps each reply instead of sending it: ``explain`` and ``template
preview`` run the real delivery line with it, so what they show is what would be sent."""


class Captured:
    __slots__ = ("mail_from", "rcpt", "data")

    def __init__(self, mail_from: str, rcpt: str, data: bytes):
        self.mail_from, self.rcpt, self.data = mail_from, rcpt, data


class CaptureTransport:
    """Transport (open/send/close) that appends every reply to ``self.sent``."""

    def __init__(self):
        self.sent: "list[Captured]" = []

    def open(self) -> None:
        pass

    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        self.sent.append(Captured(mail_from, rcpt, data))
        return "captured, not sent"

    def close(self) -> None:
        pass
