"""The aiohttp Application that `serve --http` runs: the JMAP API, and (issue 15) the web pages,
mounted by route installers from one list.

    app = build_app(config)        # what serve's HTTP child and the tests run
    app[STORE].call(fn)            # fn(store) on the store's own thread (await it)
    await principal_of(request)    # the request's Principal, or AuthFailed

Why aiohttp: one well-kept library is both the server (TLS, unix sockets, bounded request
bodies, keep-alive) and the test client/server the tests drive it with; it runs on the asyncio
loop `serve` already uses, without an ASGI server to add and tune.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from autoresponder.http.auth import AuthFailed, Authenticator, Principal

CONFIG = web.AppKey("config", object)
STORE = web.AppKey("store", object)      # StoreThread
AUTH = web.AppKey("auth", Authenticator)
LOG = web.AppKey("log", object)          # autoresponder.logs.Log


def route_installers() -> list:
    """Each installer is called as ``install(app)`` and adds its routes (and anything else it
    needs: middlewares, cleanup) to the app. Imported here, lazily."""
    from autoresponder.http import jmap

    from autoresponder.web import install as web_pages  # the web pages (issue 15), under /web/

    installers = [jmap.install, web_pages]
    return installers


class StoreThread:
    """The store, used from one dedicated thread: store objects keep one connection per
    thread (SQLite's may not cross threads), and the API's writes are small and rare next to
    delivery's. `call(fn)` runs ``fn(store)`` there."""

    def __init__(self, config):
        self.config = config
        self._store = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="http-store")

    def _run(self, fn):
        from autoresponder.store.base import StoreError

        if self._store is None:
            from autoresponder.store import open_store

            self._store = open_store(self.config, create=True)
        try:
            return fn(self._store)
        except StoreError:
            # start over at the next call: a store keeps a failed open as "no database"
            self._store.close()
            self._store = None
            raise

    async def call(self, fn):
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    async def close(self) -> None:
        def shut():
            if self._store is not None:
                self._store.close()
                self._store = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=False)


async def principal_of(request: web.Request) -> Principal:
    """The Principal of a request's Authorization header (token or Basic); AuthFailed
    otherwise (401, 403, 429, 503: see auth.AuthFailed)."""
    return await request.app[AUTH].principal(request)


def build_app(config, log=None) -> web.Application:
    """The whole HTTP side for `config`: state in app[CONFIG], app[STORE], app[AUTH],
    app[LOG], then every route installer."""
    if log is None:
        from autoresponder.logs import Log

        log = Log(config)
    app = web.Application(client_max_size=config.http.max_request_size + 4096)
    app[CONFIG] = config
    app[LOG] = log
    store = StoreThread(config)
    app[STORE] = store
    app[AUTH] = Authenticator(config, store, log)

    async def close_store(_app):
        await store.close()

    app.on_cleanup.append(close_store)

    async def plain_headers(_request, response):  # no library versions to scanners
        response.headers["Server"] = "autoresponder"
        response.headers.setdefault("Cache-Control", "no-store")

    app.on_response_prepare.append(plain_headers)
    for install in route_installers():
        install(app)
    return app


__all__ = ["AUTH", "CONFIG", "LOG", "STORE", "AuthFailed", "Principal", "StoreThread",
           "build_app", "principal_of", "route_installers"]
