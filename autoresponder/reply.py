"""The reply message, built as RFC 3834 says.

Recipient: the envelope sender, only (never Reply-To, From or Sender: RFC 3834 §4); the To
field carries the name the sender gives itself in Sender/Resent-From/From, bounded.
Headers: From (account, display name), To, Subject, Date, Message-ID (ours, recognisable by
headerutil.OWN_MSGID_PREFIX), In-Reply-To and References (RFC 3834 §3.1.6),
Auto-Submitted: auto-replied (§3.1.7), Precedence: bulk (§3.1.8, for old responders),
X-Auto-Response-Suppress: All (stops Exchange answering us), our own loop marker, and
Content-Language.

The MIME body (text/plain, or multipart/alternative with the HTML part; UTF-8,
quoted-printable or base64 as needed, 7-bit clean) is built with the standard ``email``
package by ``mime_body``; for account-only templates it is built once and kept in the render
memo. The per-message header fields are encoded with ``email.header`` (RFC 2047), which is
a small part of the package: importing the whole of it costs more than the rest of a reply.
No text from any input reaches a header without losing every control character first, and
text that still looks like an encoded-word is itself encoded, so no decoder can turn it back
into a line break.
"""

import os
import time

from autoresponder import addresses
from autoresponder.headerutil import OWN_MARKER, OWN_MSGID_PREFIX

MAX_SUBJECT = 256  # characters of a Subject (RFC 2822 advises none; Pigeonhole also cuts at 256)
MAX_NAME = 100     # characters of a display name in From/To
ELLIPSIS = "\u2026"
# Senders' display names come from one of these fields, the first whose address is the
# envelope sender's (RFC 5322 §3.6.2, §3.6.6: the mailbox responsible, then the re-sender).
NAME_FIELDS = ("sender", "resent-from", "from")
MAX_NAME_FIELD = 4000  # characters of such a field parsed for the name (a parse per reply)
# Characters no header text keeps: C0 and C1 controls, DEL, the line and paragraph
# separators (some decoders break lines there) and the bidi embeddings, overrides and
# isolates that would reorder what a reader sees. Zero-width joiners and the LRM/RLM marks
# stay: names in Arabic, Persian or Indic scripts need them.
_DROP = (set(range(0, 32)) | set(range(127, 160)) | {0x2028, 0x2029}
         | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)))
MAX_REFERENCES = 20
_SPECIALS = set('()<>[]:;@\\,."')
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Reply:
    """The bytes to send, the envelope, and the fields logs and `explain` show."""

    __slots__ = ("data", "mail_from", "rcpt", "message_id", "fields")

    def __init__(self, data: bytes, mail_from: str, rcpt: str, message_id: str, fields: dict):
        self.data, self.mail_from, self.rcpt = data, mail_from, rcpt
        self.message_id, self.fields = message_id, fields


def clean_text(value: str, limit: int = MAX_SUBJECT) -> str:
    """One header-safe line: control characters (CR, LF, NUL ...), line separators and bidi
    overrides become spaces, runs of spaces one; longer than `limit` characters, it is cut
    (see cut)."""
    s = "".join(" " if ord(c) in _DROP else c for c in value)
    return cut(" ".join(s.split()), limit)


