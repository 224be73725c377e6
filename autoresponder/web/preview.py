"""The live preview: the exact reply delivery would send, for settings not saved yet.

It runs the delivery line's own render step (``Line.build_reply``, what ``template preview``
prints) on a read-only store with a capture transport, with the draft settings in an Account
that is never stored; the built message is then split into what the page shows: the header
fields, the text part and the HTML part.
"""

from __future__ import annotations

import time

SAMPLE_SENDER = "sender@example.org"


def sample_message(account_address: str, sender: str):
    """The incoming message a preview answers (as `template preview` without input)."""
    from email.headerregistry import Address  # noqa: F401 - loads the policy machinery

    from autoresponder.message import from_bytes

    raw = (f"From: {sender}\nTo: {account_address}\nSubject: Hello\n"
           "Message-ID: <preview@example.org>\n\nHi\n").encode("utf-8", "replace")
    return from_bytes(raw)


def draft_account(address: str, values: dict, stored=None):
    """An Account holding the draft settings (never stored): the stored one's bookkeeping
    and aliases, the draft's settings."""
    from autoresponder.store.base import Account

    base = stored.as_dict() if stored is not None else {
        "address": address, "enabled": 1, "handle": "preview", "created_at": None,
        "updated_at": None, "aliases": [], "template": "default"}
    row = {k: base.get(k) for k in Account.COLUMNS}
    row.update({k: v for k, v in values.items() if k in Account.COLUMNS})
    row["address"] = address
    row["template"] = row.get("template") or "default"
    acct = Account(*[row[k] for k in Account.COLUMNS], aliases=list(base.get("aliases") or []))
    for k, v in values.items():  # settings the store may add (time zone, ...) ride along
        if k not in Account.COLUMNS and not hasattr(type(acct), k):
            try:
                setattr(acct, k, v)
            except AttributeError:
                pass
    return acct


def split(data: bytes) -> dict:
    """The built reply as the page shows it: header fields in order, text, HTML."""
    from email import message_from_bytes, policy

    msg = message_from_bytes(data, policy=policy.default)
    headers = [(k, str(v)) for k, v in msg.items()
               if k.lower() not in ("content-type", "content-transfer-encoding",
                                    "mime-version")]
    text = html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and text is None:
            text = part.get_content()
        elif ctype == "text/html" and html is None:
            html = part.get_content()
    # the wire's CRLF line ends, as the page shows them (and as a mail reader does)
    text = (text or "").replace("\r\n", "\n")
    html = html.replace("\r\n", "\n") if html is not None else None
    return {"headers": headers, "text": text, "html": html}


def build(config, account, sender: str = SAMPLE_SENDER, now: "float | None" = None):
    """{'headers', 'text', 'html', 'envelope'} of the reply `account` would send to `sender`;
    raises replytext.TemplateError (the page shows it) and ValueError for a bad sender."""
    from autoresponder import addresses
    from autoresponder.envelope import Envelope
    from autoresponder.line import Line
    from autoresponder.transports.capture import CaptureTransport

    if not addresses.normalize(sender):
        raise ValueError(f"{sender!r} is not a mail address")
    # read-only: the line neither claims nor uses the render memo, so it needs no store
    line = Line(config, None, CaptureTransport(), readonly=True)
    env = Envelope(sender, account.address, "", config.autoreply_domain,
                   config.recipient_delimiter)
    r = line.build_reply(account, env, sample_message(account.address, sender),
                         time.time() if now is None else now)
    out = split(r.data)
    out["envelope"] = {"mail_from": r.mail_from, "rcpt": r.rcpt}
    return out
