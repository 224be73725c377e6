"""Account administration over aiosqlite: enable, disable, show, list.

The admin commands run once per invocation, so an event loop costs nothing that matters here;
the delivery path reads the same tables with the stdlib sqlite3 (autoresponder.store).
"""

import hashlib
import secrets
import time

import aiosqlite

from autoresponder import addresses, store

FIELDS = ("start_at", "end_at", "subject", "message", "template", "language",
          "interval_seconds", "from_name")


def compute_handle(values: dict, epoch: str) -> str:
    """RFC 5230 :handle of a reply: it changes when the reply's content changes or when the
    vacation is enabled anew, so senders then get the new reply. Fields are separated by NUL
    so that no two different settings hash alike."""
    h = hashlib.sha256()
    for k in ("subject", "message", "template", "language", "from_name"):
        h.update(str(values.get(k) or "").encode("utf-8", "surrogatepass") + b"\0")
    h.update(epoch.encode())
    return h.hexdigest()[:16]


class _Database:
    """``async with _open(config) as db``: aiosqlite over the file, schema applied first,
    and the files handed back to the directory's owner afterwards (store.match_directory_owner)."""

    def __init__(self, config):
        self.config = config
        self.db = None

    async def __aenter__(self) -> aiosqlite.Connection:
        store.connect(self.config.database, self.config.busy_timeout).close()
        self.db = await aiosqlite.connect(self.config.database, timeout=self.config.busy_timeout)
        await self.db.execute("PRAGMA foreign_keys = ON")
        return self.db

    async def __aexit__(self, *exc) -> None:
        await self.db.close()
        store.match_directory_owner(self.config.database)


def _open(config) -> _Database:
    return _Database(config)


async def enable(config, address: str, changes: dict, aliases: "list[str] | None") -> dict:
    """Create or update an account and switch its vacation on. Returns the stored row.

    Fields not in `changes` keep their value when the vacation is already on; a vacation that
    was off (or new) starts afresh: dates not given are cleared and the handle changes.
    """
    now = store.iso_utc(time.time())
    async with _open(config) as db:
        await db.execute("BEGIN IMMEDIATE")
        try:
            await _enable(db, address, changes, aliases, now)
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
    return await show(config, address)


async def _enable(db, address: str, changes: dict, aliases, now: str) -> None:
    cur = await db.execute("SELECT " + ", ".join(store.Account.COLUMNS) +
                           " FROM accounts WHERE address = ?", (address,))
    row = await cur.fetchone()
    old = dict(zip(store.Account.COLUMNS, row)) if row else None
    if old is None:
        cur = await db.execute("SELECT account FROM aliases WHERE alias = ?", (address,))
        owner = await cur.fetchone()
        if owner:
            raise ValueError(f"{address} is an alias of {owner[0]}; enable {owner[0]} or "
                             f"remove the alias first")
    fresh = old is None or not old["enabled"]
    values = {k: None for k in FIELDS}
    values["template"] = "default"
    if old:
        values.update({k: old[k] for k in FIELDS})
        if fresh:
            values["start_at"] = values["end_at"] = None
    values.update(changes)
    if values["start_at"] and values["end_at"] and values["end_at"] <= values["start_at"]:
        raise ValueError(f"the end ({values['end_at']}) is not after the start "
                         f"({values['start_at']})")
    content_changed = old is None or any(
        (old[k] or None) != (values[k] or None)
        for k in ("subject", "message", "template", "language", "from_name"))
    if fresh or content_changed:
        handle = compute_handle(values, f"{now}/{secrets.token_hex(8)}")
    else:
        handle = old["handle"]
    if old is None:
        await db.execute(
            "INSERT INTO accounts (address, enabled, " + ", ".join(FIELDS) +
            ", handle, created_at, updated_at) VALUES (?, 1, " + ", ".join("?" * len(FIELDS))
            + ", ?, ?, ?)", (address, *[values[k] for k in FIELDS], handle, now, now))
    else:
        await db.execute(
            "UPDATE accounts SET enabled = 1, " + ", ".join(f"{k} = ?" for k in FIELDS) +
            ", handle = ?, updated_at = ? WHERE address = ?",
            (*[values[k] for k in FIELDS], handle, now, address))
    if aliases is not None:
        for alias in aliases:
            if alias == address:
                raise ValueError(f"{alias} is the account itself, not an alias")
            cur = await db.execute("SELECT account FROM aliases WHERE alias = ?", (alias,))
            hit = await cur.fetchone()
            if hit and hit[0] != address:
                raise ValueError(f"{alias} is already an alias of {hit[0]}")
            cur = await db.execute("SELECT 1 FROM accounts WHERE address = ?", (alias,))
            if await cur.fetchone():
                raise ValueError(f"{alias} is an account of its own, not an alias")
        await db.execute("DELETE FROM aliases WHERE account = ?", (address,))
        await db.executemany("INSERT INTO aliases (alias, account) VALUES (?, ?)",
                             [(a, address) for a in sorted(set(aliases))])