def cut(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its start and an ellipsis, together
    `limit` characters at most: cut between characters (never inside a combining sequence or
    a joined emoji), at the last space of the final 16 characters if there is one. Text is cut
    decoded, so no encoded-word or UTF-8 sequence is ever split; the email package encodes the
    result afterwards."""
    if len(text) <= limit:
        return text
    if limit < 2:
        return text[:max(limit, 0)]
    import unicodedata

    i = limit - 1
    space = text.rfind(" ", max(i - 16, 1), i + 1)
    if space > 0:
        i = space
    while i > 1 and (unicodedata.combining(text[i]) or text[i] == "\u200d"
                     or text[i - 1] == "\u200d" or 0xFE00 <= ord(text[i]) <= 0xFE0F
                     or 0x1F3FB <= ord(text[i]) <= 0x1F3FF):  # joiner, selector, skin tone
        i -= 1
    return text[:i].rstrip() + ELLIPSIS


def decode_subject(raw: "str | None", limit: int = MAX_SUBJECT) -> str:
    """Header text as plain text: RFC 2047 encoded-words decoded once, control characters
    gone. Never raises: an unknown charset or a broken encoded-word degrades to replacement
    characters or the raw text."""
    if not raw:
        return ""
    text = raw
    if "=?" in raw:
        from email.header import decode_header

        try:
            out = []
            for part, charset in decode_header(raw):
                if isinstance(part, str):
                    out.append(part)
                elif charset is None:
                    out.append(part.decode("raw-unicode-escape", "replace"))
                else:
                    try:
                        out.append(part.decode(charset, "replace"))
                    except LookupError:
                        out.append(part.decode("latin-1"))
            text = "".join(out)
        except Exception:
            text = raw
    return clean_text(text, limit)


def _encoded(name: str, text: str) -> str:
    """A whole header line; RFC 2047 only when needed (non-ASCII, or text that looks like an
    encoded-word and must reach the reader as the literal text). A short printable ASCII line
    is what ``email.header`` would write, unchanged: it is written without importing it
    (tests/test_reply_fast_paths.py holds the two to the same output)."""
    if _plain_line(name, text):
        return f"{name}: {text}\r\n"
    from email.header import Header

    charset = "us-ascii" if text.isascii() and "=?" not in text else "utf-8"
    value = Header(text, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {value}\r\n"


def _phrase(name: str) -> str:
    if name.isascii() and "=?" not in name:
        if any(c in _SPECIALS for c in name):
            return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return name
    from email.header import Header

    return Header(name, "utf-8").encode(linesep="\r\n")


def mailbox(display: str, addr: str) -> str:
    """``Name <addr>``: the display name decoded, cleaned and cut at MAX_NAME characters,
    then quoted or RFC 2047-encoded as it needs; the bare address when there is no name."""
    name = decode_subject(display, MAX_NAME)
    return f"{_phrase(name)} <{addr}>" if name else addr


def recipient_name(message, sender: str) -> str:
    """The display name the envelope sender gives itself: the name of the first mailbox in
    Sender:, Resent-From: or From: (in that order) whose address is `sender` (the ledger's
    form) and that has a name, raw (mailbox() decodes and bounds it); "" if none. Fields are
    hostile: each is parsed only up to MAX_NAME_FIELD characters (an address past that gives
    no name), and no match is no name."""
    if not sender:
        return ""
    values = []
    for name in NAME_FIELDS:  # unfolded: a stray CR or LF would end a quoted name early
        values.extend(v[:MAX_NAME_FIELD].replace("\r", " ").replace("\n", " ")
                      for v in message.get_all(name))
    if not any(sender in addresses.find_addresses(v) for v in values):
        return ""
    for v in values:
        for display, addr in _mailboxes(v):
            if display and addresses.normalize(addr) == sender:
                return display
    return ""


def _mailboxes(value: str) -> "list[tuple[str, str]]":
    """``email.utils.getaddresses([value])``: the plain shapes most senders write are read
    here (see _plain_mailbox), the rest by the email package, whose import (email.utils
    brings socket, random, urllib.parse and 20 more modules) would cost a reply more than
    all the rest of its work."""
    plain = _plain_mailbox(value)
    if plain is not None:
        return [plain]
    from email.utils import getaddresses

    return getaddresses([value])


_FWS = " \t\r\n"
_ATOM = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            "!#$%&'*+-/=?^_`{|}~")


def _dot_atom(text: str) -> bool:
    """ASCII atext atoms joined by single dots (RFC 5322 dot-atom-text)."""
    return bool(text) and all(part and all(c in _ATOM for c in part)
                              for part in text.split("."))


def _plain_mailbox(value: str) -> "tuple[str, str] | None":
    """(display name, address) of one mailbox in a plain shape, exactly as getaddresses
    reads it, or None for any other shape (the caller parses those fully).

    Plain: ``addr``, ``Name <addr>`` or ``"Quoted name" <addr>``, where addr is
    ``dot-atom@dot-atom`` in ASCII, an unquoted name is words of atext, dots and any
    non-ASCII letters separated by spaces, tabs or line breaks (read as one space apart), and
    a quoted one holds no quote, backslash or control character. Comments, groups, lists,
    brackets and escapes are never plain."""
    v = value.strip(_FWS)
    if not v.endswith(">"):
        return ("", v) if _addr_spec(v) else None
    i = v.rfind("<")  # an address holds none: any earlier one is in the name
    if i < 0 or not _addr_spec(v[i + 1:-1]):
        return None
    addr, name = v[i + 1:-1], v[:i].strip(_FWS)
    if name.startswith('"'):
        inner = name[1:-1]
        if len(name) < 2 or not name.endswith('"') or any(
                c in '"\\' or ord(c) < 32 or ord(c) == 127 for c in inner):
            return None
        return inner, addr
    for c in _FWS[1:]:
        name = name.replace(c, " ")
    words = [w for w in name.split(" ") if w]
    if not all(c in _ATOM or c == "." or (ord(c) > 127 and c.isalpha())
               for w in words for c in w):
        return None
    return " ".join(words), addr


def _addr_spec(text: str) -> bool:
    local, at, domain = text.partition("@")
    return bool(at) and _dot_atom(local) and _dot_atom(domain)


def _plain_line(name: str, text: str) -> bool:
    """Is ``name: text`` a line email.header would leave as it is: printable ASCII words
    one space apart, no encoded-word look-alike, within 78 characters?"""
    return (len(name) + 2 + len(text) <= 78 and text.isascii() and "=?" not in text
            and "  " not in text and text.strip(" ") == text
            and all(31 < ord(c) < 127 for c in text))


def rfc5322_date(now: float) -> str:
    t = time.gmtime(now)  # English names whatever the locale
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000")


def msg_ids(value: "str | None") -> "list[str]":
    """The ``<id>`` tokens of a Message-ID/References field, and nothing else."""
    out = []
    if not value:
        return out
    i = value.find("<")
    while i != -1:
        j = value.find(">", i)
        if j == -1:
            break
        token = value[i:j + 1]
        if "@" in token and all(32 < ord(c) < 127 for c in token) and len(token) < 250 \
                and "<" not in token[1:]:
            out.append(token)
        i = value.find("<", j)
    return out


def _folded_ids(name: str, ids: "list[str]") -> str:
    line, out = f"{name}:", []
    for token in ids:
        if len(line) + 1 + len(token) > 78 and line != f"{name}:":
            out.append(line)
            line = ""
        line += " " + token
    out.append(line)
    return "\r\n".join(out) + "\r\n"


def original_fields(message) -> dict:
    """What templates may know of the incoming message (see README, "Templates")."""
    ids = msg_ids(message.get("message-id"))
    return {
        "subject": decode_subject(message.get("subject")),
        "date": clean_text(message.get("date") or "", 100),
        "message_id": ids[0] if ids else "",
        "from": decode_subject(message.get("from"), 300),
    }


def new_message_id(domain: str) -> str:
    return f"{OWN_MSGID_PREFIX}{int(time.time())}.{os.urandom(8).hex()}@{domain}>"


def from_address(account) -> str:
    """The reply's From address: the one the delivery line chose (``reply_from``, see
    answer.from_address) when it is one of the account's own addresses, else the account's
    address. Never an address that is not the account's."""
    chosen = getattr(account, "reply_from", None)
    if chosen and chosen in account.addresses():
        return chosen
    return account.address


