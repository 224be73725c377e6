"""The web pages' aiohttp application: security headers, sessions, CSRF, sign-in, and the
two pages (``owner``: out of office; ``editor``: reply templates).

Mounted as a sub-application of the HTTP API's app (``serve --http``), under ``/web/``, so
its middlewares (the Content-Security-Policy, the CSRF check) apply to the pages only.
Store calls are synchronous and run in worker threads, one store per call, like the API's.
"""

from __future__ import annotations

import asyncio
import os

import jinja2
from aiohttp import web

from autoresponder.web import i18n, sessions

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_FORM = 512 * 1024  # the largest form a page posts (a template source and its fields)

# Scripts only from our own files (no inline script, no eval), styles only from our own
# files, nothing embeddable elsewhere, forms and fetches only back to us.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")

CONFIG = web.AppKey("config", object)
AUTH = web.AppKey("auth", object)
SESSIONS = web.AppKey("sessions", sessions.Sessions)
JINJA = web.AppKey("jinja", jinja2.Environment)
STORE_CALL = web.AppKey("store_call", object)
_RequestKey = getattr(web, "RequestKey", None)  # aiohttp >= 3.12; plain strings before
SESSION = _RequestKey("session", object) if _RequestKey else "session"
LANG = _RequestKey("lang", str) if _RequestKey else "lang"

# The sessions of this process: kept across a reload of the app (serve's SIGHUP rebuilds it
# in the same process), lost when the process ends (everyone signs in again).
_SESSIONS = sessions.Sessions()


def build(config, auth, store_call=None,
          session_store: "sessions.Sessions | None" = None) -> web.Application:
    """The pages' application. `auth` checks passwords and tokens (web.auth.ApiAuth);
    `store_call(fn)` awaits fn(store) on the API's store thread (default: a store of its own
    per call, in a worker thread)."""
    from autoresponder.web import editor, owner

    app = web.Application(middlewares=[_security_headers, _session_and_csrf],
                          client_max_size=MAX_FORM)
    app[CONFIG] = config
    app[AUTH] = auth
    app[STORE_CALL] = store_call or (lambda work: in_store(config, work))
    app[SESSIONS] = session_store or _SESSIONS
    app[JINJA] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)
    app.router.add_get("/", home, name="home")
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login_password, name="login_password")
    app.router.add_post("/login/token", login_token, name="login_token")
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_get("/lang/{lang}", switch_language, name="lang")
    owner.routes(app)
    editor.routes(app)
    app.router.add_static("/static/", os.path.join(HERE, "static"), name="static",
                          append_version=True)
    return app


# --- middlewares -------------------------------------------------------------------------

@web.middleware
async def _security_headers(request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects and error pages get the headers too
        _harden(request, e.headers)
        raise
    _harden(request, response.headers)
    return response


def _harden(request, h) -> None:
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our own
    # form posts, and the Origin check could not tell them from a foreign page's
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if not request.path.startswith(_static_prefix(request)):
        h.setdefault("Cache-Control", "no-store")
    if secure(request):
        h.setdefault("Strict-Transport-Security", "max-age=31536000")


def _static_prefix(request) -> str:
    return str(request.app.router["static"].url_for(filename="x"))[:-1]


PUBLIC_POSTS = {"login_password", "login_token"}


@web.middleware
async def _session_and_csrf(request, handler):
    """Attach the session (request[SESSION], or None) and the page language; refuse a
    POST whose CSRF token is missing or wrong, and a cross-site POST (Origin)."""
    secure_now = secure(request)
    sid = request.cookies.get(sessions.cookie_name(secure_now))
    session = request.app[SESSIONS].get(sid)
    request[SESSION] = session
    request[LANG] = i18n.pick(request.cookies.get(i18n.COOKIE),
                                request.headers.get("Accept-Language", ""))
    if request.method == "POST":
        origin = request.headers.get("Origin")
        if origin and not _our_origin(request, origin):
            return _csrf_refused(request)
        name = request.match_info.route.name
        key = session.sid if session is not None else None
        if name in PUBLIC_POSTS:
            key = request.cookies.get(sessions.cookie_name(secure_now, "ar_pre"))
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in ("application/x-www-form-urlencoded",
                                                      "multipart/form-data"):
            given = (await request.post()).get("csrf")
        if not sessions.csrf_ok(key, given if isinstance(given, str) else None):
            return _csrf_refused(request)
    return await handler(request)


def _our_origin(request, origin: str) -> bool:
    """Does a post's Origin name this site: the Host it was sent to, or http.public_url's
    (a reverse proxy that does not pass the Host on)? A browser sends "null" for an opaque
    origin (a sandboxed frame, a data: page): that is never ours."""
    host = origin.split("://", 1)[-1].rstrip("/").lower()
    if host == request.host.lower():
        return True
    public = getattr(getattr(request.app[CONFIG], "http", None), "public_url", "") or ""
    return bool(public) and host == public.split("://", 1)[-1].split("/", 1)[0].lower()


def _csrf_refused(request):
    words = i18n.Words(request[LANG])
    if request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"error": words("csrf_failed")}, status=403)
    return page(request, "message.html", {"message": words("csrf_failed")}, status=403)


# --- helpers the pages share -------------------------------------------------------------

