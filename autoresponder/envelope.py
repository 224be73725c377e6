"""The SMTP envelope of the incoming message, from argv or the environment.

Postfix's pipe(8) passes it in argv (``${sender}``, ``${recipient}``, ``${original_recipient}``;
the null sender is an empty word with ``null_sender=``, else ``MAILER-DAEMON``). Pigeonhole's
extprograms set ``SENDER`` (unset for the null sender), ``RECIPIENT`` and ``ORIG_RECIPIENT``.
"""

import os

from autoresponder import addresses


class Envelope:
    __slots__ = ("sender_raw", "sender", "reply_to", "recipient_raw", "recipient",
                 "original_recipient")

    def __init__(self, sender: "str | None", recipient: str, original_recipient: str = "",
                 autoreply_domain: str = "", delimiters: str = "+"):
        self.sender_raw = sender or ""
        s = self.sender_raw.strip()
        if not _encodable(s):
            self.sender_raw = s.encode("utf-8", "backslashreplace").decode("ascii")
            s = ""
        self.sender = "" if s in ("", "<>") else addresses.normalize(s)
        # where a reply goes: as given (local part's case kept), never a folded key
        self.reply_to = addresses.normalize(s, fold_local=False) if self.sender else ""
        self.recipient_raw = recipient or ""
        if not _encodable(self.recipient_raw):
            self.recipient_raw = self.recipient_raw.encode("utf-8", "backslashreplace").decode()
        self.recipient = _account_key(recipient, autoreply_domain, delimiters)
        self.original_recipient = _account_key(original_recipient, autoreply_domain, delimiters)

    @property
    def null_sender(self) -> bool:
        return self.sender == ""


def _encodable(address: str) -> bool:
    """argv and the environment may carry any bytes (as surrogates): such an address is no
    address, and must not reach SQLite or a JSON document."""
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
