"""The out-of-office page: a mailbox owner's own settings, a live preview of the reply, and
who got it lately. Every handler works on the signed-in owner's account only: no address is
taken from the URL or the form, so editing either cannot reach another account."""

from __future__ import annotations

import asyncio
import re
import time

from aiohttp import web

from autoresponder.web import i18n, localtime
from autoresponder.web.app import CONFIG, LANG, SESSION, need, page, store_call, url

HISTORY_ROWS = 20


def routes(app: web.Application) -> None:
    app.router.add_get("/away", show, name="away")
    app.router.add_post("/away", save, name="away_save")
    app.router.add_post("/away/preview", preview, name="away_preview")
    app.router.add_post("/away/forget", forget, name="away_forget")


# --- the form (ownerform holds the reading) -----------------------------------------------

def note_text(words, note: "dict | None") -> str:
    if not note:
        return ""
    if note["through_day"]:
        return words("note_through", **note)
    return words({"gap": "note_gap", "twice": "note_twice"}.get(note["kind"], "note_plain"),
                 **note)


def error_text(words, value: str) -> str:
    """A field error for people: a message key, or "key:detail" (the detail is the parser's
    own words, e.g. what a window's text lacks), or a text from the API's mapping."""
    key, _, detail = value.partition(":")
    if detail and key in ("bad_domain", "bad_window", "api"):
        return words(key, detail=detail)
    return words(value)


def _template_names(config) -> "list[str]":
    from autoresponder.render import list_templates

    return sorted({t[0] for t in list_templates(config) if t[2] == "txt"})


# --- handlers ------------------------------------------------------------------------------

def _owner(request):
    session = need(request)
    if not session.who.address:
        words = i18n.Words(request[LANG])
        raise web.HTTPForbidden(text=page(request, "message.html", {
            "message": words("no_account_admin")}).text, content_type="text/html")
    return session.who.address


async def _load(request, address: str):
    config = request.app[CONFIG]

    def work(store):
        acct = store.find_account(address)
        rows = store.history(address, HISTORY_ROWS) if acct is not None else []
        if acct is not None:
            acct.default_zone = config.timezone or "UTC"  # what delivery reads it with
        return acct, rows

    return await store_call(request, work)


class _Changed(Exception):
    """The account changed since the page was loaded (another browser, the API)."""


def zone_names() -> "list[str]":
    """The IANA zones the zone field suggests (zoneinfo's list, read once)."""
    global _ZONES
    if _ZONES is None:
        from zoneinfo import available_timezones

        _ZONES = sorted(z for z in available_timezones()
                        if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/",
                                                          "right/")) or z == "UTC")
    return _ZONES


_ZONES: "list[str] | None" = None


def _timing(acct, now: float) -> dict:
    """Whether the reply is in force now and when that changes, in the account's zone."""
    out = {"in_force": False, "next_change": None}
    if acct is None:
        return out
    try:
        out["in_force"] = acct.active_at(now) is None
        if acct.enabled and acct.scheduled():
            from autoresponder import answer

            out["next_change"] = answer.timeline(acct, now)["next_change"]
    except ValueError:  # a stored zone or item that no longer reads: the page still opens
        pass
    return out


def _render(request, acct, rows, form: dict, errors: dict, notes: dict, status: int = 200,
            flash: str = ""):
    from autoresponder.derived import effective_interval
    from autoresponder.durations import format_duration
    from autoresponder.http.vacation import state
    from autoresponder.schedule import show as show_instant
    from autoresponder.web.ownerform import blank_row, group_mail_default

    config = request.app[CONFIG]
    words = i18n.Words(request[LANG])
    zname, zone = localtime.zone_of(acct, config)
    history = [{"sender": h.sender, "when": show_instant(h.sent_at, zone),
                "status": h.status} for h in rows]
    address = request[SESSION].who.address
    aliases = list(getattr(acct, "aliases", None) or ())
    blanks = {kind: blank_row(kind, max([r["n"] for r in form[kind + "s"]], default=-1) + 1)
              for kind in ("absence", "window")}
    return page(request, "owner.html", {
        "address": address, "aliases": aliases, "form": form,
        "errors": {k: error_text(words, v) for k, v in errors.items()},
        "state": state(acct),
        "notes": {k: note_text(words, v) for k, v in notes.items()},
        "zone": zname, "default_zone": config.timezone or "UTC", "zones": zone_names(),
        "stored": acct is not None, **_timing(acct, time.time()),
        "default_interval": format_duration(int(config.interval)), "history": history,
        "flash": flash, "templates": _template_names(config), "blanks": blanks,
        "group_default": group_mail_default(config),
        "effective": format_duration(effective_interval(acct, config)) if acct else "",
    }, status)


