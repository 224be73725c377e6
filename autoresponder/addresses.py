"""Mail addresses: normalising, comparing, and recognising robots, without the `re` module.

Comparison policy (README, "Addresses"): the domain is compared case-insensitively (DNS is);
the local part is compared case-insensitively as well. RFC 5321 leaves the meaning of a local
part to the host of its domain: for our own accounts that host is us, and like Postfix and
Dovecot we treat ``Ana@`` and ``ana@`` as one mailbox; for remote senders folding case can only
merge two spellings of one sender into one ledger entry, which errs on the side of fewer
replies. A quoted local part whose content needs no quotes is unquoted (``"ana"@x`` is
``ana@x``); one that does keep its quotes and spaces. A ``+detail`` (any character of the
configured recipient delimiter) is cut from our own account addresses, never from senders.
"""

# Characters that end an address when we scan a header value for addresses.
_STOP = set(' \t\r\n<>,;:"()[]')
# atext of RFC 5322 plus the dot: what a dot-atom local part may hold.
_ATEXT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")


def normalize(address: str, fold_local: bool = True) -> str:
    """Canonical form used as a key: ``Ana@Example.COM`` -> ``ana@example.com``.

    Returns "" for the null address (``""``, ``<>``), for anything without a domain, and for
    anything holding a control character or unquoted white space (such text must never reach
    a header or an SMTP command). With fold_local=False the local part keeps its case: the
    address to *send* to, as the sender's host may distinguish case.
    """
    a = address.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in a):
        return ""
    while a.startswith("<") and a.endswith(">"):
        a = a[1:-1].strip()
    if a.startswith("@") and ":" in a:  # obsolete source route: <@relay:user@host>
        a = a.split(":", 1)[1]
    local, at, domain = a.rpartition("@")
    domain = domain.rstrip(".")
    if not at or not local or not domain or " " in domain or "\t" in domain:
        return ""
    if not (local.startswith('"') and local.endswith('"')) and (" " in local or "\t" in local):
        return ""
    if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
        inner = local[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if inner and all(c in _ATEXT for c in inner) and not inner.startswith(".") \
                and not inner.endswith(".") and ".." not in inner:
            local = inner
    return (local.lower() if fold_local else local) + "@" + domain.lower()


def split(address: str) -> "tuple[str, str]":
    local, _, domain = address.rpartition("@")
    return local, domain


def strip_detail(address: str, delimiters: str = "+") -> str:
    """``ana+news@x`` -> ``ana@x`` for each delimiter character (Postfix recipient_delimiter)."""
    local, domain = split(address)
    if not delimiters or local.startswith('"'):
        return address
    cut = len(local)
    for d in delimiters:
        i = local.find(d)
        if 0 < i < cut:
            cut = i
    return local[:cut] + "@" + domain


def decode_copy_address(address: str, autoreply_domain: str) -> str:
    """Undo the Postfix copy encoding: ``ana#example.com@autoreply.example.com`` is
    ``ana@example.com``.

    Only addresses in ``autoreply_domain`` are decoded; the last ``#`` separates the domain.
    Returns the input unchanged when it is not such an address.
    """
    if not autoreply_domain:
        return address
    local, domain = split(address)
    if domain.lower() != autoreply_domain.lower() or "#" not in local:
        return address
    user, _, dom = local.rpartition("#")
    if not user or not dom:
        return address
    return user + "@" + dom


def encode_copy_address(address: str, autoreply_domain: str) -> str:
    local, domain = split(address)
    return f"{local}#{domain}@{autoreply_domain}"


def find_addresses(value: str) -> "list[str]":
    """Every ``local@domain`` in a header value, normalised; cheap and forgiving.

    It is a scan, not an RFC 5322 parser: it finds addresses in ``Name <a@b>, c@d`` and group
    syntax, and ignores what stands inside a quoted display name or a comment
    (``"ana@example.com" <carl@example.net>`` is Carl). It misses quoted local parts that
    contain spaces; callers that need a definite "absent" fall back to
    ``email.utils.getaddresses`` (see rules.account).
    """
    hidden = _quoted_or_commented(value)
    found = []
    n = len(value)
    i = value.find("@")
    while i != -1:
        if i in hidden:
            i = value.find("@", i + 1)
            continue
        start = i
        while start > 0 and value[start - 1] not in _STOP:
            start -= 1
        end = i + 1
        while end < n and value[end] not in _STOP:
            end += 1
        if start < i < end - 1:
            a = normalize(value[start:end])
            if a:
                found.append(a)
        i = value.find("@", end)
    return found


def _quoted_or_commented(value: str) -> "set[int]":
    """Positions of '@' inside a quoted string that is not a local part, or a comment."""
    if '"' not in value and "(" not in value:
        return set()
    out: "set[int]" = set()
    quote_start = -1
    depth = 0
    in_comment: "list[int]" = []  # '@' seen in the open comment: hidden once it closes
    escaped = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
            continue
        if ch == "\\" and (quote_start != -1 or depth):
            escaped = True
        elif quote_start != -1:
            if ch == '"':
                # a quoted local part ("john doe"@x) is an address, not a display name
                if not value.startswith("@", i + 1):
                    out.update(j for j in range(quote_start, i) if value[j] == "@")
                quote_start = -1
        elif depth:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    out.update(in_comment)
                    in_comment = []
            elif ch == "@":
                in_comment.append(i)
        elif ch == '"':
            quote_start = i
        elif ch == "(":
            depth = 1
    return out


# --- robots -------------------------------------------------------------------------------

_EXACT_SYSTEM = {
    "mailer-daemon": "mailer daemon",
    "mailerdaemon": "mailer daemon",
    "postmaster": "postmaster",
    "listserv": "list server (LISTSERV)",
    "majordomo": "list server (majordomo)",
    "mailman": "list server (mailman)",
    "uucp": "UUCP daemon",
    "mailer": "mailer daemon",
    "root": "system account (root)",
    "daemon": "system account (daemon)",
    "nobody": "system account (nobody)",
    "www-data": "system account (www-data)",
}
_TOKEN_SYSTEM = {
    "noreply": "no-reply address",
    "noreplies": "no-reply address",
    "donotreply": "no-reply address",
    "bounces": "list bounce address",
    "bounce": "bounce address",
}
# Word sequences (separated by . - _ + =) that spell "do not reply"; whole words only, so
# that dono.treply or norepublic stay people.
_NOREPLY = {
    ("noreply",), ("noreplies",), ("no", "reply"), ("no", "replies"),
    ("donotreply",), ("do", "not", "reply"), ("donot", "reply"), ("do", "notreply"),
    ("dontreply",), ("dont", "reply"), ("donotrespond",), ("do", "not", "respond"),
    ("norespond",), ("no", "respond"),
}
_SEPARATORS = ".-_+="


def _tokens(local: str) -> "list[str]":
    out, cur = [], []
    for ch in local:
        if ch in _SEPARATORS:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def system_address_reason(address: str) -> "str | None":
    """Why this address is a robot that must never get an automatic reply, or None.

    Whole tokens only: ``bouncer.smith`` and ``norepublic`` are people; ``no-reply``,
    ``list-bounces+x=y``, ``owner-list``, ``list-request`` and ``MAILER-DAEMON`` are not.
    """
    local, domain = split(address.lower())
    local = local.strip('"')
    if not local:
        return None
    labels = domain.split(".")
    if "bounces" in labels[:-2] or "bounce" in labels[:-2]:  # bounces.google.com, not bounce.pt
        return "bounce-handling domain"
    if local in _EXACT_SYSTEM:
        return _EXACT_SYSTEM[local]
    base = local.split("+", 1)[0]
    if base in _EXACT_SYSTEM:
        return _EXACT_SYSTEM[base]
    if local.startswith("owner-") or base.endswith("-owner"):
        return "list owner address"
    toks = _tokens(local)
    for t in toks:
        if t in _TOKEN_SYSTEM:
            return _TOKEN_SYSTEM[t]
    if "request" in toks[1:]:
        return "list request address"
    for i in range(len(toks)):  # no-reply, do-not-reply, donot-reply, dont-reply ...
        for n in (1, 2, 3):
            if tuple(toks[i:i + n]) in _NOREPLY:
                return "no-reply address"
    return None


# --- RFC 5321 mailboxes: what may become an envelope address or a To: ---------------------

MAX_LOCAL = 64    # octets (RFC 5321 §4.5.3.1.1)
MAX_DOMAIN = 255  # octets (§4.5.3.1.2)
MAX_PATH = 256    # octets with the angle brackets (§4.5.3.1.3): a mailbox is at most 254

_ATOM = _ATEXT - {"."}
_LDH = set("abcdefghijklmnopqrstuvwxyz0123456789-")
# Local-part characters that mail systems read as routing (Postfix's percent hack and bang
# paths, sendmail's "@" in a quoted local part): refused even where RFC 5321 allows them,
# as each lets one sender address reach a third party.
_ROUTING = {"%": "'%' (percent-hack routing)", "!": "'!' (a UUCP bang path)",
            "@": "'@' (a route)"}
_CATEGORY = {"Zs": "a space character", "Zl": "a line separator", "Zp": "a paragraph separator",
             "Cf": "a format character (bidi control or invisible)",
             "Co": "a private-use character", "Cn": "an unassigned code point"}


class InvalidMailbox(ValueError):
    """The text is not an RFC 5321 Mailbox; ``str(e)`` says why, for a log line."""


class Mailbox:
    """An RFC 5321 Mailbox in canonical form: the local part unquoted when it is a dot-string
    and minimally quoted otherwise, the domain in lower case with A-labels (or a canonical
    address literal). ``address`` is what transports and headers get; ``key`` also folds the
    local part's case (the ledger's key, see the module's comparison policy)."""

    __slots__ = ("local", "domain")

    def __init__(self, local: str, domain: str):
        self.local, self.domain = local, domain

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def key(self) -> str:
        return f"{self.local.lower()}@{self.domain}"

    def __repr__(self) -> str:
        return f"Mailbox({self.address!r})"


def mailbox(text: str) -> Mailbox:
    """Parse ``local@domain`` or ``<local@domain>`` as an RFC 5321 Mailbox, or raise
    InvalidMailbox. The null path ``<>`` is not a mailbox (callers test for it first).

    Refused: anything over the RFC's lengths, any control, separator, format (bidi) or
    private-use character, comments, source routes, lists, angle brackets inside, a
    local part that is neither a dot-string nor a quoted string, and the routing forms
    ``%``, ``!`` and a quoted ``@``. A non-ASCII (U-label) domain becomes its A-label
    (IDNA 2008 with UTS #46 mapping); a non-ASCII local part stays (it needs SMTPUTF8).
    """
    if len(text) > MAX_PATH * 2:  # bound the work before looking at the characters
        raise InvalidMailbox(f"longer than {MAX_PATH} octets")
    a = text.strip(" \t")
    for ch in a:
        why = _bad_character(ch)
        if why:
            raise InvalidMailbox(why)
    if a.startswith("<") and a.endswith(">") and len(a) >= 2:
        a = a[1:-1]
    if a.startswith("@"):
        raise InvalidMailbox("a source route (@relay:...)")
    if not a:
        raise InvalidMailbox("empty")
    if a[0] == '"':
        content, rest = _quoted_string(a)
        for c in content:
            if c in _ROUTING:
                raise InvalidMailbox(f"{_ROUTING[c]} in the local part")
        if not content:
            raise InvalidMailbox("an empty local part")
        local = content if _dot_string_problem(content) is None else \
            '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        _no_specials(a)
        at = a.find("@")
        if at == -1:
            raise InvalidMailbox("no @domain")
        local, rest = a[:at], a[at:]
        why = _dot_string_problem(local)
        if why:
            raise InvalidMailbox(why)
    if not rest.startswith("@"):
        raise InvalidMailbox("text after the quoted local part")
    domain = _domain(rest[1:])
    n = len(local.encode("utf-8"))
    if n > MAX_LOCAL:
        raise InvalidMailbox(f"a local part of {n} octets (at most {MAX_LOCAL})")
    m = Mailbox(local, domain)
    n = len(m.address.encode("utf-8")) + 2
    if n > MAX_PATH:
        raise InvalidMailbox(f"a path of {n} octets (at most {MAX_PATH})")
    return m


def _bad_character(ch: str) -> "str | None":
    o = ord(ch)
    if o < 32 or o == 127 or 0x80 <= o < 0xA0:
        return f"a control character (U+{o:04X})"
    if o < 128:
        return None
    if 0xD800 <= o < 0xE000:  # how Python carries argv/environment bytes that are not UTF-8
        return "bytes that are not UTF-8"
    import unicodedata

    cat = unicodedata.category(ch)
    if cat[0] in "LMNPS":
        return None
    return f"{_CATEGORY.get(cat, 'a control character')} (U+{o:04X})"


def _quoted_string(a: str) -> "tuple[str, str]":
    """The content of the quoted string that opens `a` (quoted pairs undone), and the rest."""
    out = []
    i, n = 1, len(a)
    while i < n:
        c = a[i]
        if c == "\\" and i + 1 < n:
            out.append(a[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), a[i + 1:]
        out.append(c)
        i += 1
    raise InvalidMailbox("an unterminated quoted local part")


def _no_specials(a: str) -> None:
    """Name the first sign that unquoted text is more than one plain mailbox."""
    if "(" in a or ")" in a:
        raise InvalidMailbox("a comment ( )")
    if "," in a or ";" in a:
        raise InvalidMailbox("a list of addresses (',' or ';')")
    if "<" in a or ">" in a:
        raise InvalidMailbox("angle brackets inside the address")
    if a.count("@") > 1:
        raise InvalidMailbox("more than one '@'")


def _dot_string_problem(local: str) -> "str | None":
    if not local:
        return "an empty local part"
    if local[0] == "." or local[-1] == "." or ".." in local:
        return "a misplaced '.' in the local part"
    for c in local:
        if c in _ROUTING:
            return f"{_ROUTING[c]} in the local part"
        if c != "." and c not in _ATOM and c.isascii():
            return f"{c!r} outside quotes in the local part"
    return None


def _domain(d: str) -> str:
    if not d:
        raise InvalidMailbox("no domain after '@'")
    if d[0] == "[":
        return _address_literal(d)
    if d.endswith(".") and len(d) > 1:  # the root's dot: the same domain
        d = d[:-1]
    if not d.isascii():
        d = _a_label(d)
    d = d.lower()
    n = len(d)
    if n > MAX_DOMAIN:
        raise InvalidMailbox(f"a domain of {n} octets (at most {MAX_DOMAIN})")
    for label in d.split("."):
        if not label:
            raise InvalidMailbox("an empty label in the domain")
        if len(label) > 63:
            raise InvalidMailbox("a domain label over 63 octets")
        for c in label:
            if c not in _LDH:
                raise InvalidMailbox(f"{c!r} in the domain")
        if label[0] == "-" or label[-1] == "-":
            raise InvalidMailbox("a domain label that starts or ends with '-'")
    return d


def _a_label(d: str) -> str:
    """A U-label domain as A-labels, by the idna package (IDNA 2008, UTS #46 mapping; the
    stdlib codec is IDNA 2003). Imported here only: ASCII domains never load it."""
    import idna

    try:
        return idna.encode(d, uts46=True).decode("ascii")
    except UnicodeError as e:  # idna.IDNAError is a UnicodeError
        raise InvalidMailbox(f"a domain that is not a valid IDN ({e})") from None


def _address_literal(d: str) -> str:
    if not d.endswith("]"):
        raise InvalidMailbox("an unterminated address literal")
    inner = d[1:-1]
    if inner[:5].lower() == "ipv6:":
        import ipaddress

        try:
            if "%" in inner:  # a scope id means nothing beyond this host
                raise ValueError
            return f"[IPv6:{ipaddress.IPv6Address(inner[5:]).compressed}]"
        except ValueError:
            raise InvalidMailbox("an invalid IPv6 address literal") from None
    parts = inner.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) < 256
                               for p in parts):
        return "[" + ".".join(str(int(p)) for p in parts) + "]"
    raise InvalidMailbox("an address literal that is neither IPv4 nor IPv6")
