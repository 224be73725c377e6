"""not-addressed: the account is in none of the recipient fields (Bcc'd, list or spam mail)."""

from autoresponder import addresses
from autoresponder.rules import Rule

RECIPIENT_FIELDS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")


class NotAddressed(Rule):
    name = "not-addressed"
    description = ("none of the account's addresses (or aliases, with or without a +detail) in "
                   "To/Cc/Bcc/Resent-To/Resent-Cc/Resent-Bcc: Bcc'd, list or spam mail (RFC 3834 "
                   "§2, RFC 5230 §4.5); off with rules.check_recipient = false")

    def check(self, ctx):
        if not ctx.config.rules.check_recipient:
            return None
        ours = ctx.our_addresses()
        delims = ctx.config.recipient_delimiter
        values = []
        for name in RECIPIENT_FIELDS:
            values.extend(ctx.message.get_all(name))
        for v in values:
            for a in addresses.find_addresses(v):
                if a in ours or addresses.strip_detail(a, delims) in ours:
                    return None
        # the exact (and costly) parse only where the scan can miss: quoted local parts
        if any('"' in v or "\\" in v for v in values) and _full_parse_finds(values, ours,
                                                                             delims):
            return None
        shown = ", ".join(sorted(ours))
        return f"none of the account's addresses ({shown}) is in To/Cc"


def _full_parse_finds(values: "list[str]", ours: "set[str]", delims: str) -> bool:
    """The slow, exact check for what the scan may miss (quoted local parts). Parsed raw:
    encoded-words live in display names, and decoding them first would turn a name such as
    ``=?utf-8?q?ana=40example.com?=`` into an address."""
    from email.utils import getaddresses

    for _, a in getaddresses(values):
        n = addresses.normalize(a)
        if n and (n in ours or addresses.strip_detail(n, delims) in ours):
            return True
    return False


RULE = NotAddressed