def envelope_from(config, account) -> str:
    """The reply's MAIL FROM: null by default (RFC 5230 §5.1), or as configured."""
    policy = config.envelope_sender
    if policy == "null":
        return ""
    if policy == "account":
        return from_address(account)
    return policy


def mime_body(text: str, html: "str | None") -> bytes:
    """The MIME entity of the reply's body, with its Content-* and MIME-Version fields, built
    by the standard email package: UTF-8, quoted-printable or base64, 7-bit clean."""
    from email import policy as email_policy
    from email.message import EmailMessage

    m = EmailMessage(policy=email_policy.SMTP.clone(cte_type="7bit", max_line_length=78))
    m.set_content(text, subtype="plain", charset="utf-8")
    if html:
        m.add_alternative(html, subtype="html", charset="utf-8")
    return m.as_bytes()


def build(config, account, envelope, message, rendered, now: "float | None" = None,
          body: "bytes | None" = None) -> Reply:
    """This account's reply to this message; `body` is a memoised mime_body() if any."""
    now = time.time() if now is None else now
    rcpt = envelope.reply_to or envelope.sender
    to_name = recipient_name(message, envelope.sender)
    original = original_fields(message)
    subject = decode_subject(rendered.subject) if rendered.subject else ""
    if not subject:
        from autoresponder.derived import default_subject

        subject = clean_text(default_subject(original["subject"], rendered.language))
    sender_address = from_address(account)
    message_id = new_message_id(addresses.split(sender_address)[1])
    head = [
        f"From: {mailbox(account.from_name or '', sender_address)}\r\n",
        f"To: {mailbox(to_name, rcpt)}\r\n",
        _encoded("Subject", subject),
        f"Date: {rfc5322_date(now)}\r\n",
        f"Message-ID: {message_id}\r\n",
    ]
    if original["message_id"]:
        head.append(f"In-Reply-To: {original['message_id']}\r\n")
        refs = msg_ids(message.get("references")) or msg_ids(message.get("in-reply-to"))
        head.append(_folded_ids("References",
                                refs[-(MAX_REFERENCES - 1):] + [original["message_id"]]))
    head += [
        "Auto-Submitted: auto-replied\r\n",
        "Precedence: bulk\r\n",
        "X-Auto-Response-Suppress: All\r\n",
        f"{OWN_MARKER}: auto-replied\r\n",
        f"Content-Language: {rendered.language}\r\n",
    ]
    if body is None:
        body = mime_body(rendered.text, rendered.html)
    data = "".join(head).encode("utf-8") + body
    fields = {"from": sender_address, "to": rcpt, "subject": subject,
              "language": rendered.language, "html": bool(rendered.html)}
    return Reply(data, envelope_from(config, account), rcpt, message_id, fields)
