"""The VacationResponse's `absences` and `windows` (extra properties): the account's queued
absences and weekly windows (the store's schedule items) as JMAP objects, and a new list of
them turned into what the store keeps, drops and adds.

Setting a list replaces the whole list. An entry whose "id" names one of the account's items
of that kind keeps that item, and with it its key (the reply's handle: senders it answered
are not answered again), when what it says is the same as stored; properties the entry leaves
out are the item's. An entry without "id", or whose properties changed, becomes a new item
with a new key. Dates and windows are read by the CLI's code (schedule.Absence,
schedule.parse_window/format_window), so the API and `vacation add-absence/add-window` accept
and refuse the same things.
"""

from __future__ import annotations


from autoresponder.http.jmapvalues import SetError, invalid, localdate, parse_localdate, \
    template, text
from autoresponder.schedadmin import MAX_ITEMS
from autoresponder.store.base import new_item_key, same_content

# JMAP property -> schedule item field, for the reply content an item may carry
CONTENT = (("subject", "subject"), ("textBody", "message"), ("template", "template"),
           ("externalSubject", "external_subject"), ("externalTextBody", "external_message"),
           ("externalTemplate", "external_template"))
ABSENCE = ("id", "localFromDate", "localToDate", *(p for p, _ in CONTENT))
WINDOW = ("id", "spec", *(p for p, _ in CONTENT))
KINDS = {"absences": ("absence", ABSENCE), "windows": ("window", WINDOW)}
FIELDS = ("start_local", "end_local", "spec", *(f for _, f in CONTENT))  # compared to keep


def to_jmap(item) -> dict:
    """One schedule item as an Absence or a Window object."""
    obj: dict = {"id": str(item.id)}
    if item.kind == "absence":
        obj["localFromDate"] = localdate(item.start_local)
        obj["localToDate"] = localdate(item.end_local)
    else:
        obj["spec"] = item.spec
    for prop, field in CONTENT:
        obj[prop] = getattr(item, field)
    return obj


def listed(account, prop: str) -> list:
    """The account's items of one kind (`prop` "absences" or "windows"), oldest first."""
    kind = KINDS[prop][0]
    return [to_jmap(i) for i in (account.items if account else ()) if i.kind == kind]


def plan(account, patch: dict, max_body: int, templates) -> "list[dict] | None":
    """What save_vacation's `items` takes for the patch's absences/windows: every item the
    account keeps ({"id": N}) and every new one (its fields and a fresh key), or None when
    the patch sets neither list. SetError when any entry is refused."""
    if "absences" not in patch and "windows" not in patch:
        return None
    out: "list[dict]" = []
    for prop, (kind, allowed) in KINDS.items():
        mine = [i for i in (account.items if account else ()) if i.kind == kind]
        if prop not in patch:
            out.extend({"id": i.id} for i in mine)
            continue
        value = patch[prop]
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise invalid(prop, f"expected a list of at most {MAX_ITEMS} "
                          f"{'Absence' if kind == 'absence' else 'Window'} objects")
        by_id = {str(i.id): i for i in mine}
        seen: "set[str]" = set()
        for n, entry in enumerate(value):
            where = f"{prop}[{n}]"
            if not isinstance(entry, dict):
                raise invalid(where, "expected an object")
            unknown = sorted(k for k in entry if k not in allowed)
            if unknown:
                raise invalid(where, f"unknown properties {', '.join(unknown)[:200]} "
                              f"(an entry has {', '.join(allowed)})")
            base = {}
            ident = entry.get("id")
            if ident is not None:
                if not isinstance(ident, str) or ident not in by_id:
                    raise invalid(f"{where}.id", f"{str(ident)[:40]!r} is not the id of one "
                                  f"of this account's {prop} (leave id out for a new one)")
                if ident in seen:
                    raise invalid(f"{where}.id", f"{ident!r} is listed twice")
                seen.add(ident)
                base = to_jmap(by_id[ident])
                if all(base[k] == v for k, v in entry.items()):  # as it is: kept as it is
                    out.append({"id": by_id[ident].id})
                    continue
            fields = _fields(kind, {**base, **entry}, where, max_body, templates)
            old = by_id.get(ident) if ident is not None else None
            if old is not None and all(same_content(f, getattr(old, f), fields[f])
                                       for f in FIELDS):
                out.append({"id": old.id})
            else:
                fields.update(kind=kind, key=new_item_key(kind))
                out.append(fields)
    return out


def _fields(kind: str, obj: dict, where: str, max_body: int, templates) -> dict:
    from autoresponder import schedule as sch

    fields: dict = {"start_local": None, "end_local": None, "spec": None}
    if kind == "absence":
        for prop, field in (("localFromDate", "start_local"), ("localToDate", "end_local")):
            v = obj.get(prop)
            if v is None:
                continue
            if not isinstance(v, str):
                raise invalid(f"{where}.{prop}", "expected a LocalDate or null")
            try:
                fields[field] = parse_localdate(v)
            except ValueError as e:
                raise invalid(f"{where}.{prop}", str(e)) from None
        if fields["start_local"] is None:  # as `vacation add-absence --start` and the page
            raise invalid(f"{where}.localFromDate", "an absence needs its start (an "
                          "open-ended one is the account's own fromDate/toDate)")
        try:  # the CLI's check (an end before the start)
            from datetime import datetime

            sch.Absence(*(datetime.fromisoformat(fields[f]) if fields[f] else None
                          for f in ("start_local", "end_local")))
        except sch.ScheduleError as e:
            raise invalid(f"{where}.localToDate", str(e)) from None
    else:
        spec = obj.get("spec")
        if not isinstance(spec, str):
            raise invalid(f"{where}.spec", "expected the window's text, e.g. "
                          "\"Fri 14:00 - Mon 08:00\" or \"Mon-Fri 12:00-13:00\"")
        try:
            fields["spec"] = sch.format_window(sch.parse_window(spec))
        except sch.ScheduleError as e:
            raise invalid(f"{where}.spec", str(e)) from None
    for prop, field in CONTENT:
        p = f"{where}.{prop}"
        v = obj.get(prop)
        if prop in ("template", "externalTemplate"):
            fields[field] = template(v, p, templates)
        else:
            one_line = prop in ("subject", "externalSubject")
            fields[field] = text(v, p, 998 if one_line else max_body, one_line)
    return fields


__all__ = ["ABSENCE", "WINDOW", "SetError", "listed", "plan", "to_jmap"]
