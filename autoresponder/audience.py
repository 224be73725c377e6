"""Who wrote: internal or external senders (how the mail reached the account is groupmail.py).

Audience (docs/schedule.md, "Audience"): a sender is *internal* when the domain of its address
is one of the account's domains (of its address and of its aliases: addresses we host, so
domains the organisation owns) or matches an ``internal_domains`` entry (config or account).
An entry ``example.com`` matches that domain exactly; ``.example.com`` (or ``*.example.com``)
matches every subdomain of it but not example.com itself, as Postfix's parent-domain
patterns do; list both for both. Everything else, the null sender and unreadable addresses
included, is *external*: the side that says less when in doubt.

Domains are compared case-insensitively and as IDNA A-labels (``exämple.pt`` and
``xn--exmple-cua.pt`` are one domain): each label is mapped as UTS #46 does for lookup
(compatibility forms folded, lower case, NFC; ``ß`` kept as IDNA 2008 keeps it) and a
non-ASCII label is written in Punycode. A trailing dot is ignored.

Everything here is a pure function of strings; nothing reads a message or a config.
"""

from autoresponder import addresses

INTERNAL = "internal"
EXTERNAL = "external"


# --- domains -----------------------------------------------------------------------------------

def normalize_domain(domain: str) -> str:
    """The comparable form of a domain: lower-case A-labels without a trailing dot; "" for
    nothing usable (empty, white space or control characters inside, empty labels)."""
    d = domain.strip()
    if d.isascii():
        d = d.lower()
    else:
        d = _to_ascii(d)
    d = d.rstrip(".")
    if not d or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in d) or ".." in d \
            or d.startswith("."):
        return ""
    return d


def _to_ascii(domain: str) -> str:
    """Non-ASCII domain to A-labels; dots of other scripts (U+3002 and kin) separate labels."""
    import unicodedata

    for dot in ("\u3002", "\uff0e", "\uff61"):
        domain = domain.replace(dot, ".")
    out = []
    for label in domain.split("."):
        mapped = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", label).lower())
        if mapped.isascii():
            out.append(mapped)
            continue
        try:
            out.append("xn--" + mapped.encode("punycode").decode("ascii"))
        except UnicodeError:  # pragma: no cover - punycode encodes any code point
            out.append(mapped)
    return ".".join(out)


def normalize_pattern(entry: str) -> str:
    """An ``internal_domains`` entry in comparable form: ``example.com``, or ``.example.com``
    for its subdomains (``*.example.com`` is the same). ValueError naming the entry if it is
    not a domain."""
    e = entry.strip()
    wildcard = False
    if e.startswith("*."):
        e, wildcard = e[2:], True
    elif e.startswith("."):
        e, wildcard = e[1:], True
    if "@" in e or "*" in e or "/" in e or "," in e:  # a comma separates stored entries
        raise ValueError(f"{entry!r} is not a domain: write example.com, or .example.com for "
                         f"its subdomains")
    d = normalize_domain(e)
    if not d:
        raise ValueError(f"{entry!r} is not a domain: write example.com, or .example.com for "
                         f"its subdomains")
    return "." + d if wildcard else d


def domain_matches(domain: str, pattern: str) -> bool:
    """Both normalised: exact match, or for ``.example.com`` any subdomain of example.com."""
    if pattern.startswith("."):
        return domain.endswith(pattern) and len(domain) > len(pattern)
    return domain == pattern


class Audience:
    """The internal domains of one account, ready to classify senders."""

    __slots__ = ("exact", "parents")

    def __init__(self, own_addresses=(), config_domains=(), account_domains=()):
        exact: "set[str]" = set()
        parents: "list[str]" = []
        for a in own_addresses:
            d = normalize_domain(addresses.split(a)[1])
            if d:
                exact.add(d)
        for entry in (*config_domains, *account_domains):
            p = normalize_pattern(entry)
            if p.startswith("."):
                parents.append(p)
            else:
                exact.add(p)
        self.exact = frozenset(exact)
        self.parents = tuple(sorted(set(parents)))

    def classify(self, sender: str) -> str:
        """INTERNAL or EXTERNAL for an envelope sender (hostile text: anything unreadable is
        external)."""
        return INTERNAL if self.why_internal(sender) else EXTERNAL

    def why_internal(self, sender: str) -> "str | None":
        """The matching entry (``example.com`` or ``.example.com``) when internal, else None:
        what ``explain`` shows."""
        if not sender or len(sender) > 1024:
            return None
        a = addresses.normalize(sender)
        if not a:
            return None
        d = normalize_domain(addresses.split(a)[1])
        if not d:
            return None
        if d in self.exact:
            return d
        for p in self.parents:
            if domain_matches(d, p):
                return p
        return None


def classify(sender: str, own_addresses=(), config_domains=(), account_domains=()) -> str:
    """INTERNAL or EXTERNAL: `sender` against the account's own domains and the two
    ``internal_domains`` lists (see the module's docstring)."""
    return Audience(own_addresses, config_domains, account_domains).classify(sender)
