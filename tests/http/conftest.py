"""Fixtures for the HTTP API: a real config file and SQLite database per test, the app built by
build_app and served by aiohttp's test server (a real socket on loopback), tokens made by the
real CLI code path (the store's token_add)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from autoresponder import config as config_mod
from autoresponder.derived import iso_utc
from autoresponder.http import tokens
from autoresponder.store import open_store

ANA = "ana@example.com"
BOB = "bob@example.com"
CORE = "urn:ietf:params:jmap:core"
VAC = "urn:ietf:params:jmap:vacationresponse"
EXTRA = "urn:autoresponder:jmap:vacation"


def write_config(tmp_path: Path, extra: str = "", database: "str | None" = None,
                 top: str = "") -> Path:
    """The config: SQLite under tmp_path unless `database` (a PostgreSQL URL) says otherwise;
    `top`: top-level keys (timezone = ...), `extra`: sections after [transport]."""
    path = tmp_path / "autoresponder.toml"
    database = database or f"{tmp_path}/state/autoresponder.sqlite3"
    path.write_text(f'database = "{database}"\n{top}'
                    f'[log]\ntarget = "file"\npath = "{tmp_path}/autoresponder.log"\n'
                    f'[transport]\nkind = "file"\npath = "{tmp_path}/outbox"\n{extra}')
    return path


class Site:
    """A config, its store and the running app; `token()` makes tokens as the CLI does."""

    def __init__(self, tmp_path: Path, extra: str = "", database: "str | None" = None,
                 top: str = ""):
        self.dir = tmp_path
        self.config_path = write_config(tmp_path, extra, database, top)
        self.config = config_mod.load(str(self.config_path))
        self.client: "TestClient | None" = None

    def store(self):
        return open_store(self.config, create=True)

    def token(self, account: "str | None" = None) -> "tuple[str, str]":
        text, row = tokens.make(account, "test", iso_utc(time.time()))
        with self.store() as s:
            s.token_add(row)
        return text, row.token_id

    def enable(self, address: str, **changes):
        with self.store() as s:
            return s.enable(address, changes, None, time.time())

    def account(self, address: str):
        with self.store() as s:
            return s.find_account(address)

    def log(self) -> str:
        p = self.dir / "autoresponder.log"
        return p.read_text() if p.exists() else ""


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def basic(login: str, password: str) -> dict:
    raw = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def request(account: str, *calls, using=(CORE, VAC)) -> dict:
    return {"using": list(using),
            "methodCalls": [[name, {"accountId": account, **args}, f"c{i}"]
                            for i, (name, args) in enumerate(calls)]}


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


@pytest.fixture
async def client_for():
    """client_for(site) -> an aiohttp TestClient on the site's app (closed afterwards)."""
    from autoresponder.http.app import build_app

    made = []

    async def make(site: Site) -> TestClient:
        c = TestClient(TestServer(build_app(site.config)))
        await c.start_server()
        made.append(c)
        site.client = c
        return c

    yield make
    for c in made:
        await c.close()
