"""The reply message, built as RFC 3834 says, with the standard ``email`` package.

Recipient: the envelope sender, only (never Reply-To, From or Sender: RFC 3834 §4).
Headers: From (account, display name), To, Subject, Date, Message-ID (ours, recognisable by
rules.headers.OWN_MSGID_PREFIX), In-Reply-To and References (RFC 3834 §3.1.6),
Auto-Submitted: auto-replied (§3.1.7), Precedence: bulk (§3.1.8, for old responders),
X-Auto-Response-Suppress: All (stops Exchange answering us), our own loop marker, and
Content-Language. No text from the incoming message reaches a header without losing every
control character first; the body is 7-bit clean (quoted-printable or base64 as needed).
"""

import os
import time
from datetime import datetime, timezone
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from autoresponder import addresses
from autoresponder.rules.headers import OWN_MARKER, OWN_MSGID_PREFIX

POLICY = email_policy.SMTP.clone(cte_type="7bit", max_line_length=78)
MAX_SUBJECT = 200
MAX_REFERENCES = 20


def clean_text(value: str, limit: int = MAX_SUBJECT) -> str:
    """One header-safe line: control characters (CR, LF, NUL ...) become spaces."""
    s = "".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in value)
    s = " ".join(s.split())
    return s[:limit]


def decode_subject(raw: "str | None") -> str:
    """Header text as plain text: RFC 2047 encoded-words decoded, control characters gone.

    Decoding repeats until nothing changes, because the ``email`` package decodes
    encoded-words again in any value we set: text that still held one (an encoded CR/LF, or a
    double-encoded one) could otherwise smuggle a line break into the reply's headers."""
    if not raw:
        return ""
    from email.policy import default

    text = clean_text(raw, 2000)
    for _ in range(5):
        try:
            decoded = clean_text(str(default.header_factory("subject", text)), 2000)
        except Exception:
            break
        if decoded == text:
            break
        text = decoded
    return text[:MAX_SUBJECT]


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


def original_fields(message) -> dict:
    """What templates may know of the incoming message (see README, "Templates")."""
    ids = msg_ids(message.get("message-id"))
    return {
        "subject": decode_subject(message.get("subject")),
        "date": clean_text(message.get("date") or "", 100),
        "message_id": ids[0] if ids else "",
        "from": clean_text(decode_subject(message.get("from")), 300),
    }


def new_message_id(domain: str) -> str:
    return f"{OWN_MSGID_PREFIX}{int(time.time())}.{os.urandom(8).hex()}@{domain}>"


def envelope_from(config, account) -> str:
    """The reply's MAIL FROM: null by default (RFC 5230 §5.1), or as configured."""
    policy = config.envelope_sender
    if policy == "null":
        return ""
    if policy == "account":
        return account.address
    return policy


def _address(display: str, addr: str) -> Address:
    local, domain = addresses.split(addr)
    return Address(display_name=decode_subject(display)[:100], username=local.strip('"'),
                   domain=domain)


def build(config, account, envelope, message, rendered, now: "float | None" = None):
    """(EmailMessage, envelope sender, recipient) for this account's reply to this message."""
    rcpt = envelope.sender
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(account.from_name or "", account.address)
    to_name = ""
    for v in message.get_all("from"):  # the sender's own name, only if it is the same address
        found = addresses.find_addresses(v)
        if found and found[0] == rcpt and "<" in v:
            to_name = decode_subject(v.split("<", 1)[0].strip().strip('"'))
    msg["To"] = _address(to_name, rcpt)
    original = original_fields(message)
    subject = rendered.subject or ""
    if not subject:
        subject = ("Auto: " + original["subject"]) if original["subject"] else {
            "pt": "Resposta automática"}.get(rendered.language, "Automated reply")
    msg["Subject"] = decode_subject(subject)  # at its fixpoint: nothing left to re-decode
    when = datetime.fromtimestamp(now if now is not None else time.time(), timezone.utc)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = new_message_id(addresses.split(account.address)[1])
    if original["message_id"]:
        msg["In-Reply-To"] = original["message_id"]
        refs = msg_ids(message.get("references")) or msg_ids(message.get("in-reply-to"))
        refs = refs[-(MAX_REFERENCES - 1):] + [original["message_id"]]
        msg["References"] = " ".join(refs)
    msg["Auto-Submitted"] = "auto-replied"
    msg["Precedence"] = "bulk"
    msg["X-Auto-Response-Suppress"] = "All"
    msg[OWN_MARKER] = "auto-replied"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    msg["Content-Language"] = rendered.language  # after set_content, which drops Content-*
    return msg, envelope_from(config, account), rcpt
