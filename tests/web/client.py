"""A hand-driven client for the pages (aiohttp), for what a browser would not do: posting
forms without or with someone else's CSRF token, reusing a cookie after sign-out."""

from __future__ import annotations

import re

import aiohttp

CSRF = re.compile(r'name="csrf" value="([^"]*)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class PageClient:
    def __init__(self, base: str, headers: "dict | None" = None):
        self.base = base  # .../web/
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             headers=headers or {})

    async def __aenter__(self) -> "PageClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def get(self, path: str, **kw):
        async with self.session.get(self.base + path, allow_redirects=False, **kw) as r:
            r.body = await r.text()
            return r

    async def post(self, path: str, data: dict, **kw):
        async with self.session.post(self.base + path, data=data, allow_redirects=False,
                                     **kw) as r:
            r.body = await r.text()
            return r

    async def csrf(self, path: str) -> str:
        r = await self.get(path)
        m = CSRF.search(r.body)
        assert m, (r.status, r.body[:300])
        return m.group(1)

    async def hidden(self, path: str) -> dict:
        """The hidden fields of the page's forms (csrf, state, ...), first of each name."""
        r = await self.get(path)
        out: dict = {}
        for name, value in HIDDEN.findall(r.body):
            out.setdefault(name, value)
        return out

    async def sign_in(self, address: str, password: str) -> None:
        token = await self.csrf("login")
        r = await self.post("login", {"address": address, "password": password,
                                      "csrf": token})
        assert r.status == 303, (r.status, r.body[:500])

    async def sign_in_token(self, token: str) -> None:
        csrf = await self.csrf("login")
        r = await self.post("login/token", {"token": token, "csrf": csrf})
        assert r.status == 303, (r.status, r.body[:500])
