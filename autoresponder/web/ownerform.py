"""The out-of-office form: what the page shows for a stored account, and a posted form read
back into (a) field errors the page shows beside their fields, (b) the draft the live preview
renders and (c) the JMAP patch that saving hands to the API's own mapping (``vacation.plan``).

Everything the owner sets is one form, saved as one patch: the main dates and reply, the
account's time zone, who counts as a colleague and what outsiders get, the reply's From,
group mail, and the lists of queued absences and weekly windows. A list row is named
``absence-N-field`` / ``window-N-field``; a row carries the id of the stored item it shows,
and a blank row at the end adds one. A row whose "remove" box is ticked is left out of the
list saved (the API's rule: the list sent replaces the stored one).

Nothing here is an address from the form: the account is always the signed-in owner's, and
an item id that is not one of that account's own items is a field error (nothing saved).
"""

from __future__ import annotations

import re

from autoresponder.web import i18n, localtime

MAX_SUBJECT = 250
MAX_MESSAGE = 20_000
MAX_ITEMS = 50          # per list, as the API's bound
MAX_DOMAINS = 100
CONTENT = ("subject", "message", "template", "external_subject", "external_message",
           "external_template")
# our content field -> the API's property (on the account and on an item)
JMAP_CONTENT = {"subject": "subject", "message": "textBody", "template": "template",
                "external_subject": "externalSubject", "external_message": "externalTextBody",
                "external_template": "externalTemplate"}
ABSENCE_DATES = ("start_date", "start_time", "end_date", "end_time")
_ROW = re.compile(r"(absence|window)-(\d{1,3})-([a-z_]+)\Z")


class Reading:
    """A posted form, read: ``form`` (as typed, to show back), ``values`` (the draft
    account's settings), ``items`` (the draft's schedule items, as store dicts), ``patch``
    (the JMAP update), ``where`` ({"absence-N": index in items}), ``rows`` ({"absences":
    the row number of each entry of the patch's list}), ``errors`` ({field: message key or
    text}), ``notes`` ({field: note})."""

    __slots__ = ("form", "values", "items", "where", "rows", "patch", "errors", "notes",
                 "zone_name", "zone")


# --- shown: a stored account as the form's fields ---------------------------------------------

def _content_of(obj) -> dict:
    return {k: (getattr(obj, k, None) or "") for k in CONTENT}


def absence_row(item) -> dict:
    sd, st = localtime.from_wall(item.start_local, end=False)
    ed, et = localtime.from_wall(item.end_local, end=True)
    return {"id": str(item.id), "start_date": sd, "start_time": st, "end_date": ed,
            "end_time": et, "remove": False, **_content_of(item)}


def window_row(item) -> dict:
    return {"id": str(item.id), "spec": show_spec(item.spec), "remove": False,
            **_content_of(item)}


def show_spec(spec: "str | None") -> str:
    """A stored window as `schedule.format_window` prints it (the stored text if unreadable)."""
    from autoresponder.schedule import ScheduleError, format_window, parse_window

    try:
        return format_window(parse_window(spec or ""))
    except ScheduleError:
        return spec or ""


def group_mail_default(config) -> bool:
    return bool(config.rules.answer_group_mail)