async def disable(config, address: str) -> bool:
    async with _open(config) as db:
        cur = await db.execute("UPDATE accounts SET enabled = 0, updated_at = ? "
                               "WHERE address = ?", (store.iso_utc(time.time()), address))
        await db.commit()
        return cur.rowcount > 0


async def show(config, address: str) -> "dict | None":
    async with _open(config) as db:
        cur = await db.execute("SELECT " + ", ".join(store.Account.COLUMNS) +
                               " FROM accounts WHERE address = ? OR address = "
                               "(SELECT account FROM aliases WHERE alias = ?)", (address, address))
        row = await cur.fetchone()
        if row is None:
            return None
        acct = dict(zip(store.Account.COLUMNS, row))
        cur = await db.execute("SELECT alias FROM aliases WHERE account = ? ORDER BY alias",
                               (acct["address"],))
        acct["aliases"] = [r[0] for r in await cur.fetchall()]
        return acct


async def list_all(config) -> "list[dict]":
    async with _open(config) as db:
        cur = await db.execute("SELECT " + ", ".join(store.Account.COLUMNS) +
                               " FROM accounts ORDER BY address")
        rows = [dict(zip(store.Account.COLUMNS, r)) for r in await cur.fetchall()]
        cur = await db.execute("SELECT alias, account FROM aliases ORDER BY alias")
        aliases: "dict[str, list[str]]" = {}
        for alias, acct in await cur.fetchall():
            aliases.setdefault(acct, []).append(alias)
        for r in rows:
            r["aliases"] = aliases.get(r["address"], [])
        return rows


async def history(config, address: str, limit: int = 100) -> "list[dict]":
    async with _open(config) as db:
        cur = await db.execute(
            "SELECT sender, sent_at, status, message_id, detail FROM replies WHERE account = ? "
            "ORDER BY sent_at DESC LIMIT ?", (address, limit))
        return [{"sender": s, "sent_at": store.iso_utc(t), "status": st, "message_id": m,
                 "detail": d} for s, t, st, m, d in await cur.fetchall()]


async def purge(config, older_than: int, keep_history: int) -> "tuple[int, int]":
    """Drop ledger rows whose window ended more than `older_than` seconds ago (never a live
    pending claim) and reply history older than `keep_history` (never inside the rate-limit
    period). Safe while deliveries run: short transactions under SQLite's write lock."""
    now = time.time()
    keep_history = max(keep_history, config.rate_limit.period)
    async with _open(config) as db:
        cur = await db.execute(
            "DELETE FROM ledger WHERE expires_at <= ? AND (state = 'sent' OR lease_until <= ?)",
            (now - older_than, now))
        n_ledger = cur.rowcount
        cur = await db.execute("DELETE FROM replies WHERE sent_at <= ?", (now - keep_history,))
        n_hist = cur.rowcount
        await db.execute("DELETE FROM render_cache")  # a memo: rebuilt on the next reply
        await db.commit()
        return n_ledger, n_hist


async def forget(config, address: str, sender: "str | None") -> int:
    """Drop ledger rows of an account (or of one sender), so the next message gets a reply:
    what admins of other tools do by deleting .vacation.db or .dovecot.lda-dupes by hand."""
    async with _open(config) as db:
        if sender:
            cur = await db.execute("DELETE FROM ledger WHERE account = ? AND sender = ?",
                                   (address, sender))
        else:
            cur = await db.execute("DELETE FROM ledger WHERE account = ?", (address,))
        await db.commit()
        return cur.rowcount


def normalize_account(address: str, config) -> str:
    """An account address as stored: normalised, without +detail."""
    n = addresses.normalize(address)
    if not n:
        raise ValueError(f"{address!r} is not a mail address (local@domain)")
    return addresses.strip_detail(n, config.recipient_delimiter)
