"""`autoresponder db status|upgrade|copy` on SQLite, and copy's refusals (no server needed;
PostgreSQL's side is in tests/pg)."""

from __future__ import annotations

import json
import sqlite3

from autoresponder.store.sqlite import SCHEMA_VERSION as KNOWN


def test_sqlite_status_and_upgrade(agent):
    r = agent.run("db", "status", "--json")
    assert r.returncode == 65
    assert json.loads(r.stdout) == {
        "backend": "sqlite", "database": str(agent.db), "version": None, "known": KNOWN,
        "state": "no schema", "pending": [{"version": KNOWN, "description": "schema.sql"}]}
    assert f"applied schema version {KNOWN}" in agent.admin("db", "upgrade").stdout.decode()
    assert "nothing to do" in agent.admin("db", "upgrade").stdout.decode()
    assert json.loads(agent.admin("db", "status", "--json").stdout)["state"] == "up to date"
    with sqlite3.connect(agent.db) as conn:
        conn.execute("PRAGMA user_version = 99")
    r = agent.run("db", "status")
    assert r.returncode == 65 and b"newer than this autoresponder" in r.stdout
    assert b"defer mail (75)" in r.stdout


def test_copy_refuses_what_it_cannot_copy(agent, tmp_path):
    r = agent.run("db", "copy", "--from", str(tmp_path / "none.sqlite3"))
    assert r.returncode == 64 and b"--to must be a postgresql:// URL" in r.stderr
    r = agent.run("db", "copy", "--from", str(tmp_path / "none.sqlite3"), "--to",
                  "postgresql://u:hunter2@db1/x")
    assert r.returncode == 64 and b"password" in r.stderr and b"hunter2" not in r.stderr
    r = agent.run("db", "copy", "--from", str(tmp_path / "none.sqlite3"), "--to",
                  "postgresql://db1/x")
    assert r.returncode == 65 and b"no SQLite database at" in r.stderr
