"""What answers an account at one instant, and how: the glue between the store's rows and
``schedule`` (when) and ``audience`` (whom).

- *When*: the account's own start/end (``vacation enable``), its queued absences and its
  weekly windows become one ``schedule.Schedule`` in the account's zone; the occurrence in
  force answers (docs/schedule.md, "Which one answers"). The account's own dates are an
  absence like the others (key ``main``); without dates it answers always, unless queued
  absences or windows say when.
- *Handle*: the account's own dates answer under the account's handle (as before issue 13);
  an absence under ``<handle>/<its key>``, a window occurrence under
  ``<handle>/<key>@<wall-clock start>``, so a new absence or occurrence answers senders
  again. A window's occurrences share the prefix ``<handle>/<key>@``: the ledger keeps a floor
  of min(interval, 24 h) between two replies to one sender across them.
- *Whom*: the sender is internal or external (``audience``); outsiders get the external
  subject/message/template when one is set (on the absence, else on the account).
- *From*: the account's address, the address the message was sent to, or one given own
  address; never one that is not the account's.

Imported only for messages that got past the header rules, and ``schedule`` (zoneinfo)
only for accounts whose answering depends on the clock.
"""

from autoresponder.derived import effective_interval, iso_utc

MAIN = "main"  # the key of the account's own dates in its schedule
FLOOR = 86400  # never two replies to one sender within a day across a window's occurrences
_CONTENT = ("subject", "message", "template")
_EXTERNAL = ("external_subject", "external_message", "external_template")


# --- when ------------------------------------------------------------------------------------

def wall(text: "str | None"):
    """A stored wall-clock time (``YYYY-MM-DDTHH:MM``) as a naive datetime, or None."""
    if not text:
        return None
    from datetime import datetime

    return datetime.fromisoformat(text)


