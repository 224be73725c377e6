"""The admin side of issue 13: reading the owner's times in the account's zone, and the
``vacation`` options and commands for zones, queued absences, weekly windows, audiences, the
From address and group mail (argparse side, and the views ``vacation list/show`` print)."""

import sys
import time

from autoresponder.outcomes import Exit as exits
from autoresponder.store.base import new_item_key

REPLY_FROM = "account, addressed, or one of the account's own addresses"
MAX_ITEMS = 50  # queued absences, and weekly windows, per account (each; the API's bound too)


class AdminError(ValueError):
    """A bad option value; the text names the option and what was expected."""


# --- zones and wall-clock times ----------------------------------------------------------------

def check_zone(name: str, option: str = "--timezone") -> str:
    """An IANA zone name that zoneinfo knows (what delivery reads times with), or AdminError."""
    from autoresponder.schedule import ScheduleError, get_zone

    try:
        get_zone(name)
    except ScheduleError as e:
        raise AdminError(f"{option}: {e}") from None
    return name


def read_wall(config, text: str, zone_name: str, end: bool, option: str):
    """What the owner typed as a naive wall-clock time in `zone_name`: 2027-03-28,
    2027-03-28 09:00, 28/03/2027 9h (schedule.parse_wall), or anything dates.parse_when
    reads (tomorrow 9am, now, an explicit offset), turned into the zone's wall clock. A date
    alone means the start of that day, or for an end the start of the next."""
    from autoresponder import schedule as sch

    if not ("/" in text and not config.dayfirst):
        try:
            return sch.parse_wall(text.strip(), end=end)
        except sch.ScheduleError:
            pass
    from autoresponder.dates import DateError, parse_when

    try:
        at = parse_when(text, zone_name, config.dayfirst, end=end)
    except DateError as e:
        raise AdminError(f"{option}: {e}") from None
    wall = sch.local_time(at.timestamp(), sch.get_zone(zone_name))
    return wall.replace(second=0, microsecond=0)


def utc_of(wall, zone_name: str) -> str:
    """The stored UTC text of a wall-clock time in a zone (the first instant it happens)."""
    from autoresponder import schedule as sch
    from autoresponder.derived import iso_utc

    return iso_utc(sch.instant(wall, sch.get_zone(zone_name)))


def show_wall(text: "str | None", zone_name: str) -> str:
    """A stored wall-clock time for people, with the zone's abbreviation then: 2027-03-28
    09:00 WEST."""
    if not text:
        return "-"
    from autoresponder import answer, schedule as sch

    return sch.show(sch.instant(answer.wall(text), sch.get_zone(zone_name)),
                    sch.get_zone(zone_name))


# --- vacation enable: the new options ----------------------------------------------------------

def add_enable_options(en) -> None:
    import argparse

    en.add_argument("--timezone", metavar="ZONE",
                    help="the account's IANA zone (e.g. Europe/Lisbon): start, end, absences "
                         "and windows are wall-clock times there; 'none': the config's")
    en.add_argument("--internal-domain", action="append", metavar="DOMAIN",
                    help="a sender domain that counts as internal besides the account's own "
                         "(.example.com: its subdomains; repeatable; replaces the list; "
                         "'none' clears it)")
    en.add_argument("--external", choices=("reply", "none"),
                    help="outsiders get a reply (reply, the default) or none (answer "
                         "colleagues only)")
    en.add_argument("--external-subject", metavar="T", help="subject for outsiders")
    en.add_argument("--external-message", metavar="T", help="message for outsiders")
    en.add_argument("--external-template", metavar="NAME", help="template for outsiders")
    en.add_argument("--reply-from", metavar="account|addressed|ADDRESS",
                    help="the reply's From: the account's address (default), the own address "
                         "the message was sent to, or one given own address")
    en.add_argument("--answer-group-mail", action=argparse.BooleanOptionalAction,
                    default=None,
                    help="answer mail that names none of the account's addresses in "
                         "To/Cc/Bcc/Resent-* (group or list addresses, Bcc); default: the "
                         "config's rules.answer_group_mail")


def content_options(p) -> None:
    """--subject/--message/--template and their outsider variants, for an absence or window."""
    p.add_argument("--subject", help="reply subject (default: the account's)")
    msg = p.add_mutually_exclusive_group()
    msg.add_argument("--message", help="the message (default: the account's)")
    msg.add_argument("--message-file", metavar="FILE", help="read the message from FILE")
    p.add_argument("--template", metavar="NAME", help="template (default: the account's)")
    p.add_argument("--external-subject", metavar="T", help="subject for outsiders")
    p.add_argument("--external-message", metavar="T", help="message for outsiders")
    p.add_argument("--external-template", metavar="NAME", help="template for outsiders")