def secure(request) -> bool:
    """Cookies are Secure unless the page is reached on a loopback name over plain HTTP."""
    if request.secure:
        return True
    return not sessions.loopback_host(request.host)


def url(request, name: str, **parts) -> str:
    query = parts.pop("query", None)
    u = request.app.router[name].url_for(**parts)
    if query:
        u = u.with_query(query)
    return str(u)


def page(request, template: str, context: dict, status: int = 200) -> web.Response:
    session = request.get(SESSION)
    words = i18n.Words(request.get(LANG, "en"))
    env = request.app[JINJA]
    html = env.get_template(template).render(
        t=words, lang=words.lang, session=session, who=session.who if session else None,
        csrf=session.csrf if session else "", url=lambda n, **kw: url(request, n, **kw),
        static=lambda f: url(request, "static", filename=f), path=request.path_qs,
        **{"flash": "", "flash_problem": status >= 400, **context})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def need(request, admin: bool = False):
    """The session, or a redirect to sign-in; 403 page for an owner on an admin page."""
    session = request.get(SESSION)
    if session is None:
        raise web.HTTPSeeOther(url(request, "login"))
    if admin and not session.who.admin:
        raise web.HTTPForbidden(text=page(request, "message.html", {
            "message": i18n.Words(request[LANG])("need_admin")}).text,
            content_type="text/html")
    return session


async def store_call(request, work):
    """Await work(store) on the pages' store (the API's store thread when mounted)."""
    return await request.app[STORE_CALL](work)


async def in_store(config, work, readonly: bool = False):
    """Run work(store) in a worker thread with a store of its own."""
    def run():
        from autoresponder.store import open_store

        store = open_store(config, readonly=readonly, create=not readonly)
        try:
            return work(store)
        finally:
            store.close()

    return await asyncio.to_thread(run)


# --- sign-in -------------------------------------------------------------------------------

async def home(request):
    session = request[SESSION]
    if session is None:
        raise web.HTTPSeeOther(url(request, "login"))
    if session.who.address:
        raise web.HTTPSeeOther(url(request, "away"))
    raise web.HTTPSeeOther(url(request, "templates"))


def _login_form(request, status: int = 200, error: "str | None" = None, address: str = ""):
    import secrets

    secure_now = secure(request)
    name = sessions.cookie_name(secure_now, "ar_pre")
    pre = request.cookies.get(name)
    fresh = not pre or len(pre) < 32
    if fresh:
        pre = secrets.token_urlsafe(32)
    request[SESSION] = None
    words = i18n.Words(request[LANG])
    flash = words("signed_out") if request.query.get("bye") and not error else ""
    resp = page(request, "login.html", {"login_csrf": sessions.csrf_token(pre),
                                        "error": error, "address": address, "flash": flash},
                status)
    if fresh:
        sessions.set_cookie(resp, name, pre, secure_now, max_age=3600)
    return resp


async def login_page(request):
    if request[SESSION] is not None:
        raise web.HTTPSeeOther(url(request, "home"))
    return _login_form(request)


async def _signed_in(request, who: sessions.Who):
    old = request[SESSION]
    if old is not None:  # a new id at every sign-in (no session fixation)
        request.app[SESSIONS].drop(old.sid)
    s = request.app[SESSIONS].create(who)
    resp = web.HTTPSeeOther(url(request, "away" if who.address else "templates"))
    secure_now = secure(request)
    sessions.set_cookie(resp, sessions.cookie_name(secure_now), s.sid, secure_now,
                        max_age=sessions.LIFETIME)
    sessions.clear_cookie(resp, sessions.cookie_name(secure_now, "ar_pre"), secure_now)
    return resp


async def login_password(request):
    form = await request.post()
    address = str(form.get("address", ""))[:320].strip()
    password = str(form.get("password", ""))[:1024]
    words = i18n.Words(request[LANG])
    from autoresponder.web.auth import Refused

    try:
        who = await request.app[AUTH].password(request, address, password)
    except Refused as e:
        return _login_form(request, e.status, words(e.key), address)
    raise await _signed_in(request, who)


async def login_token(request):
    form = await request.post()
    token = str(form.get("token", ""))[:1024].strip()
    words = i18n.Words(request[LANG])
    from autoresponder.web.auth import Refused

    try:
        who = await request.app[AUTH].token(request, token)
    except Refused as e:
        return _login_form(request, e.status, words(e.key))
    raise await _signed_in(request, who)


async def logout(request):
    session = request[SESSION]
    if session is not None:
        request.app[SESSIONS].drop(session.sid)
    secure_now = secure(request)
    resp = web.HTTPSeeOther(url(request, "login", query={"bye": "1"}))
    sessions.clear_cookie(resp, sessions.cookie_name(secure_now), secure_now)
    raise resp


async def switch_language(request):
    lang = request.match_info["lang"]
    if lang not in i18n.LANGUAGES:
        raise web.HTTPNotFound()
    target = request.query.get("next", "")
    prefix = url(request, "home")
    if not target.startswith(prefix) or target.startswith("//") or "\\" in target:
        target = prefix  # only our own pages: no open redirect
    resp = web.HTTPSeeOther(target)
    resp.set_cookie(i18n.COOKIE, lang, path="/", max_age=365 * 86400, samesite="Strict",
                    secure=secure(request), httponly=True)
    raise resp