def form_from_account(acct, config) -> dict:
    """The form's fields for a stored account (or the defaults for none)."""
    from autoresponder.durations import format_duration

    f = {"enabled": False, "start_date": "", "start_time": "", "end_date": "",
         "end_time": "", "subject": "", "message": "", "language": "", "interval": "",
         "template": "default", "timezone": "", "internal_domains": "", "external": "reply",
         "external_subject": "", "external_message": "", "external_template": "",
         "reply_from": "account", "group_mail": group_mail_default(config),
         "absences": [], "windows": []}
    if acct is None:
        return f
    _name, zone = localtime.zone_of(acct, config)
    # wall-clock times as typed, where the store keeps them; else the UTC instant, read there
    sl, el = acct.start_local, acct.end_local
    sd, st = (localtime.from_wall(sl, end=False) if sl
              else localtime.from_utc(acct.start_at, zone, end=False))
    ed, et = (localtime.from_wall(el, end=True) if el
              else localtime.from_utc(acct.end_at, zone, end=True))
    f.update({
        "enabled": bool(acct.enabled), "start_date": sd, "start_time": st, "end_date": ed,
        "end_time": et, "subject": acct.subject or "", "message": acct.message or "",
        "language": acct.language or "",
        "interval": (format_duration(acct.interval_seconds)
                     if acct.interval_seconds is not None else ""),
        "template": acct.template or "default", "timezone": acct.timezone or "",
        "internal_domains": ", ".join(d for d in (acct.internal_domains or "").split(",") if d),
        "external": "none" if acct.external == "none" else "reply",
        "external_subject": acct.external_subject or "",
        "external_message": acct.external_message or "",
        "external_template": acct.external_template or "",
        "reply_from": acct.reply_from or "account",
        "group_mail": (group_mail_default(config) if acct.answer_group_mail is None
                       else bool(acct.answer_group_mail)),
        "absences": [dict(absence_row(i), n=n) for n, i in
                     enumerate(i for i in acct.items if i.kind == "absence")],
        "windows": [dict(window_row(i), n=n) for n, i in
                    enumerate(i for i in acct.items if i.kind == "window")],
    })
    return f


def blank_row(kind: str, n: int = 0) -> dict:
    row = {"id": "", "remove": False, "n": n, **{k: "" for k in CONTENT}}
    if kind == "absence":
        row.update({k: "" for k in ABSENCE_DATES})
    else:
        row["spec"] = ""
    return row


# --- read: a posted form ----------------------------------------------------------------------

def _one_line(text: str) -> str:
    return " ".join(text.split())