def enable_changes(args, config, old, address: str) -> dict:
    """The issue-13 settings `vacation enable` was given, plus the dates (wall-clock in the
    account's zone, and their UTC), as store changes. `old`: the stored account or None."""
    changes: dict = {}
    zone_changed = False
    if args.timezone is not None:
        if args.timezone.strip().lower() in ("none", ""):
            changes["timezone"] = None
        else:
            changes["timezone"] = check_zone(args.timezone.strip())
        zone_changed = True
    zone = (changes["timezone"] if "timezone" in changes
            else (old.timezone if old is not None else None)) or config.timezone
    fresh = old is None or not old.enabled
    for which, given in (("start", args.start), ("end", args.end)):
        if given is not None:
            if given.strip().lower() in ("none", ""):
                changes[f"{which}_local"] = changes[f"{which}_at"] = None
            else:
                wall = read_wall(config, given, zone, which == "end", f"--{which}")
                changes[f"{which}_local"] = wall.strftime("%Y-%m-%dT%H:%M")
                changes[f"{which}_at"] = utc_of(wall, zone)
        elif zone_changed and old is not None and not fresh:
            # the same wall-clock times, read in the new zone
            from autoresponder import answer

            w = answer.wall(getattr(old, f"{which}_local"))
            if w is None and getattr(old, f"{which}_at"):
                w = answer._legacy(getattr(old, f"{which}_at"),
                                   _zone(old.timezone or config.timezone))
            if w is not None:
                changes[f"{which}_local"] = w.strftime("%Y-%m-%dT%H:%M")
                changes[f"{which}_at"] = utc_of(w, zone)
    if args.internal_domain is not None:
        if [d.strip().lower() for d in args.internal_domain] in (["none"], [""]):
            changes["internal_domains"] = None
        else:
            changes["internal_domains"] = join_domains(args.internal_domain)
    if args.external is not None:
        changes["external"] = None if args.external == "reply" else "none"
    for k in ("external_subject", "external_message", "external_template"):
        v = getattr(args, k)
        if v is not None:
            changes[k] = (" ".join(v.split()) if k == "external_subject" else v) or None
    if args.reply_from is not None:
        changes["reply_from"] = reply_from(args.reply_from, address, args, old, config)
    if args.answer_group_mail is not None:
        changes["answer_group_mail"] = args.answer_group_mail
    return changes


def _zone(name: str):
    from autoresponder.schedule import get_zone

    return get_zone(name)


def join_domains(entries, option: str = "--internal-domain") -> "str | None":
    """internal_domains as stored: the entries normalised (audience.normalize_pattern),
    unique, sorted and comma-separated; None for none. AdminError naming the bad entry."""
    from autoresponder.audience import normalize_pattern

    try:
        pats = sorted({normalize_pattern(d) for d in entries})
    except ValueError as e:
        raise AdminError(f"{option}: {e}") from None
    return ",".join(pats) or None


def reply_from(value: str, address: str, args, old, config) -> "str | None":
    """--reply-from as stored: None (the account's address), 'addressed', or one of the
    account's own addresses (its address or an alias, after this command's --alias)."""
    from autoresponder import addresses

    if args.alias is not None:
        own = [addresses.normalize(a) for a in args.alias]
    else:
        own = list(old.aliases) if old is not None else []
    return own_reply_from(value, address, own, config, "--reply-from",
                          "add it with --alias first")


def own_reply_from(value: str, address: "str | None", aliases, config,
                   option: str = "--reply-from",
                   hint: str = "add it as an alias first") -> "str | None":
    """A reply_from value as stored: None (the account's address), 'addressed', or one of
    the account's own addresses (`address` or one of `aliases`); AdminError for any other
    address: a reply never comes from an address that is not the account's. The one check
    behind the CLI's --reply-from and the API's replyFrom."""
    from autoresponder import addresses

    v = value.strip()
    if v.lower() in ("account", "none", ""):
        return None
    if v.lower() == "addressed":
        return "addressed"
    n = addresses.normalize(v)
    if not n:
        raise AdminError(f"{option} {value!r}: expected {REPLY_FROM}")
    n = addresses.strip_detail(n, config.recipient_delimiter)
    own = [a for a in (address, *aliases) if a]
    if n not in own:
        whose = f"{address}'s" if address else "the account's"
        raise AdminError(f"{option} {n}: not one of {whose} own addresses "
                         f"({', '.join(own) or 'none yet'}); a reply never comes from an "
                         f"address that is not the account's ({hint})")
    return None if n == address else n