def wall_text(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def build(account):
    """(Schedule, sources) for an account: sources[i] is the ScheduleItem behind schedule item
    i, or None for the account's own dates."""
    from autoresponder import schedule as sch

    zone = sch.get_zone(account.zone_name())
    items, sources = [], []
    start = wall(account.start_local) or _legacy(account.start_at, zone)
    end = wall(account.end_local) or _legacy(account.end_at, zone)
    if start is not None or end is not None or not account.items:
        items.append(sch.Absence(start, end, key=MAIN))
        sources.append(None)
    for it in account.items:
        if it.kind == "window":
            items.append(sch.parse_window(it.spec, key=it.key))
        else:
            items.append(sch.Absence(wall(it.start_local), wall(it.end_local), key=it.key))
        sources.append(it)
    s = sch.Schedule(account.zone_name(), items)
    s.zone = zone
    return s, sources


def _legacy(iso: "str | None", zone):
    """A UTC time stored before wall-clock times were (schema 3) as wall-clock in `zone`."""
    if not iso:
        return None
    from autoresponder import schedule as sch
    from autoresponder.dates import from_iso

    return sch.local_time(from_iso(iso).timestamp(), zone)


def show(at: float, account) -> str:
    from autoresponder import schedule as sch

    return sch.show(at, sch.get_zone(account.zone_name()))


def why_not(account, now: float) -> "str | None":
    """None when something answers at `now`, else why not, in the account's own time."""
    sched, sources = build(account)
    if sched.in_force(now) is not None:
        return None
    nxt = sched.next_change(now)
    only_main = len(sources) == 1 and sources[0] is None
    if nxt is None:  # further ahead than next_change looks: the first absence to start
        from autoresponder import schedule as sch

        later = [sch.instant(i.start, sched.zone) for i in sched.items
                 if isinstance(i, sch.Absence) and i.start is not None]
        later = [t for t in later if t > now]
        nxt = min(later) if later else None
    if nxt is not None:
        what = "the vacation" if only_main else "the next absence or window"
        return f"{what} starts at {show(nxt, account)}"
    if only_main and sched.items[0].end is not None:
        from autoresponder import schedule as sch

        return f"the vacation ended at {show(sch.instant(sched.items[0].end, sched.zone), account)}"
    return (f"no absence or window answers at {show(now, account)} and none is to come "
            f"(within 400 days)")


def over(account, now: float) -> bool:
    return build(account)[0].over(now)


def describe_item(item) -> str:
    """One queued absence or window as the owner reads it."""
    if item.kind == "window":
        return f"window {item.spec}"
    from autoresponder import schedule as sch

    return sch.Absence(wall(item.start_local), wall(item.end_local)).describe()


def timeline(account, now: float, days: int = 60) -> "dict":
    """What `vacation show` tells: the answer now and the next change, in the account's zone."""
    sched, sources = build(account)
    occ = sched.in_force(now)
    nxt = sched.next_change(now, horizon=400 * 86400)
    out = {"timezone": account.zone_name(), "now": _occ_view(occ, sources, account),
           "next_change": show(nxt, account) if nxt is not None else None,
           "next": None}
    if nxt is not None:
        out["next"] = _occ_view(sched.in_force(nxt), sources, account)
    return out


def _occ_view(occ, sources, account) -> "dict | None":
    if occ is None:
        return None
    src = sources[occ.index]
    return {
        "item": src.id if src is not None else None,
        "what": occ.item.describe() if src is None or src.kind == "absence"
        else f"window {occ.item.describe()}",
        "from": show(occ.starts_at, account) if occ.starts_at is not None else None,
        "until": show(occ.ends_at, account) if occ.ends_at is not None else None,
    }


# --- whom ------------------------------------------------------------------------------------

def domains(text: "str | None") -> "list[str]":
    """The stored comma-separated internal_domains of an account."""
    return [d for d in (text or "").split(",") if d]


def audience_of(account, config):
    from autoresponder.audience import Audience

    return Audience(account.addresses(), getattr(config, "internal_domains", ()) or (),
                    domains(account.internal_domains))


# --- the plan of one reply -------------------------------------------------------------------

class Plan:
    """How an account answers one message now: which occurrence (None: no schedule), its
    source item, the audience, the content, the handle, the floor and the From address.

    The audience (internal or external sender) is worked out when something asks for it:
    the content when the account or the answering item has a reply for outsiders, else only
    ``explain`` (describe, as_dict). Delivery for an account without one loads no audience
    code and normalises no domains."""

    __slots__ = ("occurrence", "source", "_audience", "_audience_why", "_who",
                 "external_content", "content", "handle", "series", "floor", "reply_from",
                 "zone")

    @property
    def audience(self) -> str:
        """The sender as audience.Audience reads it: "internal" or "external"."""
        self._classify()
        return self._audience

    @property
    def audience_why(self) -> "str | None":
        """The internal domain entry the sender matched; None for an external sender."""
        self._classify()
        return self._audience_why

    def _classify(self) -> None:
        if self._audience is None:
            account, config, sender = self._who
            why = audience_of(account, config).why_internal(sender)
            self._audience, self._audience_why = ("internal", why) if why else ("external",
                                                                                None)

    def describe(self) -> str:
        parts = []
        occ = self.occurrence
        if occ is not None:
            what = occ.item.describe()
            if self.source is not None and self.source.kind == "window":
                what = f"window {what}, this occurrence"
            tail = []
            if occ.starts_at is not None:
                tail.append(f"from {_show_zone(occ.starts_at, self.zone)}")
            if occ.ends_at is not None:
                tail.append(f"until {_show_zone(occ.ends_at, self.zone)}")
            parts.append(f"{what} ({' '.join(tail) or 'open'}; zone {self.zone})")
        who = (f"internal sender ({self.audience_why})" if self.audience == "internal"
               else "external sender")
        parts.append(who + ("; the reply for outsiders" if self.external_content else ""))
        parts.append(f"from {self.reply_from}")
        parts.append(f"handle {self.handle}")
        if self.floor:
            parts.append(f"one reply per sender per {self.floor // 3600} h across this "
                         f"window's occurrences")
        return "; ".join(parts)

    def as_dict(self) -> dict:
        occ = self.occurrence
        return {
            "item": self.source.id if self.source is not None else None,
            "what": occ.item.describe() if occ is not None else None,
            "from": iso_utc(occ.starts_at) if occ is not None and occ.starts_at else None,
            "until": iso_utc(occ.ends_at) if occ is not None and occ.ends_at else None,
            "timezone": self.zone,
            "audience": self.audience, "internal_match": self.audience_why,
            "external_content": self.external_content,
            "subject": self.content["subject"], "template": self.content["template"],
            "reply_from": self.reply_from, "handle": self.handle, "floor": self.floor,
        }


def _show_zone(at: float, zone_name: str) -> str:
    from autoresponder import schedule as sch

    return sch.show(at, sch.get_zone(zone_name))


def plan(account, config, envelope, message, now: float) -> Plan:
    p = Plan()
    p.zone = account.zone_name()
    p.occurrence = p.source = None
    p.handle, p.series, p.floor = account.handle, "", 0
    if account.scheduled():
        sched, sources = build(account)
        occ = sched.in_force(now)
        if occ is not None:
            p.occurrence, p.source = occ, sources[occ.index]
            if p.source is not None:
                p.handle = f"{account.handle}/{occ.handle_key}"
                if p.source.kind == "window":
                    p.series = f"{account.handle}/{occ.series_key}@"
                    p.floor = min(effective_interval(account, config), FLOOR)
    p._audience = p._audience_why = None
    p._who = (account, config, envelope.sender)
    src = p.source
    content = {k: _pick(src, account, k) for k in _CONTENT}
    p.external_content = False
    ext = {k: _pick(src, account, "external_" + k) for k in _CONTENT}
    if any(v is not None for v in ext.values()) and p.audience == "external":
        p.external_content = True
        content = {k: ext[k] if ext[k] is not None else content[k] for k in _CONTENT}
    content["template"] = content["template"] or "default"
    p.content = content
    p.reply_from = from_address(account, envelope, message, config)
    return p


def _pick(src, account, name: str):
    v = getattr(src, name, None) if src is not None else None
    return v if v is not None else getattr(account, name)


def from_address(account, envelope, message, config) -> str:
    """The reply's From: the account's address (default), the own address the message was
    sent to (``addressed``), or the one given own address. Never one not the account's."""
    how = account.reply_from or "account"
    own = account.addresses()
    if how == "account":
        return account.address
    if how == "addressed":
        from autoresponder import addresses
        from autoresponder.groupmail import RECIPIENT_FIELDS

        delims = config.recipient_delimiter
        ours = {a: a for a in own}
        for name in RECIPIENT_FIELDS:
            for v in message.get_all(name) if message is not None else ():
                for a in addresses.find_addresses(v):
                    hit = ours.get(addresses.strip_detail(a, delims))
                    if hit:
                        return hit
        for a in (envelope.original_recipient, envelope.recipient):
            if a in ours:
                return a
        return account.address
    return how if how in own else account.address


def effective(account, p: Plan):
    """The account as this reply sees it: the content, dates and handle of the answering
    occurrence and audience, the From address chosen, the account's zone (what render,
    the render memo and reply.build read)."""
    from autoresponder.store.base import Account

    values = {n: getattr(account, n) for n in Account.__slots__}
    values.update(p.content)
    occ = p.occurrence
    if occ is not None:
        values["start_at"] = iso_utc(occ.starts_at) if occ.starts_at is not None else None
        values["end_at"] = iso_utc(occ.ends_at) if occ.ends_at is not None else None
    values["handle"] = p.handle + ("/external" if p.external_content else "")
    values["reply_from"] = p.reply_from
    values["timezone"] = p.zone
    return Account(**values)
