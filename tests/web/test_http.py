"""The pages over HTTP, without a browser: the app `serve --http` runs (http.app.build_app)
on a loopback socket, signed in with tokens made as `token create` makes them. What a browser
would never send is sent here: posts without or with a wrong CSRF token, from another
origin, with a cookie kept after sign-out."""

from __future__ import annotations

import re
import time

import pytest
from aiohttp.test_utils import TestServer

from autoresponder import config as config_mod
from autoresponder.derived import iso_utc
from autoresponder.http import tokens
from autoresponder.store import open_store
from tests.web.client import PageClient

ANA = "ana@example.com"
BOB = "bob@example.com"


class Site:
    def __init__(self, tmp_path):
        tdir = tmp_path / "templates"
        tdir.mkdir()
        p = tmp_path / "ar.toml"
        p.write_text(f'database = "{tmp_path}/state/db.sqlite3"\ntemplates = "{tdir}"\n'
                     'timezone = "Europe/Lisbon"\n'
                     f'[log]\ntarget = "file"\npath = "{tmp_path}/log"\n'
                     f'[transport]\nkind = "file"\npath = "{tmp_path}/outbox"\n')
        self.config = config_mod.load(str(p))

    def store(self):
        return open_store(self.config, create=True)

    def token(self, account=None) -> str:
        text, row = tokens.make(account, "test", iso_utc(time.time()))
        with self.store() as s:
            s.token_add(row)
        return text


@pytest.fixture
async def served(tmp_path):
    from autoresponder.http.app import build_app

    site = Site(tmp_path)
    server = TestServer(build_app(site.config), host="127.0.0.1")
    await server.start_server()
    site.url = str(server.make_url("/web/"))
    try:
        yield site
    finally:
        await server.close()


async def signed_in(site, account=None, **kw) -> PageClient:
    c = PageClient(site.url, **kw)
    await c.sign_in_token(site.token(account))
    return c


async def test_every_page_has_a_strict_policy_and_no_inline_script(served):
    async with await signed_in(served, ANA) as c:
        for path in ("away", "login"):
            r = await c.get(path)
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self';" in csp and "unsafe" not in csp
            assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Cache-Control"] == "no-store"
            scripts = re.findall(r"<script\b[^>]*>", r.body)
            assert all(' src="' in s for s in scripts)
            assert " on" not in "".join(re.findall(r"<[^>]+>", r.body)).replace(
                " one", "")  # no onclick= and the like
        r = await c.get("static/owner.js")
        assert r.status == 200 and "javascript" in r.headers["Content-Type"]


async def test_cookies_are_httponly_strict_and_secure_off_loopback(served):
    async with PageClient(served.url) as c:
        r = await c.get("login")
        pre = r.cookies["ar_pre"]
        assert pre["httponly"] and pre["samesite"] == "Strict" and not pre["secure"]
    # reached by its public name (through a proxy): Secure, and __Host- so no subdomain or
    # plain-HTTP page can set or shadow it
    async with PageClient(served.url, headers={"Host": "mail.example.com"}) as c:
        r = await c.get("login")
        cookie = r.cookies["__Host-ar_pre"]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"]
        assert "max-age=31536000" in r.headers["Strict-Transport-Security"]


async def test_sign_in_needs_the_login_forms_token(served):
    async with PageClient(served.url) as c:
        r = await c.post("login/token", {"token": served.token(ANA)})
        assert r.status == 403 and "form expired" in r.body
        await c.get("login")  # the pre-session cookie alone is not enough either
        r = await c.post("login/token", {"token": served.token(ANA), "csrf": "forged"})
        assert r.status == 403


async def test_a_bad_token_is_refused_and_a_revoked_one_too(served):
    async with PageClient(served.url) as c:
        csrf = await c.csrf("login")
        r = await c.post("login/token", {"token": "ar_nope_nope", "csrf": csrf})
        assert r.status == 401 and "not a valid" in r.body


async def test_posts_need_the_sessions_own_token_and_our_origin(served):
    async with await signed_in(served, ANA) as ana, await signed_in(served, BOB) as bob:
        mine = await ana.hidden("away")
        bobs = await bob.hidden("away")
        form = {"enabled": "on", "message": "hello", "state": mine["state"]}
        assert (await ana.post("away", form)).status == 403
        assert (await ana.post("away", {**form, "csrf": bobs["csrf"]})).status == 403
        for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example"):
            r = await ana.post("away", {**form, "csrf": mine["csrf"]},
                               headers={"Origin": origin})
            assert r.status == 403, origin
        r = await ana.post("away/preview", {"csrf": mine["csrf"]},
                           headers={"Accept": "application/json"})
        assert r.status == 200 and "headers" in await_json(r)
        r = await ana.post("away", {**form, "csrf": mine["csrf"]})
        assert r.status == 303
    with served.store() as s:
        assert s.find_account(ANA).message == "hello"
        assert s.find_account(BOB) is None


