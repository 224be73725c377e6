"""`db upgrade` takes a database of the previous schema forward to issue 13's (SQLite
user_version 3 -> 4, PostgreSQL version 1 -> 2): nothing lost, the old UTC dates still
answer, and the new settings, absences and windows work on it; `db copy` carries absences and
windows from SQLite into PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from autoresponder.store.sqlite import SCHEMA_VERSION as KNOWN

from tests.test_schedule_wiring import ANA, Site, at

# The SQLite schema as it was at user_version 3 (before issue 13), verbatim.
SCHEMA_V3 = """
PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS accounts (
    address          TEXT PRIMARY KEY,      -- normalised (addresses.normalize), no +detail
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    start_at         TEXT,                  -- NULL: from now on
    end_at           TEXT,                  -- NULL: until disabled; exclusive
    subject          TEXT,                  -- NULL: the template's subject, else "Auto: <orig>"
    message          TEXT,                  -- the account's own words, given to the template
    template         TEXT NOT NULL DEFAULT 'default',
    language         TEXT,                  -- 'pt' | 'en' | NULL (from the message, or config)
    interval_seconds INTEGER CHECK (interval_seconds IS NULL OR interval_seconds >= 0),
    from_name        TEXT,                  -- display name on the reply's From
    handle           TEXT NOT NULL,         -- RFC 5230 :handle of the current reply
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS aliases (
    alias    TEXT PRIMARY KEY,              -- normalised; maps to exactly one account
    account  TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS aliases_account ON aliases(account);

-- One row per (account, sender, handle): the claim that makes "once per window" atomic.
CREATE TABLE IF NOT EXISTS ledger (
    account      TEXT NOT NULL,
    sender       TEXT NOT NULL,             -- normalised envelope sender
    handle       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
    claimed_at   REAL NOT NULL,
    lease_until  REAL NOT NULL,             -- a pending claim older than this is void
    sent_at      REAL,
    expires_at   REAL NOT NULL,             -- end of the window
    PRIMARY KEY (account, sender, handle)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_expires ON ledger(expires_at);

-- Every reply that left (or was refused for good), for rate limits and `history`.
CREATE TABLE IF NOT EXISTS replies (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    sender      TEXT NOT NULL,
    handle      TEXT NOT NULL,
    sent_at     REAL NOT NULL,
    message_id  TEXT,
    status      TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'rejected')),
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS replies_account_time ON replies(account, sent_at);
CREATE INDEX IF NOT EXISTS replies_time ON replies(sent_at);

-- Rendered replies whose template depends only on the account (autoresponder.rendercache).
CREATE TABLE IF NOT EXISTS render_cache (
    key         TEXT PRIMARY KEY,
    subject     TEXT,
    text        TEXT NOT NULL,
    html        TEXT,
    mime        BLOB NOT NULL,              -- reply.mime_body(text, html)
    language    TEXT NOT NULL,
    template    TEXT NOT NULL,
    created_at  REAL NOT NULL
);
"""
NOW_ISO = "2026-11-01T00:00:00Z"


def old_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as c:
        c.executescript(SCHEMA_V3)
        c.execute("INSERT INTO accounts (address, enabled, start_at, end_at, subject, template, "
                  "handle, created_at, updated_at) VALUES (?, 1, ?, ?, ?, 'default', ?, ?, ?)",
                  (ANA, "2027-03-20T00:00:00Z", "2027-03-28T08:00:00Z", "Away", "h0ld", NOW_ISO,
                   NOW_ISO))
        c.execute("INSERT INTO ledger VALUES (?, 'bob@example.org', 'h0ld', 'sent', ?, ?, ?, ?)",
                  (ANA, at("2027-03-21T10:00"), at("2027-03-21T10:00"), at("2027-03-21T10:00"),
                   at("2027-03-21T10:00") + 86400 * 30))
        c.execute("PRAGMA user_version = 3")


@pytest.fixture
def site(tmp_path, monkeypatch) -> Site:
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    s = Site(tmp_path)
    s.setup()
    return s


def test_sqlite_upgrade_from_version_3(site):
    old_sqlite(site.db)
    status = json.loads(site.run("db", "status", "--json").stdout)
    assert (status["version"], [p["version"] for p in status["pending"]]) == (3, [KNOWN])
    assert f"applied schema version {KNOWN}" in site.admin("db", "upgrade").stdout.decode()
    with sqlite3.connect(site.db) as c:
        cols = {r[1] for r in c.execute("PRAGMA table_info(accounts)")}
        assert {"timezone", "start_local", "internal_domains", "reply_from",
                "answer_group_mail"} <= cols
        assert c.execute("SELECT count(*) FROM schedule_items").fetchone()[0] == 0
    v = site.show()
    # the old UTC dates, shown in the zone, still decide
    assert (v["subject"], v["start_local"], v["end_local"]) == (
        "Away", "2027-03-20 00:00 WET", "2027-03-28 09:00 WEST")
    assert site.deliver_at(at("2027-03-22T10:00"))[0].outcome.name == "already-replied"
    assert site.deliver_at(at("2027-03-22T10:00"), sender="carl@example.net")[0] \
        .outcome.name == "reply"
    assert site.deliver_at(at("2027-03-28T09:00"), sender="dora@example.net")[0] \
        .decision.rule == "account"
    # the new parts work on the upgraded file
    site.admin("vacation", "add-absence", ANA, "--start", "2027-04-01", "--end", "2027-04-02")
    site.admin("vacation", "enable", ANA, "--external", "none")
    assert site.deliver_at(at("2027-04-01T10:00"), sender="eve@example.org")[0] \
        .decision.rule == "audience"
    assert "nothing to do" in site.admin("db", "upgrade").stdout.decode()


def test_a_delivery_upgrades_an_old_sqlite_file_in_place(site):
    """Delivery opens the file for writing and applies the guarded migration itself (as it
    did for every version before): an old file never stops mail."""
    old_sqlite(site.db)
    r, _ = site.deliver_at(at("2027-03-22T10:00"), sender="carl@example.net")
    assert r.outcome.name == "reply"
    with sqlite3.connect(site.db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] >= 4


def test_postgres_upgrade_from_version_1(tmp_path, monkeypatch, pg_cluster):
    from autoresponder.store.postgres import migrations

    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    url = pg_cluster.url(pg_cluster.new_database("up"))
    v1 = [p for v, _, p in migrations() if v == 1][0]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(Path(v1).read_text())
        c.execute("INSERT INTO schema_version (version, description) VALUES (1, 'initial')")
        c.execute("INSERT INTO accounts (address, enabled, start_at, end_at, subject, "
                  "template, handle, created_at, updated_at) VALUES (%s, true, NULL, NULL, "
                  "'Away', 'default', 'h0ld', %s, %s)", (ANA, NOW_ISO, NOW_ISO))
    s = Site(tmp_path)
    s.db = url
    s.setup()
    r = s.run("vacation", "show", ANA)
    assert r.returncode == 78 and b"db upgrade" in r.stderr
    assert "2 (schedule)" in s.admin("db", "upgrade").stdout.decode()
    assert s.show()["subject"] == "Away"
    s.admin("vacation", "add-window", ANA, "Sat-Sun", "--subject", "Weekend")
    r, reply = s.deliver_at(at("2027-04-03T10:00"))
    assert r.outcome.name == "reply" and reply["Subject"] == "Weekend"


def test_db_copy_carries_absences_and_windows(tmp_path, monkeypatch, pg_cluster):
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    for d in ("src", "dst"):
        (tmp_path / d).mkdir()
    src = Site(tmp_path / "src")
    src.setup()
    src.admin("vacation", "enable", ANA, "--timezone", "Europe/Lisbon", "--reply-from",
              "addressed", "--answer-group-mail")
    src.admin("vacation", "add-absence", ANA, "--start", "2027-04-01", "--subject", "Easter")
    src.admin("vacation", "add-window", ANA, "Fri 14:00 - Mon 08:00")
    url = pg_cluster.url(pg_cluster.new_database("copy"))
    dst = Site(tmp_path / "dst")
    dst.db = url
    dst.setup()
    dst.admin("db", "upgrade")
    for _ in range(2):  # safe to re-run: nothing doubles
        dst.admin("db", "copy", "--from", str(src.db))
    v = dst.show()
    assert [a["what"] for a in v["absences"]] == ["absence from 2027-04-01 until further notice"]
    assert [w["what"] for w in v["windows"]] == ["Fri 14:00 - Mon 08:00"]
    assert (v["reply_from"], v["answer_group_mail"], v["timezone"]) == (
        "addressed", True, "Europe/Lisbon")
