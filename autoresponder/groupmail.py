"""How the mail reached the account: personally, as the envelope's recipient only, or through a
group address (the not-addressed rule, RFC 3834 §2).

Mail reached the account only through a group address (a list or alias that expands to many
mailboxes) when none of the account's addresses is in To, Cc, Bcc, Resent-To,
Resent-Cc or Resent-Bcc and the envelope's original recipient (Postfix ``ORIGINAL_RECIPIENT``,
the address before alias expansion) is not one of them either. ``addressing()`` tells the three
cases apart so that the delivery line can keep RFC 3834's rule (no reply unless addressed in
the header) separate from the group-mail default.

Pure functions of strings. Kept apart from audience.py (internal or external senders): every
message that gets past the header rules needs this test, the audience only accounts that have
a reply for outsiders or answer colleagues only.
"""

from autoresponder import addresses

RECIPIENT_FIELDS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")

PERSONAL = "personal"  # one of the account's addresses is in a recipient header
ENVELOPE_ONLY = "envelope-only"  # not in the headers, but the mail was sent to the account
GROUP = "group"  # reached the account only through another address


def addressing(headers, original_recipient: str, own_addresses, delimiters: str = "+") -> str:
    """How the mail reached the account: PERSONAL, ENVELOPE_ONLY or GROUP.

    `headers` is a list of (name, value) pairs (only the RFC 3834 recipient fields count, any
    case); `original_recipient` the envelope's address before alias expansion ("" if the MTA
    did not say); `own_addresses` the account's address and aliases. A ``+detail`` (any of
    `delimiters`) is ignored on both sides, as the account lookup ignores it.
    """
    ours = {_own_key(a, delimiters) for a in own_addresses}
    ours.discard("")
    values = [v for n, v in headers if n.strip().lower() in RECIPIENT_FIELDS]
    for v in values:
        for a in addresses.find_addresses(v):
            if addresses.strip_detail(a, delimiters) in ours:
                return PERSONAL
    if any('"' in v or "\\" in v for v in values) and _full_parse_finds(values, ours,
                                                                         delimiters):
        return PERSONAL
    if original_recipient and _own_key(original_recipient, delimiters) in ours:
        return ENVELOPE_ONLY
    return GROUP


def group_mail_reason(headers, original_recipient: str, own_addresses,
                      delimiters: str = "+") -> "str | None":
    """Why this is group mail (for the log and explain), or None when the account was
    addressed personally or as the envelope's original recipient."""
    if addressing(headers, original_recipient, own_addresses, delimiters) != GROUP:
        return None
    shown = ", ".join(sorted({_own_key(a, delimiters) for a in own_addresses} - {""}))
    via = addresses.normalize(original_recipient) if original_recipient else ""
    where = f"; it was sent to {via}" if via else ""
    return (f"none of the account's addresses ({shown}) is in To/Cc/Bcc/Resent-* and the "
            f"mail was not sent to one of them directly{where}: group mail")


def _own_key(address: str, delimiters: str) -> str:
    a = addresses.normalize(address)
    return addresses.strip_detail(a, delimiters) if a else ""


def _full_parse_finds(values: "list[str]", ours: "set[str]", delimiters: str) -> bool:
    """The exact parse for what the quick scan can miss (quoted local parts)."""
    from email.utils import getaddresses

    for _, a in getaddresses(values):
        n = addresses.normalize(a)
        if n and addresses.strip_detail(n, delimiters) in ours:
            return True
    return False