def check_template(config, name: "str | None", option: str) -> None:
    if name is None:
        return
    from autoresponder.render import list_templates

    names = {t[0] for t in list_templates(config)}
    if name not in names:
        raise AdminError(f"{option}: no template named {name!r} (have: "
                         f"{', '.join(sorted(names))})")


# --- add-absence, add-window, remove-* ----------------------------------------------------------

def add_commands(vs) -> None:
    ab = vs.add_parser("add-absence", help="queue an absence with its own dates and reply")
    ab.add_argument("address")
    ab.add_argument("--start", metavar="WHEN", required=True,
                    help="when it starts (wall-clock in the account's zone)")
    ab.add_argument("--end", metavar="WHEN",
                    help="when it ends (a date alone: through that day; default: open)")
    content_options(ab)
    ab.set_defaults(func=add_absence)
    aw = vs.add_parser("add-window", help="add a weekly window (e.g. 'Fri 14:00 - Mon 08:00', "
                                          "'Mon-Fri 12:00-13:00 until 2027-06-30')")
    aw.add_argument("address")
    aw.add_argument("window", help="the window, in the syntax of docs/schedule.md")
    content_options(aw)
    aw.set_defaults(func=add_window)
    for kind in ("absence", "window"):
        r = vs.add_parser(f"remove-{kind}", help=f"remove a queued {kind} (its number in "
                                                 f"`vacation show`)")
        r.add_argument("address")
        r.add_argument("id", type=int, metavar="ID")
        r.set_defaults(func=remove_item, kind=kind)


def _content(args, config) -> dict:
    fields = {}
    if args.subject is not None:
        fields["subject"] = " ".join(args.subject.split()) or None
    if args.message is not None:
        fields["message"] = args.message
    if args.message_file is not None:
        with open(args.message_file, encoding="utf-8") as f:
            fields["message"] = f.read()
    for opt in ("template", "external_template"):
        check_template(config, getattr(args, opt), "--" + opt.replace("_", "-"))
        if getattr(args, opt) is not None:
            fields[opt] = getattr(args, opt)
    if args.external_subject is not None:
        fields["external_subject"] = " ".join(args.external_subject.split()) or None
    if args.external_message is not None:
        fields["external_message"] = args.external_message
    return fields


def _fail(text: str, code: int = exits.DATAERR) -> int:
    print(f"autoresponder: {text}", file=sys.stderr)
    return code


def _find(config, address_text: str):
    from autoresponder import accounts
    from autoresponder.admin import _store

    address = accounts.normalize_account(address_text, config)
    with _store(config) as store:
        acct = store.find_account(address)
    if acct is None:
        raise AdminError(f"{address} has no vacation set up: `vacation enable {address}` "
                         f"first")
    acct.default_zone = config.timezone
    return acct


def _room(acct, kind: str) -> None:
    if sum(1 for i in acct.items if i.kind == kind) >= MAX_ITEMS:
        raise AdminError(f"{acct.address} has {MAX_ITEMS} {kind}s already, the most it may "
                         f"have: remove one first (remove-{kind})")


def add_absence(args, config) -> int:
    from autoresponder.admin import _store
    from autoresponder.schedule import Absence, ScheduleError

    try:
        acct = _find(config, args.address)
        _room(acct, "absence")
        zone = acct.zone_name()
        start = read_wall(config, args.start, zone, False, "--start")
        end = read_wall(config, args.end, zone, True, "--end") if args.end else None
        try:
            Absence(start, end)
        except ScheduleError as e:
            raise AdminError(str(e)) from None
        fields = _content(args, config)
    except (AdminError, ValueError) as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"{e.filename}: {e.strerror}")
    fields.update(kind="absence", key=new_item_key("absence"),
                  start_local=start.strftime("%Y-%m-%dT%H:%M"),
                  end_local=end.strftime("%Y-%m-%dT%H:%M") if end else None)
    with _store(config) as store:
        item = store.add_item(acct.address, fields, time.time())
    from autoresponder import answer

    print(f"{acct.address}: absence #{item.id} queued: {answer.describe_item(item)} "
          f"({zone})")
    return exits.OK


