"""The out-of-office page: a mailbox owner's own settings, a live preview of the reply, and
who got it lately. Every handler works on the signed-in owner's account only: no address is
taken from the URL or the form, so editing either cannot reach another account."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from autoresponder.web import i18n, localtime
from autoresponder.web.app import CONFIG, LANG, SESSION, need, page, store_call, url

MAX_SUBJECT = 250
MAX_MESSAGE = 20_000
HISTORY_ROWS = 20


def routes(app: web.Application) -> None:
    app.router.add_get("/away", show, name="away")
    app.router.add_post("/away", save, name="away_save")
    app.router.add_post("/away/preview", preview, name="away_preview")
    app.router.add_post("/away/forget", forget, name="away_forget")


# --- the form ------------------------------------------------------------------------------

def form_from_account(acct, config) -> dict:
    """The form's fields for a stored account (or the defaults for none)."""
    from autoresponder.durations import format_duration

    _name, zone = localtime.zone_of(acct, config)
    if acct is None:
        return {"enabled": False, "start_date": "", "start_time": "", "end_date": "",
                "end_time": "", "subject": "", "message": "", "language": "",
                "interval": "", "template": "default"}
    # wall-clock times as typed, where the store keeps them (per-account zones); else UTC
    sl, el = getattr(acct, "start_local", None), getattr(acct, "end_local", None)
    sd, st = (localtime.from_wall(sl, end=False) if sl
              else localtime.from_utc(acct.start_at, zone, end=False))
    ed, et = (localtime.from_wall(el, end=True) if el
              else localtime.from_utc(acct.end_at, zone, end=True))
    return {"enabled": bool(acct.enabled), "start_date": sd, "start_time": st,
            "end_date": ed, "end_time": et, "subject": acct.subject or "",
            "message": acct.message or "", "language": acct.language or "",
            "interval": (format_duration(acct.interval_seconds)
                         if acct.interval_seconds is not None else ""),
            "template": acct.template or "default"}


def read_form(post, acct, config, template_names) -> "tuple[dict, dict, dict, dict]":
    """(fields as typed, settings to store, errors {field: message key}, notes {start, end})
    from a posted form."""
    from autoresponder.durations import DurationError, parse_duration

    f = {k: str(post.get(k, "")) for k in (
        "start_date", "start_time", "end_date", "end_time", "subject", "message", "language",
        "interval", "template")}
    f["enabled"] = post.get("enabled") in ("on", "1", "true")
    f["message"] = f["message"].replace("\r\n", "\n")
    _zname, zone = localtime.zone_of(acct, config)
    errors: dict = {}
    values: dict = {}
    for key, end in (("start", False), ("end", True)):
        try:
            values[f"{key}_at"] = localtime.to_utc(f[f"{key}_date"], f[f"{key}_time"], zone,
                                                   end, key)
        except localtime.FieldError as e:
            errors[key] = e.key
    if values.get("start_at") and values.get("end_at") and \
            values["end_at"] <= values["start_at"]:
        errors["end"] = "end_before_start"
    subject = " ".join(f["subject"].split())
    if len(subject) > MAX_SUBJECT:
        errors["subject"] = "too_long"
    values["subject"] = subject or None
    if len(f["message"]) > MAX_MESSAGE:
        errors["message"] = "too_long"
    values["message"] = f["message"].strip("\n") or None
    values["language"] = f["language"] if f["language"] in i18n.LANGUAGES else None
    if f["interval"].strip():
        try:
            values["interval_seconds"] = parse_duration(f["interval"])
        except DurationError:
            errors["interval"] = "bad_interval"
    else:
        values["interval_seconds"] = None
    values["template"] = f["template"] if f["template"] in template_names else (
        getattr(acct, "template", None) or "default")
    notes = {"start": localtime.note(f["start_date"], f["start_time"], zone, False),
             "end": localtime.note(f["end_date"], f["end_time"], zone, True)}
    return f, values, errors, notes


def note_text(words, note: "dict | None") -> str:
    if not note:
        return ""
    if note["through_day"]:
        return words("note_through", **note)
    return words({"gap": "note_gap", "twice": "note_twice"}.get(note["kind"], "note_plain"),
                 **note)


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
    def work(store):
        acct = store.find_account(address)
        rows = store.history(address, HISTORY_ROWS) if acct is not None else []
        return acct, rows

    return await store_call(request, work)


class _Changed(Exception):
    """The account changed since the page was loaded (another browser, the API)."""


