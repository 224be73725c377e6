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