async def show(request):
    from autoresponder.web.ownerform import form_from_account, notes

    address = _owner(request)
    config = request.app[CONFIG]
    acct, rows = await _load(request, address)
    form = form_from_account(acct, config)
    _zname, zone = localtime.zone_of(acct, config)
    words = i18n.Words(request[LANG])
    flash = ""
    if request.query.get("saved"):
        flash = words("saved")
    elif request.query.get("forgot"):
        flash = words("forgotten", sender=request.query["forgot"][:320])
    return _render(request, acct, rows, form, {}, notes(form, zone), flash=flash)


# the API's properties -> the form's fields, for an error from vacation.plan
_FIELD_OF = {"fromDate": "start", "toDate": "end", "localFromDate": "start",
             "localToDate": "end", "subject": "subject", "textBody": "message",
             "interval": "interval", "language": "language", "template": "template",
             "timeZone": "timezone", "internalDomains": "internal_domains",
             "external": "external", "externalSubject": "external_subject",
             "externalTextBody": "external_message", "externalTemplate": "external_template",
             "replyFrom": "reply_from", "answerGroupMail": "group_mail",
             "absences": "absences", "windows": "windows"}


_ITEM_FIELD_OF = {"id": "id", "localFromDate": "start", "localToDate": "end", "spec": "spec",
                  "subject": "subject", "textBody": "message", "template": "template",
                  "externalSubject": "external_subject",
                  "externalTextBody": "external_message",
                  "externalTemplate": "external_template"}
_ITEM_PROP = re.compile(r"(absences|windows)\[(\d+)\](?:\.(\w+))?")


def _api_errors(e, rd) -> dict:
    """Field errors for a SetError of the API's mapping (the page checks first, so this is
    the rare case the two disagree): the description beside each property's field, an
    entry of a list ("absences[2].spec") beside that row's field."""
    out = {}
    for prop in e.properties or ["subject"]:
        m = _ITEM_PROP.fullmatch(prop)
        if m:
            kind, at, sub = m.group(1), int(m.group(2)), m.group(3)
            rows = rd.rows.get(kind, [])
            field = (f"{kind[:-1]}-{rows[at]}-{_ITEM_FIELD_OF.get(sub or '', 'id')}"
                     if at < len(rows) and sub in _ITEM_FIELD_OF else kind)
        else:
            field = _FIELD_OF.get(prop.split("/", 1)[0], "subject")
        out[field] = "api:" + e.description
    return out


async def save(request):
    """Store the form through the API's own mapping (http.vacation.plan) and transaction
    (save_vacation), refused when the account changed since the page was loaded."""
    from autoresponder.http import vacation
    from autoresponder.web.ownerform import read_form

    address = _owner(request)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    acct, rows = await _load(request, address)
    names = _template_names(config)
    rd = read_form(post, acct, config, names)
    if rd.errors:
        return _render(request, acct, rows, rd.form, rd.errors, rd.notes, status=422,
                       flash=words("not_saved"))
    try:
        planned = vacation.plan(acct, rd.patch, True, config, set(names), address=address)
    except vacation.SetError as e:
        return _render(request, acct, rows, rd.form, _api_errors(e, rd), rd.notes,
                       status=422, flash=words("not_saved"))
    expected = str(post.get("state", ""))

    def check(old):
        if vacation.state(old) != expected:
            raise _Changed()

    def work(store):
        return store.save_vacation(address, planned.changes, planned.aliases,
                                   planned.enabled, time.time(), check, items=planned.items)

    try:
        await store_call(request, work)
    except _Changed:
        return _render(request, acct, rows, rd.form, {}, rd.notes, status=409,
                       flash=words("away_changed"))
    except ValueError as e:  # the store's own check (an end not after the start)
        return _render(request, acct, rows, rd.form, {"end": "api:" + str(e)}, rd.notes,
                       status=422, flash=words("not_saved"))
    raise web.HTTPSeeOther(url(request, "away", query={"saved": "1"}))