def _render(request, acct, rows, form: dict, errors: dict, notes: dict, status: int = 200,
            flash: str = ""):
    from autoresponder.derived import effective_interval
    from autoresponder.durations import format_duration
    from autoresponder.schedule import show as show_instant

    config = request.app[CONFIG]
    words = i18n.Words(request[LANG])
    zname, zone = localtime.zone_of(acct, config)
    in_force = acct is not None and acct.active_at(time.time()) is None
    default_interval = format_duration(int(config.interval))
    history = [{"sender": h.sender, "when": show_instant(h.sent_at, zone),
                "status": h.status} for h in rows]
    from autoresponder.http.vacation import state

    return page(request, "owner.html", {
        "address": request[SESSION].who.address, "form": form, "errors": errors,
        "state": state(acct),
        "notes": {k: note_text(words, v) for k, v in notes.items()},
        "zone": zname, "in_force": in_force, "stored": acct is not None,
        "default_interval": default_interval, "history": history, "flash": flash,
        "templates": _template_names(config),
        "effective": format_duration(effective_interval(acct, config)) if acct else "",
    }, status)


async def show(request):
    address = _owner(request)
    config = request.app[CONFIG]
    acct, rows = await _load(request, address)
    form = form_from_account(acct, config)
    _zname, zone = localtime.zone_of(acct, config)
    notes = {"start": localtime.note(form["start_date"], form["start_time"], zone, False),
             "end": localtime.note(form["end_date"], form["end_time"], zone, True)}
    words = i18n.Words(request[LANG])
    flash = ""
    if request.query.get("saved"):
        flash = words("saved")
    elif request.query.get("forgot"):
        flash = words("forgotten", sender=request.query["forgot"][:320])
    return _render(request, acct, rows, form, {}, notes, flash=flash)


async def save(request):
    """Store the form through the API's own mapping (http.vacation.plan) and transaction
    (save_vacation), refused when the account changed since the page was loaded."""
    from autoresponder.http import vacation

    address = _owner(request)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    acct, rows = await _load(request, address)
    names = _template_names(config)
    form, values, errors, notes = read_form(post, acct, config, names)
    if errors:
        return _render(request, acct, rows, form, errors, notes, status=422,
                       flash=words("not_saved"))
    patch = {"isEnabled": form["enabled"], "fromDate": values["start_at"],
             "toDate": values["end_at"], "subject": values["subject"],
             "textBody": values["message"], "interval": values["interval_seconds"],
             "language": values["language"], "template": values["template"]}
    try:
        changes, aliases, enabled = vacation.plan(acct, patch, True, config, set(names))
    except vacation.SetError as e:
        for prop in e.properties or ["subject"]:
            errors[_FIELD_OF.get(prop, "subject")] = e.description
        return _render(request, acct, rows, form, errors, notes, status=422,
                       flash=words("not_saved"))
    from autoresponder.store.base import FIELDS

    if "start_local" in FIELDS:  # a store that keeps the wall-clock times delivery reads
        changes["start_local"] = localtime.to_wall(form["start_date"], form["start_time"],
                                                   False, "start")
        changes["end_local"] = localtime.to_wall(form["end_date"], form["end_time"], True,
                                                 "end")
    expected = str(post.get("state", ""))

    def check(old):
        if vacation.state(old) != expected:
            raise _Changed()

    def work(store):
        return store.save_vacation(address, changes, aliases, enabled, time.time(), check)

    try:
        await store_call(request, work)
    except _Changed:
        return _render(request, acct, rows, form, errors, notes, status=409,
                       flash=words("away_changed"))
    except ValueError as e:  # the store's own check (an end not after the start)
        errors["end"] = str(e)
        return _render(request, acct, rows, form, errors, notes, status=422,
                       flash=words("not_saved"))
    raise web.HTTPSeeOther(url(request, "away", query={"saved": "1"}))


_FIELD_OF = {"fromDate": "start", "toDate": "end", "subject": "subject", "textBody": "message",
             "interval": "interval", "language": "language", "template": "template"}


async def preview(request):
    """JSON for the live preview: the reply for the settings as typed (not saved)."""
    address = _owner(request)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    acct = (await _load(request, address))[0]
    _form, values, errors, notes = read_form(post, acct, config, _template_names(config))
    sender = str(post.get("sample_sender", "")).strip()[:320] or "sender@example.org"
    body = {"notes": {k: note_text(words, v) for k, v in notes.items()},
            "errors": {k: words(v) for k, v in errors.items()}}
    for k in [k for k in errors if k in ("start", "end")]:
        values.pop(f"{k}_at", None)

    def work():
        from autoresponder.replytext import TemplateError
        from autoresponder.web import preview as pv

        draft = pv.draft_account(address, values, acct)
        try:
            return pv.build(config, draft, sender)
        except TemplateError as e:
            return {"error": f"{words('preview_failed')} {e}"}
        except ValueError:
            return {"error": f"{words('sample_sender')}: {words('bad_sender')}"}

    body.update(await asyncio.to_thread(work))  # rendering never waits on the store
    return web.json_response(body)


async def forget(request):
    address = _owner(request)
    post = await request.post()
    from autoresponder import addresses

    sender = addresses.normalize(str(post.get("sender", ""))[:320])
    if not sender:
        raise web.HTTPSeeOther(url(request, "away"))
    await store_call(request, lambda store: store.forget(address, sender))
    raise web.HTTPSeeOther(url(request, "away", query={"forgot": sender}))