def add_window(args, config) -> int:
    from autoresponder.admin import _store
    from autoresponder.schedule import ScheduleError, format_window, parse_window

    try:
        acct = _find(config, args.address)
        _room(acct, "window")
        try:
            spec = format_window(parse_window(args.window))
        except ScheduleError as e:
            raise AdminError(str(e)) from None
        fields = _content(args, config)
    except (AdminError, ValueError) as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"{e.filename}: {e.strerror}")
    fields.update(kind="window", key=new_item_key("window"), spec=spec)
    with _store(config) as store:
        item = store.add_item(acct.address, fields, time.time())
    print(f"{acct.address}: window #{item.id} added: {spec} ({acct.zone_name()})")
    return exits.OK


def remove_item(args, config) -> int:
    from autoresponder.admin import _store

    try:
        acct = _find(config, args.address)
    except (AdminError, ValueError) as e:
        return _fail(str(e))
    mine = [i for i in acct.items if i.id == args.id and i.kind == args.kind]
    if not mine:
        have = ", ".join(f"#{i.id}" for i in acct.items if i.kind == args.kind) or "none"
        return _fail(f"{acct.address} has no {args.kind} #{args.id} (its {args.kind}s: {have})")
    with _store(config) as store:
        store.remove_item(acct.address, args.id)
    print(f"{acct.address}: {args.kind} #{args.id} removed")
    return exits.OK


# --- what list and show print ------------------------------------------------------------

def view(account, config, now: float) -> dict:
    """The issue-13 part of an account's view: its zone, times in it, the answer now and the
    next change, its absences and windows, audience, From and group-mail settings."""
    from autoresponder import answer

    account.default_zone = config.timezone
    zone = account.zone_name()
    out = {"zone": zone}
    if account.start_local or account.end_local or not account.start_at and not account.end_at:
        out["start_local"] = show_wall(account.start_local, zone)
        out["end_local"] = show_wall(account.end_local, zone)
    else:
        from autoresponder.dates import show

        out["start_local"] = show(account.start_at, zone)
        out["end_local"] = show(account.end_at, zone)
    t = answer.timeline(account, now) if account.enabled else None
    out["answering"] = t["now"] if t else None
    out["next_change"] = t["next_change"] if t else None
    out["next"] = t["next"] if t else None
    out["absences"] = [{"id": i.id, "what": answer.describe_item(i), "subject": i.subject,
                        "template": i.template}
                       for i in account.items if i.kind == "absence"]
    out["windows"] = [{"id": i.id, "what": i.spec, "subject": i.subject,
                       "template": i.template}
                      for i in account.items if i.kind == "window"]
    aud = answer.audience_of(account, config)
    out["internal_domains"] = sorted(aud.exact) + list(aud.parents)
    out["outsiders"] = ("no reply (colleagues only)" if account.external == "none" else
                        "their own reply" if any((account.external_subject,
                                                  account.external_message,
                                                  account.external_template)) else
                        "the same reply")
    rf = account.reply_from
    out["reply_from_shown"] = ("the account's address" if not rf else
                               "the address the message was sent to" if rf == "addressed"
                               else rf)
    g = account.answer_group_mail
    out["group_mail"] = ("answered" if (g if g is not None else
                                        config.rules.answer_group_mail) else "no reply") + \
        ("" if g is not None else " (config default)")
    return out


def print_view(v: dict, row: dict) -> None:
    print(f"  zone:      {v['zone']}")
    ans = v["answering"]
    if ans is not None:
        print(f"  answering: {ans['what']}" + (f" (#{ans['item']})" if ans["item"] else ""))
    if v["next_change"]:
        nxt = v["next"]
        what = f"{nxt['what']}" + (f" (#{nxt['item']})" if nxt and nxt["item"] else "") \
            if nxt else "nothing answers"
        print(f"  next:      {v['next_change']}: {what}")
    for a in v["absences"]:
        extra = f", subject {a['subject']!r}" if a["subject"] else ""
        print(f"  absence #{a['id']}: {a['what']}{extra}")
    for w in v["windows"]:
        extra = f", subject {w['subject']!r}" if w["subject"] else ""
        print(f"  window #{w['id']}:  {w['what']}{extra}")
    print(f"  internal:  {', '.join(v['internal_domains']) or '-'}")
    print(f"  outsiders: {v['outsiders']}")
    if row.get("external_subject"):
        print(f"    subject: {row['external_subject']}")
    if row.get("external_template"):
        print(f"    template: {row['external_template']}")
    print(f"  reply from: {v['reply_from_shown']}")
    print(f"  group mail: {v['group_mail']}")
