"""Header helpers shared by the rules and the reply builder, and our own reply markers.

A neutral module: the rules (autoresponder.rules.*) and autoresponder.reply both use it, and
nothing outside ``rules/`` imports a rule module. It is on the per-message path, so it
imports only autoresponder.addresses (which that path loads anyway) and never ``re``.
"""

from autoresponder import addresses

# The marker we put on every reply (autoresponder.reply) and the Message-ID prefix we use:
# the own-reply rule recognises both, and answers to them, as the loop breaker.
OWN_MARKER = "X-Autoresponder"
OWN_MSGID_PREFIX = "<autoreply."


def strip_comments(value: str) -> str:
    """Drop RFC 5322 comments: ``auto-replied (vacation)`` -> ``auto-replied``."""
    if "(" not in value:
        return value
    out, depth = [], 0
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def keyword(value: str) -> str:
    """The leading keyword of a structured field, lower-cased, without parameters/comments."""
    return strip_comments(value).split(";", 1)[0].strip().strip('"').lower()


def from_addresses(message) -> "list[str]":
    """Every address in the message's From: fields (there may be several, or none)."""
    out = []
    for v in message.get_all("from"):
        out.extend(addresses.find_addresses(v))
    return out


def field(message, name: str) -> "tuple[str, str]":
    """The first field called `name` (lower-case) as written: (name, value), for reasons that
    quote a header the way the sender spelt it."""
    return next(f for f in message.fields if f[0].lower() == name)
