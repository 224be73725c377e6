"""The live preview: the exact reply delivery would send, for settings not saved yet.

It runs the delivery line's own render step (``Line.build_reply``, what ``template preview``
prints) on a read-only store with a capture transport, with the draft settings in an Account
that is never stored; the built message is then split into what the page shows: the header
fields, the text part and the HTML part.
"""

from __future__ import annotations

import time

SAMPLE_SENDER = "sender@example.org"


def sample_message(account_address: str, sender: str, sent_to: str = ""):
    """The incoming message a preview answers (as `template preview` without input), sent to
    `sent_to` (one of the account's addresses; default the account's own)."""
    from email.headerregistry import Address  # noqa: F401 - loads the policy machinery

    from autoresponder.message import from_bytes

    raw = (f"From: {sender}\nTo: {sent_to or account_address}\nSubject: Hello\n"
           "Message-ID: <preview@example.org>\n\nHi\n").encode("utf-8", "replace")
    return from_bytes(raw)


def draft_account(address: str, values: dict, stored=None, items=None, config=None):
    """An Account holding the draft settings (never stored): the stored one's bookkeeping
    and aliases, the draft's settings and (when given) the draft's absences and windows
    (store dicts, as ownerform reads them)."""
    from autoresponder.store.base import ITEM_FIELDS, Account, ScheduleItem

    base = stored.as_dict() if stored is not None else {
        "address": address, "enabled": 1, "handle": "preview", "created_at": None,
        "updated_at": None, "aliases": [], "template": "default"}
    row = {k: base.get(k) for k in Account.COLUMNS}
    row.update({k: v for k, v in values.items() if k in Account.COLUMNS})
    row["address"] = address
    row["handle"] = row.get("handle") or "preview"
    row["template"] = row.get("template") or "default"
    if items is None:
        drafts = list(stored.items) if stored is not None else []
    else:
        drafts = [ScheduleItem(**{k: it.get(k) for k in ITEM_FIELDS}) for it in items]
    zone = (getattr(config, "timezone", None) or "UTC") if config is not None else "UTC"
    return Account(*[row[k] for k in Account.COLUMNS], aliases=list(base.get("aliases") or []),
                   items=drafts, default_zone=zone)


def moment(account, item: "int | None", now: float) -> float:
    """When to preview: now, or (for the draft's item number `item`) now if it is in force,
    else when it next starts (a past absence: its start)."""
    if item is None or not 0 <= item < len(account.items):
        return now
    from autoresponder import answer, schedule as sch

    it = account.items[item]
    zone = sch.get_zone(account.zone_name())
    try:
        if it.kind == "window":
            obj = sch.parse_window(it.spec or "")
        else:
            obj = sch.Absence(answer.wall(it.start_local), answer.wall(it.end_local))
    except sch.ScheduleError:
        return now
    if obj.occurrence_at(now, zone) is not None:
        return now
    nxt = obj.next_boundary(now, zone)
    if nxt is not None:
        return nxt
    if it.kind == "absence" and it.start_local:
        return sch.instant(answer.wall(it.start_local), zone)
    return now


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


def build(config, account, sender: str = SAMPLE_SENDER, now: "float | None" = None,
          sent_to: str = "", item: "int | None" = None) -> dict:
    """{'headers', 'text', 'html', 'envelope', 'situation'} of the reply `account` would send
    to `sender` (writing to `sent_to`) now, or when its item number `item` is in force: the
    delivery line's own plan (the absence or window in force, the sender's audience, the From)
    and render step, as `template preview`. An outsider when outsiders get no reply: no reply,
    'situation' says so. Raises replytext.TemplateError (the page shows it) and ValueError for
    a bad sender."""
    from autoresponder import addresses, answer
    from autoresponder.envelope import Envelope
    from autoresponder.line import Line
    from autoresponder.transports.capture import CaptureTransport

    if not addresses.normalize(sender):
        raise ValueError(f"{sender!r} is not a mail address")
    at = moment(account, item, time.time() if now is None else now)
    to = addresses.normalize(sent_to) if sent_to else ""
    if to not in account.addresses():
        to = account.address
    env = Envelope(sender, account.address, to, config.autoreply_domain,
                   config.recipient_delimiter)
    message = sample_message(account.address, sender, to)
    plan = answer.plan(account, config, env, message, at)
    source = plan.source
    situation = {
        "at": at, "zone": plan.zone, "audience": plan.audience, "why": plan.audience_why,
        "external_content": plan.external_content, "from": plan.reply_from,
        "answering": plan.occurrence is not None or not account.scheduled(),
        "item": (account.items.index(source) if source is not None else None),
        "no_reply": plan.audience == "external" and account.external == "none",
    }
    if situation["no_reply"]:
        return {"headers": [], "text": "", "html": None, "envelope": None,
                "situation": situation}
    # read-only: the line neither claims nor uses the render memo, so it needs no store
    line = Line(config, None, CaptureTransport(), readonly=True)
    r = line.build_reply(answer.effective(account, plan), env, message, at)
    out = split(r.data)
    out["envelope"] = {"mail_from": r.mail_from, "rcpt": r.rcpt}
    out["situation"] = situation
    return out
