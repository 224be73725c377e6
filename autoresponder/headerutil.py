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


def quoted(message, name: str, value: str) -> str:
    """``Name: value`` as a reason quotes a field: the name as the sender spelt it, the value
    cut at 60 characters."""
    return f"{field(message, name)[0]}: {value.strip()[:60]}"


def signature(message, fields) -> "tuple[str, str] | None":
    """(who, quoted field) for the first of `fields` (pairs of a lower-case field name and
    who writes it) the message has, else None: for rules that know a kind of sender by a
    field only it adds (marketing platforms, ticket systems)."""
    for name, who in fields:
        v = message.get(name)
        if v is not None:
            return who, quoted(message, name, v)
    return None


# --- senders wrapped by forwarders and signers ---------------------------------------------

def unwrap_sender(address: str) -> str:
    """The address inside a BATV or SRS rewrite, else the address itself.

    BATV signers (RFC draft-levine-smtp-batv) put a tag before the local part: ``prvs=TAG=
    local@d`` (also ``msprvs1=TAG=local@d``, and Barracuda's ``btv1==TAG==local@d``); SRS
    forwarders hide the original address in theirs: ``SRS0=HASH=TT=origdomain=local@fwd`` and
    ``SRS1=HASH=fwd==HASH=TT=origdomain=local@fwd2``. A bounce from ``MAILER-DAEMON`` that a
    signer or forwarder rewrote is still from ``MAILER-DAEMON``.
    """
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    low = local.lower()
    for tag in ("prvs=", "msprvs1=", "btv1=="):
        if low.startswith(tag):
            rest = local[len(tag):]
            sep = "==" if tag == "btv1==" else "="
            _, found, inner = rest.partition(sep)
            return f"{inner}@{domain}" if found and inner else address
    if low.startswith("srs0="):
        parts = local.split("=", 4)  # SRS0, hash, timestamp, original domain, original local
    elif low.startswith("srs1=") and "==" in local:
        parts = ["SRS1"] + local.split("==", 1)[1].split("=", 3)
    else:
        return address
    if len(parts) == 5 and parts[3] and parts[4]:
        return f"{parts[4]}@{parts[3]}"
    return address


# --- the Subject as people read it ---------------------------------------------------------

# What mail programs put before a subject they answer or forward, in the languages our
# senders write (Outlook translates them: AW/WG German, RV Spanish, R/I Italian, TR/RÉF French,
# ENC/RES Portuguese, SV/VS Nordic, ANTW Dutch): lower case, without the colon.
REPLY_PREFIXES = ("re", "fwd", "fw", "enc", "res", "aw", "wg", "tr", "réf", "ref", "rv", "r",
                  "i", "sv", "vs", "antw", "doorst", "odp", "pd", "ynt", "ilt", "转发", "回复",
                  "答复")
_SPACES = " \t\u00a0\u202f\u3000"
_COLONS = (":", "\uff1a")


SUBJECT_CHARS = 1000  # the rules read the start of a Subject; decoding more is wasted


def subject_text(message) -> str:
    """The start of the Subject decoded (RFC 2047), without control characters, spaces
    collapsed, case-folded: what the word-reading rules compare."""
    raw = (message.get("subject") or "")[:SUBJECT_CHARS]
    text = decode_words(raw) if "=?" in raw else raw
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 or c in _SPACES else c for c in text)
    return " ".join(text.split()).casefold()


def decode_words(raw: str) -> str:
    """`raw` with its RFC 2047 encoded-words decoded (white space between two of them
    dropped, as §6.2 says); a malformed word stays as written, an unknown charset reads as
    Latin-1. The rules run it on every message whose Subject is encoded (most mail in
    Portuguese), before the ledger: ``email.header`` would load ``re`` and a dozen modules
    per process for the same answer (tests/rules/test_headerutil.py compares the two), so
    this uses only binascii, a built-in."""
    out: "list[str]" = []
    i, n = 0, len(raw)
    after_word = False
    while i < n:
        start = raw.find("=?", i)
        if start == -1:
            out.append(raw[i:])
            break
        word = _encoded_word(raw, start)
        if word is None:  # not an encoded-word: keep the "=?" and look further
            out.append(raw[i:start + 2])
            after_word, i = False, start + 2
            continue
        between = raw[i:start]
        if not (after_word and between.strip(" \t\r\n") == ""):
            out.append(between)
        out.append(word[0])
        after_word, i = True, word[1]
    return "".join(out)


def _encoded_word(raw: str, start: int) -> "tuple[str, int] | None":
    """(decoded text, end) of the encoded-word ``=?charset?B|Q?text?=`` at `start`, or None."""
    import binascii

    q1 = raw.find("?", start + 2)
    if q1 == -1 or q1 + 2 >= len(raw) or raw[q1 + 2] != "?":
        return None
    enc = raw[q1 + 1].lower()
    end = raw.find("?=", q1 + 3)
    charset = raw[start + 2:q1].split("*", 1)[0].strip().lower()  # RFC 2231 *language
    data = raw[q1 + 3:end] if end != -1 else ""
    if end == -1 or enc not in "bq" or not charset or " " in data or " " in charset:
        return None
    try:
        if enc == "b":
            octets = binascii.a2b_base64((data + "=" * (-len(data) % 4)).encode("ascii"))
        else:
            octets = binascii.a2b_qp(data.encode("ascii"), header=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    try:
        return octets.decode(charset, "replace"), end + 2
    except LookupError:
        return octets.decode("latin-1"), end + 2


def strip_tags(subject: str) -> str:
    """The subject without leading ``[TAG]`` groups gateways and lists add (``[EXTERNAL]``,
    ``[SPAM?]``, ``[Ticket#123]``), at most three."""
    s = subject
    for _ in range(3):
        if s.startswith("[") and "]" in s:
            s = s[s.index("]") + 1:].lstrip()
        else:
            break
    return s


def starts_with_label(subject: str, labels) -> "str | None":
    """The label in `labels` (case-folded) that opens `subject`, followed by a colon (or a
    full-width one, after optional spaces), or None: ``Réponse automatique : x`` opens with
    ``réponse automatique``, ``Out of office next week?`` opens with no label."""
    for label in labels:
        if subject.startswith(label):
            rest = subject[len(label):].lstrip(_SPACES)
            if rest.startswith(_COLONS):
                return label
    return None


def is_reply_or_forward(subject: str) -> bool:
    """A person answering or forwarding: the (case-folded, tag-stripped) subject opens with
    one of REPLY_PREFIXES and a colon."""
    return starts_with_label(strip_tags(subject), REPLY_PREFIXES) is not None
