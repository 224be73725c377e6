"""The SMTP envelope of the incoming message, from argv or the environment.

Postfix's pipe(8) passes it in argv (``${sender}``, ``${recipient}``, ``${original_recipient}``;
the null sender is an empty word with ``null_sender=``, else ``MAILER-DAEMON``). Pigeonhole's
extprograms set ``SENDER`` (unset for the null sender), ``RECIPIENT`` and ``ORIG_RECIPIENT``.
"""

import os

from autoresponder import addresses


class Envelope:
    """``sender`` is the ledger's key (case folded) and ``reply_to`` the canonical mailbox a
    reply goes to, both "" for the null sender and for a sender that is not an RFC 5321
    Mailbox (``sender_problem`` then says why: the null-sender rule shows it)."""

    __slots__ = ("sender_raw", "sender", "reply_to", "sender_problem", "recipient_raw",
                 "recipient", "original_recipient")

    def __init__(self, sender: "str | None", recipient: str, original_recipient: str = "",
                 autoreply_domain: str = "", delimiters: str = "+"):
        self.sender_raw = _printable(sender or "")
        self.sender = self.reply_to = self.sender_problem = ""
        s = (sender or "").strip()
        if s not in ("", "<>"):
            try:
                m = addresses.mailbox(s)
            except addresses.InvalidMailbox as e:
                self.sender_problem = str(e)
            else:
                self.sender, self.reply_to = m.key, m.address
        self.recipient_raw = _printable(recipient or "")
        self.recipient = _account_key(recipient, autoreply_domain, delimiters)
        self.original_recipient = _account_key(original_recipient, autoreply_domain, delimiters)

    @property
    def null_sender(self) -> bool:
        return self.sender == ""

    @property
    def sender_shown(self) -> str:
        """The sender as given, cut to a length fit for a log line."""
        s = self.sender_raw
        return s if len(s) <= 100 else s[:100] + "..."


def _printable(text: str) -> str:
    """argv and the environment carry bytes that are not UTF-8 as lone surrogates: show them
    as ``\\xNN`` (valid characters around them stay as they are)."""
    if _encodable(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte became
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(address: str) -> bool:
    """Text with lone surrogates is no address, and must not reach SQLite or a JSON
    document."""
    try:
        address.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _account_key(address: str, autoreply_domain: str, delimiters: str) -> str:
    if not address or not _encodable(address):
        return ""
    a = addresses.normalize(addresses.decode_copy_address(address.strip().strip("<>"),
                                                          autoreply_domain))
    return addresses.strip_detail(a, delimiters) if a else ""


def from_args(sender: "str | None", recipient: "str | None", original: "str | None",
              config) -> Envelope:
    """Flags win; missing ones come from SENDER / RECIPIENT / ORIG_RECIPIENT."""
    env = os.environ
    if sender is None:
        sender = env.get("SENDER", "")
    if recipient is None:
        recipient = env.get("RECIPIENT", "")
    if original is None:
        original = env.get("ORIG_RECIPIENT", "")
    return Envelope(sender, recipient, original, config.autoreply_domain,
                    config.recipient_delimiter)
