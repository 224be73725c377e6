"""The template page, for administrators: the templates with their languages and check
results; an editor with the check shown inline and a live preview for a chosen account;
saving refuses a template that fails the check, writes atomically and keeps the previous
version for one-click undo (autoresponder.web.templatefiles)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from autoresponder.web import i18n, templatefiles as tf
from autoresponder.web.app import CONFIG, LANG, need, page, store_call, url


def routes(app: web.Application) -> None:
    app.router.add_get("/templates", listing, name="templates")
    app.router.add_get("/templates/edit", edit, name="template_edit")
    app.router.add_post("/templates/check", check, name="template_check")
    app.router.add_post("/templates/save", save, name="template_save")
    app.router.add_post("/templates/undo", undo, name="template_undo")


async def listing(request):
    need(request, admin=True)
    config = request.app[CONFIG]
    words = i18n.Words(request[LANG])
    flash = ""
    if request.query.get("undone"):
        flash = words("undo_done", file=request.query["undone"][:100])
    items = await asyncio.to_thread(tf.listing, config)
    return page(request, "templates.html", {"items": items, "flash": flash,
                                            "editable": bool(config.templates)})


async def _accounts(request) -> "list[str]":
    return await store_call(request, lambda s: [a.address for a in s.list_accounts()][:500])


def _error_text(words, key: str, detail: str) -> str:
    text = words(key)
    return f"{text} {detail}" if detail and key not in ("check_failed",) else text


async def edit(request, source: "str | None" = None, problem: "dict | None" = None,
               flash: str = "", status: int = 200, base: "str | None" = None):
    need(request, admin=True)
    config = request.app[CONFIG]
    words = i18n.Words(request[LANG])
    filename = request.query.get("file", "") if source is None else \
        str((await request.post()).get("file", ""))
    try:
        tf.parse_name(filename)
        live, path = await asyncio.to_thread(tf.read, config, filename)
    except tf.EditError as e:
        raise web.HTTPNotFound(text=page(request, "message.html", {
            "message": _error_text(words, e.key, e.detail)}).text,
            content_type="text/html") from None
    if source is None:
        source = live
        problem = await asyncio.to_thread(tf.check_draft, config, filename, source)
        if request.query.get("saved"):
            flash = words("template_saved", file=filename)
    import os

    own = config.templates or ""
    return page(request, "template_edit.html", {
        "file": filename, "source": source, "problem": problem, "flash": flash,
        "base": base if base is not None else tf.digest(live), "file_path": path,
        "accounts": await _accounts(request), "editable": bool(own),
        "undo": bool(own) and os.path.isfile(os.path.join(own, filename + ".prev")),
    }, status)


async def check(request):
    """JSON for the editor: the check of the draft, and the reply it makes for an account."""
    need(request, admin=True)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    filename = str(post.get("file", ""))
    source = str(post.get("source", "")).replace("\r\n", "\n")
    account = str(post.get("account", "")).strip()
    try:
        name, lang, _ext = tf.parse_name(filename)
    except tf.EditError as e:
        return web.json_response({"error": _error_text(words, e.key, e.detail)}, status=400)
    problem = await asyncio.to_thread(tf.check_draft, config, filename, source)
    body: dict = {"problem": problem}
    if problem is None:
        body["problem_text"] = words("check_passes")
    else:
        body["problem_text"] = (words("check_line", line=problem["line"],
                                      message=problem["message"])
                                if problem["line"] else problem["message"])
    if problem is not None:
        body["error"] = words("preview_after_check")
    else:
        stored = await store_call(request, lambda s: s.find_account(account)) \
            if account else None
        body.update(await asyncio.to_thread(_preview, config, filename, source, name, lang,
                                            stored, words))
    return web.json_response(body)


def _preview(config, filename, source, name, lang, stored, words) -> dict:
    """The reply the draft makes for the stored account (else a sample one), in the
    draft's language."""
    from autoresponder.replytext import TemplateError
    from autoresponder.web import preview as pv

    with tf.with_draft(config, filename, source) as draft:
        # the account's main reply in this template: no queued absence or window, and no
        # outsiders' reply (the sample sender is an outsider) picks another template or none
        acct = pv.draft_account(stored.address if stored else "ana@example.com",
                                {"template": name, "language": lang, "external": None,
                                 "external_subject": None, "external_message": None,
                                 "external_template": None}, stored, [], config)
        if stored is None:
            acct.from_name, acct.message = "Ana Silva", "Back soon."
        try:
            return pv.build(draft, acct)
        except TemplateError as e:
            return {"error": f"{words('preview_failed')} {e}"}


async def save(request):
    need(request, admin=True)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    filename = str(post.get("file", ""))
    source = str(post.get("source", "")).replace("\r\n", "\n")
    base = str(post.get("base", ""))
    try:
        await asyncio.to_thread(tf.save, config, filename, source, base)
    except tf.EditError as e:
        problem = {"message": e.detail, "line": e.line} if e.key == "check_failed" else None
        return await edit(request, source=source, problem=problem, status=422, base=base,
                          flash=_error_text(words, e.key, e.detail))
    raise web.HTTPSeeOther(url(request, "template_edit", query={"file": filename,
                                                                "saved": "1"}))


async def undo(request):
    need(request, admin=True)
    config = request.app[CONFIG]
    post = await request.post()
    words = i18n.Words(request[LANG])
    filename = str(post.get("file", ""))
    try:
        await asyncio.to_thread(tf.undo, config, filename)
    except tf.EditError as e:
        return page(request, "message.html", {"message": _error_text(words, e.key, e.detail)},
                    status=409)
    raise web.HTTPSeeOther(url(request, "templates", query={"undone": filename}))