async def preview(request):
    """JSON for the live preview: the reply for the settings as typed (not saved), to the
    sample sender, as delivery would send it at the chosen moment (now, or when a listed
    absence or window is in force), or why that sender would get none."""
    from autoresponder.web.ownerform import read_form

    address = _owner(request)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    acct = (await _load(request, address))[0]
    rd = read_form(post, acct, config, _template_names(config))
    sender = str(post.get("sample_sender", "")).strip()[:320] or "sender@example.org"
    sent_to = str(post.get("sample_to", "")).strip()[:320]
    item = rd.where.get(str(post.get("sample_when", "now"))[:40])
    body = {"notes": {k: note_text(words, v) for k, v in rd.notes.items()},
            "errors": {k: error_text(words, v) for k, v in rd.errors.items()},
            "zone": rd.zone_name}
    values = dict(rd.values)
    for k in ("start", "end"):
        if k in rd.errors:
            values.pop(f"{k}_at", None)
            values.pop(f"{k}_local", None)

    def work():
        from autoresponder.replytext import TemplateError
        from autoresponder.web import preview as pv

        draft = pv.draft_account(address, values, acct, rd.items, config)
        try:
            out = pv.build(config, draft, sender, sent_to=sent_to, item=item)
        except TemplateError as e:
            return {"error": f"{words('preview_failed')} {e}"}
        except ValueError:
            return {"error": f"{words('sample_sender')}: {words('bad_sender')}"}
        out["situation"] = situation_text(words, out["situation"], draft, rd, sender)
        return out

    body.update(await asyncio.to_thread(work))  # rendering never waits on the store
    return web.json_response(body)


def situation_text(words, s: dict, draft, rd, sender: str) -> str:
    """What the preview stands for, in words: when, which reply answers then, and how this
    sender counts (colleague or outsider) and what that gives."""
    from autoresponder.schedule import get_zone, show as show_instant

    when = show_instant(s["at"], get_zone(s["zone"]))
    if s["item"] is not None:
        n = next((k for k, v in rd.where.items() if v == s["item"]), "")
        kind, _, idx = n.partition("-")
        row = next((r for r in rd.form[kind + "s"] if str(r["n"]) == idx), None)
        which = (words("which_window", spec=draft.items[s["item"]].spec) if kind == "window"
                 else words("which_absence", number=(rd.form["absences"].index(row) + 1
                                                     if row in rd.form["absences"] else "")))
    else:
        which = words("which_main")
    if s["audience"] == "internal":
        who = words("sample_internal", sender=sender, why=s["why"])
    else:
        who = words("sample_external", sender=sender)
    if s["no_reply"]:
        gets = words("gets_no_reply")
    elif s["external_content"]:
        gets = words("gets_outsider_reply")
    else:
        gets = words("gets_reply", address=s["from"])
    if not s["answering"]:
        return words("situation_idle", when=when, who=who, gets=gets)
    return words("situation", when=when, which=which, who=who, gets=gets)


async def forget(request):
    address = _owner(request)
    post = await request.post()
    from autoresponder import addresses

    sender = addresses.normalize(str(post.get("sender", ""))[:320])
    if not sender:
        raise web.HTTPSeeOther(url(request, "away"))
    await store_call(request, lambda store: store.forget(address, sender))
    raise web.HTTPSeeOther(url(request, "away", query={"forgot": sender}))
