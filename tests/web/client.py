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


class _FormReader:
    """The fields a browser would post for one form of a page (by its id): inputs (checkboxes
    and radios when checked), selected options, textareas (less the newline a browser drops
    after the tag), and fields elsewhere on the page that name the form (form="...")."""

    def __init__(self, form_id: str):
        from html.parser import HTMLParser

        self.form_id, self.fields, self.inside = form_id, [], False
        self._select = self._area = None
        self._options: list = []
        reader = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                reader.start(tag, dict(attrs))

            def handle_endtag(self, tag):
                reader.end(tag)

            def handle_data(self, data):
                if reader._area is not None:
                    reader._area[1].append(data)

        self.parser = P(convert_charrefs=True)

    def ours(self, a: dict) -> bool:
        return a.get("form") == self.form_id if "form" in a else self.inside

    def start(self, tag, a):
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        elif tag == "input" and self.ours(a) and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox"
                                                      else "")))
        elif tag == "select" and self.ours(a):
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and self.ours(a):
            self._area = (a.get("name"), [])

    def end(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, sel in self._options if sel] or [v for v, _ in self._options[:1]]
            self.fields.append((self._select, chosen[0] if chosen else ""))
            self._select = None
        elif tag == "textarea" and self._area is not None:
            text = "".join(self._area[1])
            self.fields.append((self._area[0], text[1:] if text.startswith("\n") else text))
            self._area = None


def form_fields(html: str, form_id: str):
    """A MultiDict of what a browser posts for the form `form_id` of `html`, as shown."""
    from multidict import MultiDict

    r = _FormReader(form_id)
    r.parser.feed(html)
    r.parser.close()
    return MultiDict(r.fields)
