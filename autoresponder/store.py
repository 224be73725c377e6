"""The SQLite file: opening it, applying schema.sql, and the account lookup of the hot path.

Delivery uses the stdlib ``sqlite3`` directly: one short, synchronous transaction per message,
without an event loop to start (see README, "Performance"). The admin commands use aiosqlite
(``autoresponder.accounts``) over the same file and the same schema.
"""

import os
import sqlite3
import time

from autoresponder.errors import DatabaseBusy  # noqa: F401 - re-exported for callers

SCHEMA_VERSION = 3


def iso_utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Account:
    """An account's vacation settings, as stored."""

    __slots__ = ("address", "enabled", "start_at", "end_at", "subject", "message", "template",
                 "language", "interval_seconds", "from_name", "handle", "created_at",
                 "updated_at", "aliases")
    COLUMNS = __slots__[:-1]

    def __init__(self, row, aliases=()):
        for k, v in zip(self.COLUMNS, row):
            setattr(self, k, v)
        self.aliases = list(aliases)

    def addresses(self) -> "list[str]":
        return [self.address, *self.aliases]

    def active_at(self, now: float) -> "str | None":
        """None when the vacation is in force at `now`, else why not."""
        if not self.enabled:
            return "the vacation is disabled"
        t = iso_utc(now)
        if self.start_at and t < self.start_at:
            return f"the vacation starts at {self.start_at}"
        if self.end_at and t >= self.end_at:
            return f"the vacation ended at {self.end_at}"
        return None


def connect(path: str, busy_timeout: float = 10.0, readonly: bool = False):
    """Open (creating it and its directory if needed) and return a sqlite3 connection.

    With readonly=True nothing is created: a missing file gives None.
    """
    if readonly:
        if not os.path.exists(path):
            return None
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_timeout,
                               isolation_level=None)
        return conn
    d = os.path.dirname(path)
    if d and not os.path.isdir(d):
        os.makedirs(d, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        _apply_schema(conn)
    conn.execute("PRAGMA foreign_keys = ON")
    # WAL with synchronous=NORMAL: a commit survives a crash of the process; a power cut may
    # lose the last commits (a reply might then go out twice), never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _apply_schema(conn) -> None:
    """Run schema.sql (idempotent: CREATE ... IF NOT EXISTS), then record its version."""
    from autoresponder.resources import schema_sql

    if conn.execute("PRAGMA user_version").fetchone()[0] < 3:
        conn.execute("DROP TABLE IF EXISTS render_cache")  # a memo: its shape changed in 3
    conn.executescript(schema_sql())
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


_SELECT = "SELECT " + ", ".join(Account.COLUMNS) + " FROM accounts"


def find_account(conn, address: str) -> "Account | None":
    """The account for a normalised address, by its own address or by one of its aliases."""
    if conn is None:
        return None
    row = conn.execute(_SELECT + " WHERE address = ?", (address,)).fetchone()
    if row is None:
        row = conn.execute(
            _SELECT + " WHERE address = (SELECT account FROM aliases WHERE alias = ?)",
            (address,)).fetchone()
        if row is None:
            return None
    aliases = [r[0] for r in conn.execute(
        "SELECT alias FROM aliases WHERE account = ? ORDER BY alias", (row[0],))]
    return Account(row, aliases)


def all_accounts(conn) -> "list[Account]":
    if conn is None:
        return []
    aliases: "dict[str, list[str]]" = {}
    for alias, acct in conn.execute("SELECT alias, account FROM aliases ORDER BY alias"):
        aliases.setdefault(acct, []).append(alias)
    return [Account(r, aliases.get(r[0], ()))
            for r in conn.execute(_SELECT + " ORDER BY address")]


def match_directory_owner(path: str) -> None:
    """When root runs an admin command, give the database files to the owner of their
    directory (the user the MTA runs the agent as), or deliveries could no longer write them."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        st = os.stat(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return
    if st.st_uid == 0:
        return
    for p in (path, path + "-wal", path + "-shm"):
        try:
            os.chown(p, st.st_uid, st.st_gid)
        except OSError:
            pass
