"""Schema versions that arrive out of order (two branches each adding one) apply by their own
number: PostgreSQL's `db upgrade` fills the gap, and until it has, the database counts as
older; SQLite's schema.sql applies whole (every table IF NOT EXISTS) whatever the file's
version, so a file made before the api_tokens table gets it."""

from __future__ import annotations

import sqlite3

import pytest

from autoresponder.store import postgres as pg
from autoresponder.store.sqlite import SCHEMA_VERSION, SqliteStore
from tests.pg.conftest import pg_url  # noqa: F401 - fixture


def test_a_version_merged_after_a_newer_one_is_applied_by_upgrade(pg_url, tmp_path,  # noqa: F811
                                                                   monkeypatch):
    # the real version 2 (schedules) arriving after version 3 (tokens) was applied
    real = pg.migrations()
    with_late = sorted(real)
    without = [m for m in real if m[0] != 2]
    late_name = next(name for v, name, _ in real if v == 2)
    monkeypatch.setattr(pg, "migrations", lambda: without)
    monkeypatch.setattr(pg, "SCHEMA_VERSION", max(v for v, _, _ in with_late))
    with pg.PostgresStore(pg_url) as s:
        applied = s.upgrade_schema()
    assert 2 not in applied and 1 in applied
    monkeypatch.setattr(pg, "migrations", lambda: with_late)
    with pg.PostgresStore(pg_url) as s:
        current, known, pending = s.schema_status()
        assert current == 1 and pending == [(2, late_name)]
        with pytest.raises(pg.StoreError, match="older than this autoresponder needs"):
            s.list_accounts()
    with pg.PostgresStore(pg_url) as s:
        assert s.upgrade_schema() == [2]
        assert s.schema_status()[2] == [] and s.list_accounts() == []


def test_sqlite_files_of_an_older_version_get_the_tokens_table(tmp_path):
    path = tmp_path / "old.sqlite3"
    made = SqliteStore(str(path), create=True)
    made.enable("ana@example.com", {"message": "hi"}, None, 0)
    made.close()
    with sqlite3.connect(path) as c:  # as version 3 left it: no api_tokens
        c.execute("DROP TABLE api_tokens")
        c.execute("PRAGMA user_version = 3")
    store = SqliteStore(str(path), create=False)
    assert store.find_account("ana@example.com").message == "hi"
    assert store.token_list() == []
    store.close()
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