def _message(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _rows(post, kind: str) -> "tuple[list[dict], bool]":
    """The posted rows of one list, in index order (True when there are too many)."""
    found: dict = {}
    for key in post.keys():
        m = _ROW.match(key)
        if m and m.group(1) == kind:
            found.setdefault(int(m.group(2)), {})[m.group(3)] = str(post.get(key, ""))
    rows = []
    for n, at in enumerate(sorted(found)[:MAX_ITEMS + 2]):  # numbered again from 0
        raw = found[at]
        row = blank_row(kind)
        for k in row:
            if k == "remove":
                row[k] = raw.get(k) in ("on", "1", "true")
            elif k in raw:
                row[k] = raw[k]
        row["message"] = _message(row["message"])
        row["external_message"] = _message(row["external_message"])
        row["n"] = n
        rows.append(row)
    return rows, len(found) > MAX_ITEMS + 1


def _empty(row: dict) -> bool:
    return not any(v for k, v in row.items() if k not in ("n", "remove", "id"))


def _check_zone(text: str):
    """(zone name or None, error key or None) for the typed zone (empty: the config's)."""
    from autoresponder.schedadmin import AdminError, check_zone

    name = text.strip()
    if not name:
        return None, None
    try:
        return check_zone(name, "timeZone"), None
    except AdminError:
        return None, "bad_zone"


def _domains(text: str) -> "tuple[list[str], str | None]":
    from autoresponder.audience import normalize_pattern

    out = []
    for entry in re.split(r"[\s,;]+", text.strip()):
        if not entry:
            continue
        try:
            out.append(normalize_pattern(entry))
        except ValueError:
            return [], "bad_domain:" + entry[:100]
    if len(out) > MAX_DOMAINS:
        return [], "too_many_domains"
    return sorted(set(out)), None


def _content(row: dict, prefix: str, errors: dict, template_names, own: bool) -> dict:
    """The reply content of the account (own=True) or of one item, as store values; None for
    "empty: the account's" (an item) or "the default" (the account)."""
    out = {}
    for k in ("subject", "external_subject"):
        v = _one_line(row.get(k, ""))
        if len(v) > MAX_SUBJECT:
            errors[prefix + k] = "too_long"
        out[k] = v or None
    for k in ("message", "external_message"):
        v = row.get(k, "")
        if len(v) > MAX_MESSAGE:
            errors[prefix + k] = "too_long"
        out[k] = (v.strip("\n") if own else v) or None
    for k in ("template", "external_template"):
        v = row.get(k, "")
        if v and v not in template_names and not (own and k == "template"):
            errors[prefix + k] = "bad_template"
        out[k] = v or None
    return out


def read_form(post, acct, config, template_names) -> Reading:
    """Read a posted form against the stored account `acct` (None: none yet)."""
    from autoresponder.durations import DurationError, parse_duration

    r = Reading()
    errors: dict = {}
    f = {k: str(post.get(k, "")) for k in (
        "start_date", "start_time", "end_date", "end_time", "subject", "message", "language",
        "interval", "template", "timezone", "internal_domains", "external",
        "external_subject", "external_message", "external_template", "reply_from")}
    f["enabled"] = post.get("enabled") in ("on", "1", "true")
    f["group_mail"] = post.get("group_mail") in ("on", "1", "true")
    f["message"] = _message(f["message"])
    f["external_message"] = _message(f["external_message"])

    # the zone first: every date on the form is wall-clock there
    zname, zerr = _check_zone(f["timezone"])
    if zerr:
        errors["timezone"] = zerr
        r.zone_name, r.zone = localtime.zone_of(acct, config)
    else:
        r.zone_name, r.zone = localtime.zone_of(_Zoned(zname), config)
    values: dict = {"timezone": zname if not zerr else getattr(acct, "timezone", None)}
    for key, end in (("start", False), ("end", True)):
        try:
            values[f"{key}_at"] = localtime.to_utc(f[f"{key}_date"], f[f"{key}_time"], r.zone,
                                                   end, key)
            values[f"{key}_local"] = localtime.to_wall(f[f"{key}_date"], f[f"{key}_time"],
                                                       end, key)
        except localtime.FieldError as e:
            errors[key] = e.key
    if values.get("start_local") and values.get("end_local") and \
            values["end_local"] <= values["start_local"]:
        errors["end"] = "end_before_start"

    content = _content(f, "", errors, template_names, own=True)
    if content["template"] not in template_names:  # as stored (the API names it if gone)
        content["template"] = getattr(acct, "template", None) or "default"
    values.update(content)
    values["language"] = f["language"] if f["language"] in i18n.LANGUAGES else None
    if f["interval"].strip():
        try:
            values["interval_seconds"] = parse_duration(f["interval"])
        except DurationError:
            errors["interval"] = "bad_interval"
    else:
        values["interval_seconds"] = None

    domains, derr = _domains(f["internal_domains"])
    if derr:
        errors["internal_domains"] = derr
    values["internal_domains"] = ",".join(domains) or None
    if f["external"] not in ("reply", "none"):
        f["external"] = "reply"
    values["external"] = "none" if f["external"] == "none" else None

    own = [getattr(acct, "address", None), *(getattr(acct, "aliases", None) or ())]
    rf = f["reply_from"].strip() or "account"
    if rf not in ("account", "addressed") and rf not in own[1:]:
        errors["reply_from"] = "bad_reply_from"
        rf = "account"
    f["reply_from"] = rf
    values["reply_from"] = None if rf == "account" else rf
    stored_group = getattr(acct, "answer_group_mail", None)
    keep_default = stored_group is None and f["group_mail"] == group_mail_default(config)
    values["answer_group_mail"] = stored_group if keep_default else f["group_mail"]

    items, jmap_items, where = [], {"absences": [], "windows": []}, {}
    r.rows = {"absences": [], "windows": []}
    stored = {(i.kind, str(i.id)): i for i in (getattr(acct, "items", None) or ())}
    for kind in ("absence", "window"):
        rows, too_many = _rows(post, kind)
        f[kind + "s"] = [row for row in rows if not _empty(row) or row["id"]]
        kept = 0
        for row in rows:
            prefix = f"{kind}-{row['n']}-"
            if row["id"] and (kind, row["id"]) not in stored:
                errors[prefix + "id"] = "unknown_item"
                continue
            if row["remove"] or (_empty(row) and not row["id"]):
                continue
            kept += 1
            item = _read_item(kind, row, prefix, errors, template_names)
            if item is None:
                continue
            old = stored.get((kind, row["id"]))
            if old is not None and _unchanged(kind, old, row):
                item = {k: getattr(old, k) for k in old.__slots__}
            else:
                item["key"] = old.key if old is not None else f"draft{len(items)}"
            where[f"{kind}-{row['n']}"] = len(items)
            items.append(item)
            jmap_items[kind + "s"].append(_jmap_item(kind, item, row["id"] or None))
            r.rows[kind + "s"].append(row["n"])
        if too_many or kept > MAX_ITEMS:
            errors[kind + "s"] = "too_many_items"
    r.items, r.where = items, where

    r.patch = {
        "isEnabled": f["enabled"], "timeZone": values["timezone"],
        "localFromDate": _local_date(values.get("start_local")),
        "localToDate": _local_date(values.get("end_local")),
        "subject": values["subject"], "textBody": values["message"],
        "interval": values.get("interval_seconds"), "language": values["language"],
        "template": values["template"],
        "internalDomains": domains or None, "external": f["external"],
        "externalSubject": values["external_subject"],
        "externalTextBody": values["external_message"],
        "externalTemplate": values["external_template"],
        "replyFrom": rf, **jmap_items,
    }
    if not keep_default:
        r.patch["answerGroupMail"] = f["group_mail"]
    r.form, r.values, r.errors = f, values, errors
    r.notes = notes(f, r.zone)
    return r


class _Zoned:
    """Stands for an account with the typed zone, for localtime.zone_of."""

    def __init__(self, name):
        self.timezone = name


def _local_date(wall: "str | None") -> "str | None":
    return wall + ":00" if wall else None


def _read_item(kind: str, row: dict, prefix: str, errors: dict, template_names) -> "dict | None":
    """One row as the store's item fields (without id and key), or None with the errors set."""
    from autoresponder.schedule import ScheduleError

    item = {"kind": kind, "start_local": None, "end_local": None, "spec": None}
    before = len(errors)
    item.update(_content(row, prefix, errors, template_names, own=False))
    if kind == "absence":
        if not row["start_date"].strip():
            errors[prefix + "start"] = "absence_needs_start"
        for key, end in (("start", False), ("end", True)):
            try:
                item[f"{key}_local"] = localtime.to_wall(row[f"{key}_date"], row[f"{key}_time"],
                                                         end, key)
            except localtime.FieldError as e:
                errors[prefix + key] = e.key
        if item["start_local"] and item["end_local"] and \
                item["end_local"] <= item["start_local"]:
            errors[prefix + "end"] = "end_before_start"
    else:
        from autoresponder.schedule import format_window, parse_window

        if not row["spec"].strip():
            errors[prefix + "spec"] = "window_needs_text"
        else:
            try:
                item["spec"] = format_window(parse_window(row["spec"]))
            except ScheduleError as e:
                errors[prefix + "spec"] = "bad_window:" + str(e)
    return item if len(errors) == before else None


def _unchanged(kind: str, old, row: dict) -> bool:
    """Does the posted row show the stored item as the page showed it (nothing edited)?"""
    shown = absence_row(old) if kind == "absence" else window_row(old)
    for k, v in shown.items():
        if k in ("id", "remove"):
            continue
        posted = row.get(k, "")
        if k in ("subject", "external_subject"):
            v, posted = _one_line(v), _one_line(posted)
        if k == "spec":
            posted = show_spec(posted)
        if (v or "") != (posted or ""):
            return False
    return True


def _jmap_item(kind: str, item: dict, item_id: "str | None") -> dict:
    out: dict = {"id": item_id} if item_id else {}
    if kind == "absence":
        out["localFromDate"] = _local_date(item["start_local"])
        out["localToDate"] = _local_date(item["end_local"])
    else:
        out["spec"] = item["spec"]
    for k, prop in JMAP_CONTENT.items():
        out[prop] = item.get(k)
    return out


def notes(f: dict, zone) -> dict:
    """The local-time notes beside every date on the form (main dates and absences)."""
    out = {"start": localtime.note(f["start_date"], f["start_time"], zone, False),
           "end": localtime.note(f["end_date"], f["end_time"], zone, True)}
    for row in f.get("absences", ()):
        n = row.get("n", None)
        if n is None:
            continue
        for key, end in (("start", False), ("end", True)):
            out[f"absence-{n}-{key}"] = localtime.note(row[f"{key}_date"], row[f"{key}_time"],
                                                       zone, end)
    return out