def await_json(r) -> dict:
    import json

    return json.loads(r.body)


async def test_a_save_over_a_change_made_elsewhere_is_refused(served):
    async with await signed_in(served, ANA) as ana:
        page = await ana.hidden("away")
        with served.store() as s:  # the API or another browser saves meanwhile
            s.enable(ANA, {"message": "from the API"}, None, time.time())
        r = await ana.post("away", {"csrf": page["csrf"], "state": page["state"],
                                    "message": "from the page"})
        assert r.status == 409 and "changed elsewhere" in r.body
    with served.store() as s:
        assert s.find_account(ANA).message == "from the API"


async def test_sign_out_ends_the_session_on_the_server(served):
    async with await signed_in(served, ANA) as ana:
        from yarl import URL

        kept = {k: v.value for k, v in ana.session.cookie_jar.filter_cookies(
            URL(ana.base)).items()}
        csrf = await ana.csrf("away")
        r = await ana.post("logout", {"csrf": csrf})
        assert r.status == 303 and "bye=1" in r.headers["Location"]
    async with PageClient(served.url) as thief:  # the cookie copied before sign-out
        thief.session.cookie_jar.update_cookies(kept)
        r = await thief.get("away")
        assert r.status == 303 and r.headers["Location"].endswith("/web/login")


async def test_form_errors_are_named_beside_their_fields(served):
    async with await signed_in(served, ANA) as ana:
        page = await ana.hidden("away")
        r = await ana.post("away", {"csrf": page["csrf"], "state": page["state"],
                                    "start_date": "2027-01-10", "end_date": "2027-01-05",
                                    "interval": "soon", "end_time": "9am"})
        assert r.status == 422
        assert 'id="interval-error"' in r.body and "not an interval" in r.body
        assert 'id="end-error"' in r.body and 'aria-invalid="true"' in r.body
    with served.store() as s:
        assert s.find_account(ANA) is None


async def test_owners_stay_off_the_template_page_and_admins_have_no_mailbox_page(served):
    async with await signed_in(served, ANA) as ana:
        assert (await ana.get("templates")).status == 403
        csrf = await ana.csrf("away")
        r = await ana.post("templates/save", {"csrf": csrf, "file": "default.en.txt",
                                              "source": "x", "base": ""})
        assert r.status == 403
    async with await signed_in(served) as admin:
        assert (await admin.get("templates")).status == 200
        r = await admin.get("away")
        assert r.status == 403 and "templates page" in r.body


async def test_the_language_switch_only_leads_back_to_our_pages(served):
    async with PageClient(served.url) as c:
        for target in ("https://evil.example/", "//evil.example/web/", "/web\\..\\x"):
            r = await c.get("lang/pt", params={"next": target})
            assert r.headers["Location"] == "/web/"
        r = await c.get("lang/pt", params={"next": "/web/login"})
        assert r.headers["Location"] == "/web/login"
        r = await c.get("login")
        assert 'lang="pt"' in r.body and "Entrar" in r.body
    async with PageClient(served.url, headers={"Accept-Language": "pt-BR,en;q=0.5"}) as c:
        assert "Palavra-passe" in (await c.get("login")).body


async def test_the_template_check_endpoint_answers_with_the_line(served):
    async with await signed_in(served) as admin:
        csrf = await admin.csrf("templates")
        r = await admin.post("templates/check", {
            "csrf": csrf, "file": "default.en.txt", "account": "",
            "source": "Hi\n{% if %}\n"}, headers={"Accept": "application/json"})
        body = await_json(r)
        assert body["problem"]["line"] == 2 and body["problem_text"].startswith("Line 2:")
        r = await admin.post("templates/check", {
            "csrf": csrf, "file": "default.en.txt", "account": "",
            "source": "Hi {{ account.address }}, from {{ sender }}\n"})
        body = await_json(r)
        assert body["problem"] is None
        assert body["text"] == "Hi ana@example.com, from sender@example.org\n"
