"""The SQLite store: the one set of SQL statements for accounts, the ledger, the history and
the render memo, over the stdlib ``sqlite3`` (no event loop on the per-message path).

A claim is made in one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock serialises all
deliveries of all processes): read the ledger row and the counts, let ``base.assess`` decide,
then write a *pending* row with a short lease. The sender of the claim then sends and marks
the row *sent*; if sending fails it deletes its row (release) so a retry can claim again. A
process that dies between claim and send leaves a pending row that stops counting once its
lease has passed.

``sqlite3`` itself is imported when the file is first used: most skips never need it.
"""

import os

from autoresponder.derived import iso_utc
from autoresponder.store.base import (FIELDS, ITEM_FIELDS, Account, ApiToken, Claimed,
                                      HistoryEntry, ScheduleItem, Store, StoreBusy, StoreError,
                                      assess, check_aliases, memo_entry, plan_enable,
                                      item_values, split_items)

# 4: schedules, audiences (columns below, schedule_items); 5: api_tokens. schema.sql is
# idempotent and the added columns apply only when missing: the versions apply in any order.
SCHEMA_VERSION = 5

# Columns later versions added to tables an older file already has: (version, table, column,
# declaration). Each is added only when missing, so the versions apply in any order.
_ADDED_COLUMNS = (
    (4, "accounts", "timezone", "TEXT"),
    (4, "accounts", "start_local", "TEXT"),
    (4, "accounts", "end_local", "TEXT"),
    (4, "accounts", "internal_domains", "TEXT"),
    (4, "accounts", "external",
     "TEXT CHECK (external IS NULL OR external IN ('reply', 'none'))"),
    (4, "accounts", "external_subject", "TEXT"),
    (4, "accounts", "external_message", "TEXT"),
    (4, "accounts", "external_template", "TEXT"),
    (4, "accounts", "reply_from", "TEXT"),
    (4, "accounts", "answer_group_mail",
     "INTEGER CHECK (answer_group_mail IS NULL OR answer_group_mail IN (0, 1))"),
)
_ITEMS_OF = ("SELECT " + ", ".join(ITEM_FIELDS) + " FROM schedule_items WHERE account = ? "
             "ORDER BY id")
_SERIES = ("SELECT max(CASE WHEN state = 'sent' THEN sent_at END), "
           "max(CASE WHEN state = 'pending' AND lease_until > ? AND handle <> ? "
           "THEN lease_until END) FROM ledger WHERE account = ? AND sender = ? AND "
           "substr(handle, 1, ?) = ? AND (state = 'pending' OR sent_at > ?)")

_ACCOUNT = "SELECT " + ", ".join(Account.COLUMNS) + " FROM accounts"
_ALIASES_OF = "SELECT alias FROM aliases WHERE account = ? ORDER BY alias"
_OWNER_OF = "SELECT account FROM aliases WHERE alias = ?"
_LEDGER_ROW = ("SELECT state, lease_until, sent_at, expires_at FROM ledger "
               "WHERE account = ? AND sender = ? AND handle = ?")
_TOKEN = "SELECT " + ", ".join(ApiToken.__slots__) + " FROM api_tokens"
_WRITE_LEDGER = ("INSERT OR REPLACE INTO ledger (account, sender, handle, state, claimed_at, "
                 "lease_until, sent_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


class SqliteStore(Store):
    """One SQLite file. `create`: make the file, its directory and the schema when missing
    (admin commands); otherwise a missing file is a database without accounts (delivery
    never creates it). `readonly`: open with ``mode=ro``; writes fail."""

    def __init__(self, path: str, busy_timeout: float = 10.0, readonly: bool = False,
                 create: bool = False):
        self.path = path
        self.busy_timeout = busy_timeout
        self.readonly = readonly
        self.create = create and not readonly
        self._conn = None
        self._missing = False
        self._ownership: "str | None" = None

    # --- the connection ----------------------------------------------------------------

    def _db(self):
        """The connection, opened on first use; None when the file does not exist and this
        store may not create it. Neither a missing file nor a failed open is remembered: a
        long-lived store (a ``serve`` thread) sees the database the admin makes after it
        started, and a passing fault (EACCES, EMFILE) is tried again on the next message."""
        if self._conn is None:
            self._missing = False
            self._conn = self._guard(self._connect)
        return self._conn

    def _connect(self):
        if not self.create:
            # Only a missing file means "no accounts"; a file the OS will not let us reach
            # (EACCES on the directory, say) is trouble, and says so.
            try:
                os.stat(self.path)
            except FileNotFoundError:
                self._missing = True
                return None
            except OSError as e:
                raise _os_error("cannot reach the database file", self.path, e) from None
        import sqlite3

        if self.readonly:
            uri = self.path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
            return sqlite3.connect(f"file:{uri}?mode=ro", uri=True,
                                   timeout=self.busy_timeout, isolation_level=None)
        if self.create:
            try:
                _create_private(self.path)
            except OSError as e:
                raise _os_error("cannot create the database", self.path, e) from None
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:  # written by a newer autoresponder: do not touch
                raise StoreError(f"the database's schema is version {version}, newer than "
                                 f"this autoresponder knows ({SCHEMA_VERSION}); nothing was "
                                 f"read or written: upgrade autoresponder", self.path)
            if version < SCHEMA_VERSION:
                self._apply_schema(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            # WAL with synchronous=NORMAL: a commit survives a crash of the process; a power
            # cut may lose the last commits (a reply might then go out twice), never corrupt
            # the file.
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _apply_schema(conn) -> None:
        """Run schema.sql (idempotent: CREATE ... IF NOT EXISTS), then record its version."""
        from autoresponder.resources import schema_sql

        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < 3:
            conn.execute("DROP TABLE IF EXISTS render_cache")  # a memo: its shape changed in 3
        conn.executescript(schema_sql())
        for _v, table, column, decl in _ADDED_COLUMNS:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _guard(self, work, *args):
        """Run work(*args), turning sqlite3's errors into the store's: a lock past the busy
        timeout is StoreBusy (nothing was written, a retry is safe), anything else a
        StoreError that names the file."""
        import sqlite3

        try:
            return work(*args)
        except sqlite3.OperationalError as e:
            text = str(e)
            if "locked" in text or "busy" in text:
                raise StoreBusy(text, self.path) from None
            cause = self._os_cause()
            if cause is not None:
                raise _os_error(text, self.path, cause) from None
            raise StoreError(text, self.path) from None
        except sqlite3.Error as e:
            raise StoreError(str(e), self.path) from None

    def _os_cause(self) -> "OSError | None":
        """Why the OS refuses the database, when it does: SQLite's own message ("unable to
        open database file", "attempt to write a readonly database") names no errno."""
        try:
            os.close(os.open(self.path, os.O_RDONLY if self.readonly else os.O_RDWR))
        except FileNotFoundError:
            if not self.create:
                return None
        except OSError as e:
            return e
        if self.readonly:
            return None
        d = os.path.dirname(os.path.abspath(self.path))
        if not os.access(d, os.W_OK | os.X_OK):  # the -wal and -shm files are made there
            import errno

            return PermissionError(errno.EACCES, os.strerror(errno.EACCES), d)
        return None

    def _read(self, work, empty):
        conn = self._db()
        if conn is None:
            return empty
        return self._guard(work, conn)

    def _write(self, work):
        """work(conn) in one BEGIN IMMEDIATE transaction."""
        conn = self._db()
        if conn is None:
            raise StoreError("no database file", self.path)

        def run(c):
            c.execute("BEGIN IMMEDIATE")
            try:
                result = work(c)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return result

        return self._guard(run, conn)

    def notice(self) -> "str | None":
        """Says so when a lookup found no database file (a mistyped path must be seen), or
        when root left the database where deliveries cannot write it."""
        if self._missing:
            return f"no database file at {self.path}"
        return self._ownership

    def close(self) -> None:
        """Close the connection; the store opens a new one if it is used again (``deliver``
        closes it before fork(): a connection must not cross into a child)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            if self.create:
                self._ownership = match_directory_owner(self.path)

    # --- the schema and moving out (``autoresponder db``) ----------------------------------

    def schema_version(self) -> "int | None":
        """The file's schema version (PRAGMA user_version); None when there is no file."""
        import sqlite3

        if not os.path.exists(self.path):
            return None
        uri = self.path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
        try:
            conn = sqlite3.connect(f"file:{uri}?mode=ro", uri=True, timeout=self.busy_timeout)
            try:
                return conn.execute("PRAGMA user_version").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(str(e), self.path) from None

    def export(self) -> dict:
        """Every account, alias, ledger row and history row, for ``db copy``: accounts in
        Account.COLUMNS order, ledger (account, sender, handle, state, claimed_at,
        lease_until, sent_at, expires_at), history (account, sender, handle, sent_at,
        message_id, status, detail)."""
        def work(c):
            return {
                "accounts": c.execute(_ACCOUNT + " ORDER BY address").fetchall(),
                "aliases": c.execute("SELECT alias, account FROM aliases "
                                     "ORDER BY alias").fetchall(),
                "ledger": c.execute("SELECT account, sender, handle, state, claimed_at, "
                                    "lease_until, sent_at, expires_at FROM ledger").fetchall(),
                "replies": c.execute("SELECT account, sender, handle, sent_at, message_id, "
                                     "status, detail FROM replies ORDER BY id").fetchall(),
                "schedule": c.execute("SELECT account, " + ", ".join(ITEM_FIELDS) +
                                      " FROM schedule_items ORDER BY id").fetchall(),
            }

        return self._read(work, {"accounts": [], "aliases": [], "ledger": [], "replies": [],
                                 "schedule": []})

    # --- accounts ------------------------------------------------------------------------

    @staticmethod
    def _account(c, address: str) -> "Account | None":
        row = c.execute(_ACCOUNT + " WHERE address = ?", (address,)).fetchone()
        if row is None:
            row = c.execute(_ACCOUNT + " WHERE address = (" + _OWNER_OF + ")",
                            (address,)).fetchone()
            if row is None:
                return None
        return Account.from_row(row, [r[0] for r in c.execute(_ALIASES_OF, (row[0],))],
                                [ScheduleItem(*r) for r in c.execute(_ITEMS_OF, (row[0],))])

    def find_account(self, address: str) -> "Account | None":
        return self._read(lambda c: self._account(c, address), None)

    def list_accounts(self) -> "list[Account]":
        def work(c):
            aliases: "dict[str, list[str]]" = {}
            for alias, acct in c.execute("SELECT alias, account FROM aliases ORDER BY alias"):
                aliases.setdefault(acct, []).append(alias)
            items: "dict[str, list[ScheduleItem]]" = {}
            for r in c.execute("SELECT account, " + ", ".join(ITEM_FIELDS) +
                               " FROM schedule_items ORDER BY id"):
                items.setdefault(r[0], []).append(ScheduleItem(*r[1:]))
            return [Account.from_row(r, aliases.get(r[0], ()), items.get(r[0], ()))
                    for r in c.execute(_ACCOUNT + " ORDER BY address")]

        return self._read(work, [])

    def enable(self, address: str, changes: dict, aliases: "list[str] | None",
               now: float) -> Account:
        now_iso = iso_utc(now)

        def work(c):
            row = c.execute(_ACCOUNT + " WHERE address = ?", (address,)).fetchone()
            old = Account.from_row(row) if row else None
            if old is None:
                owner = c.execute(_OWNER_OF, (address,)).fetchone()
                if owner:
                    raise ValueError(f"{address} is an alias of {owner[0]}; enable {owner[0]} "
                                     f"or remove the alias first")
            values, handle = plan_enable(old, changes, now_iso)
            if old is None:
                c.execute("INSERT INTO accounts (address, enabled, " + ", ".join(FIELDS) +
                          ", handle, created_at, updated_at) VALUES (?, 1, " +
                          ", ".join("?" * len(FIELDS)) + ", ?, ?, ?)",
                          (address, *[values[k] for k in FIELDS], handle, now_iso, now_iso))
            else:
                c.execute("UPDATE accounts SET enabled = 1, " +
                          ", ".join(f"{k} = ?" for k in FIELDS) +
                          ", handle = ?, updated_at = ? WHERE address = ?",
                          (*[values[k] for k in FIELDS], handle, now_iso, address))
            if aliases is not None:
                keep = check_aliases(
                    address, aliases,
                    lambda a: (c.execute(_OWNER_OF, (a,)).fetchone() or (None,))[0],
                    lambda a: c.execute("SELECT 1 FROM accounts WHERE address = ?",
                                        (a,)).fetchone() is not None)
                c.execute("DELETE FROM aliases WHERE account = ?", (address,))
                c.executemany("INSERT INTO aliases (alias, account) VALUES (?, ?)",
                              [(a, address) for a in keep])
            return self._account(c, address)

        return self._write(work)

    def disable(self, address: str, now: float) -> bool:
        return self._write(lambda c: c.execute(
            "UPDATE accounts SET enabled = 0, updated_at = ? WHERE address = ?",
            (iso_utc(now), address)).rowcount > 0)

    def add_item(self, address: str, fields: dict, now: float) -> ScheduleItem:
        def work(c):
            if c.execute("SELECT 1 FROM accounts WHERE address = ?", (address,)).fetchone() \
                    is None:
                raise ValueError(f"{address} has no vacation set up: `vacation enable` it "
                                 f"first")
            cur = self._insert_item(c, address, fields, iso_utc(now))
            c.execute("UPDATE accounts SET updated_at = ? WHERE address = ?",
                      (iso_utc(now), address))
            return ScheduleItem(*c.execute("SELECT " + ", ".join(ITEM_FIELDS) +
                                           " FROM schedule_items WHERE id = ?",
                                           (cur.lastrowid,)).fetchone())

        return self._write(work)

    @staticmethod
    def _insert_item(c, address: str, fields: dict, now_iso: str):
        """One new schedule item of `address` (add_item, save_vacation); the cursor."""
        names = ITEM_FIELDS[1:-1]
        return c.execute("INSERT INTO schedule_items (account, " + ", ".join(names) +
                         ", created_at) VALUES (?, " + ", ".join("?" * len(names)) + ", ?)",
                         (address, *item_values(fields), now_iso))

    def remove_item(self, address: str, item_id: int) -> bool:
        return self._write(lambda c: c.execute(
            "DELETE FROM schedule_items WHERE account = ? AND id = ?",
            (address, item_id)).rowcount > 0)

    # --- the ledger ----------------------------------------------------------------------

    @staticmethod
    def _assess(c, account, sender, handle, now, limits):
        since = now - limits.period

        def count(account_only: bool) -> int:
            where, args = ("account = ? AND ", (account,)) if account_only else ("", ())
            sent = c.execute(f"SELECT count(*) FROM replies WHERE {where}sent_at > ?",
                             (*args, since)).fetchone()[0]
            pending = c.execute(f"SELECT count(*) FROM ledger WHERE {where}state = 'pending' "
                                f"AND lease_until > ?", (*args, now)).fetchone()[0]
            return sent + pending

        def series():
            p, n = limits.series, len(limits.series)
            return tuple(c.execute(_SERIES, (now, handle, account, sender, n, p,
                                             now - limits.floor)).fetchone())

        return assess(c.execute(_LEDGER_ROW, (account, sender, handle)).fetchone(), now,
                      limits, count, series)

    def peek(self, account, sender, handle, now, limits):
        return self._read(lambda c: self._assess(c, account, sender, handle, now, limits),
                          Claimed(None))

    def claim(self, account, sender, handle, now, limits):
        def work(c):
            answer = self._assess(c, account, sender, handle, now, limits)
            if isinstance(answer, Claimed):
                c.execute(_WRITE_LEDGER, (account, sender, handle, "pending", now,
                                          now + limits.lease, None, now + limits.window))
                return Claimed(now)  # the claim's time is its token
            return answer

        return self._write(work)

    def release(self, account, sender, handle, token) -> None:
        self._write(lambda c: c.execute(
            "DELETE FROM ledger WHERE account = ? AND sender = ? AND handle = ? "
            "AND state = 'pending' AND claimed_at = ?", (account, sender, handle, token)))

    def mark_sent(self, account, sender, handle, now, window, message_id, status="sent",
                  detail="", token=None) -> None:
        def work(c):
            c.execute(_WRITE_LEDGER, (account, sender, handle, "sent",
                                      token if token is not None else now, now, now,
                                      now + window))
            c.execute("INSERT INTO replies (account, sender, handle, sent_at, message_id, "
                      "status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (account, sender, handle, now, message_id, status, detail or None))

        self._write(work)

    # --- history and maintenance ---------------------------------------------------------

    def history(self, account: str, limit: int = 100) -> "list[HistoryEntry]":
        return self._read(lambda c: [HistoryEntry(*r) for r in c.execute(
            "SELECT sender, sent_at, status, message_id, detail FROM replies WHERE account = ? "
            "ORDER BY sent_at DESC LIMIT ?", (account, limit))], [])

    def forget(self, account: str, sender: "str | None" = None) -> int:
        if sender:
            return self._write(lambda c: c.execute(
                "DELETE FROM ledger WHERE account = ? AND sender = ?", (account, sender)).rowcount)
        return self._write(lambda c: c.execute(
            "DELETE FROM ledger WHERE account = ?", (account,)).rowcount)

    def purge(self, now: float, older_than: float, keep_history: float) -> "tuple[int, int]":
        def work(c):
            n_ledger = c.execute(
                "DELETE FROM ledger WHERE expires_at <= ? AND (state = 'sent' OR "
                "lease_until <= ?)", (now - older_than, now)).rowcount
            n_hist = c.execute("DELETE FROM replies WHERE sent_at <= ?",
                               (now - keep_history,)).rowcount
            c.execute("DELETE FROM render_cache")  # a memo: rebuilt on the next reply
            return n_ledger, n_hist

        return self._write(work)

    # --- the render memo -----------------------------------------------------------------

    def memo_get(self, key: str):
        try:
            row = self._read(lambda c: c.execute(
                "SELECT subject, text, html, language, template, mime FROM render_cache "
                "WHERE key = ?", (key,)).fetchone(), None)
        except Exception:
            return None
        return None if row is None else memo_entry(row)

    def memo_put(self, key: str, rendered, mime: bytes, now: float) -> None:
        try:
            conn = self._db()
            if conn is not None:
                conn.execute("INSERT OR REPLACE INTO render_cache (key, subject, text, html, "
                             "mime, language, template, created_at) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?)",
                             (key, rendered.subject, rendered.text, rendered.html, mime,
                              rendered.language, rendered.template, now))
        except Exception:
            pass  # a memo: missing it costs time, never correctness

    # --- HTTP API tokens (autoresponder.http.tokens) --------------------------------------

    def token_add(self, token: ApiToken) -> None:
        import sqlite3

        def work(c):
            try:
                c.execute("INSERT INTO api_tokens (" + ", ".join(ApiToken.__slots__) +
                          ") VALUES (?, ?, ?, ?, ?, ?)", token._values())
            except sqlite3.IntegrityError:
                raise ValueError(f"a token with id {token.token_id} exists") from None

        self._write(work)

    def token_get(self, token_id: str) -> "ApiToken | None":
        row = self._read(lambda c: c.execute(_TOKEN + " WHERE token_id = ?",
                                             (token_id,)).fetchone(), None)
        return ApiToken(*row) if row else None

    def token_list(self) -> "list[ApiToken]":
        return self._read(lambda c: [ApiToken(*r) for r in c.execute(
            _TOKEN + " ORDER BY created_at, token_id")], [])

    def token_revoke(self, token_id: str, now: float) -> bool:
        return self._write(lambda c: c.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
            (iso_utc(now), token_id)).rowcount > 0)

    def save_vacation(self, address: str, changes: dict, aliases: "list[str] | None",
                      enabled: bool, now: float, check=None,
                      items: "list[dict] | None" = None) -> Account:
        now_iso = iso_utc(now)

        def work(c):
            old = self._account(c, address)
            if old is not None and old.address != address:
                raise ValueError(f"{address} is an alias of {old.address}")
            if check is not None:
                check(old)
            values, handle = plan_enable(old, changes, now_iso)
            args = (int(enabled), *[values[k] for k in FIELDS], handle, now_iso)
            if old is None:
                c.execute("INSERT INTO accounts (enabled, " + ", ".join(FIELDS) +
                          ", handle, updated_at, created_at, address) VALUES (" +
                          ", ".join("?" * (len(FIELDS) + 5)) + ")",
                          (*args, now_iso, address))
            else:
                c.execute("UPDATE accounts SET enabled = ?, " +
                          ", ".join(f"{k} = ?" for k in FIELDS) +
                          ", handle = ?, updated_at = ? WHERE address = ?", (*args, address))
            if aliases is not None:
                keep = check_aliases(
                    address, aliases,
                    lambda a: (c.execute(_OWNER_OF, (a,)).fetchone() or (None,))[0],
                    lambda a: c.execute("SELECT 1 FROM accounts WHERE address = ?",
                                        (a,)).fetchone() is not None)
                c.execute("DELETE FROM aliases WHERE account = ?", (address,))
                c.executemany("INSERT INTO aliases (alias, account) VALUES (?, ?)",
                              [(a, address) for a in keep])
            if items is not None:
                have = {r[0] for r in c.execute(
                    "SELECT id FROM schedule_items WHERE account = ?", (address,))}
                drop, new = split_items(address, items, have)
                # added before the dropped ones go: SQLite numbers a row max(id) + 1, so an
                # item that replaces another never takes the id the client knew it by
                for f in new:
                    self._insert_item(c, address, f, now_iso)
                c.executemany("DELETE FROM schedule_items WHERE account = ? AND id = ?",
                              [(address, i) for i in sorted(drop)])
            return self._account(c, address)

        return self._write(work)


def _os_error(what: str, path: str, e: OSError) -> StoreError:
    """A StoreError that names the path and the errno, for the log line an admin reads."""
    import errno

    name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "?"
    where = e.filename if isinstance(e.filename, str) and e.filename != path else ""
    detail = f"{name} {e.strerror or e}" + (f" on {where}" if where else "")
    return StoreError(f"{what} ({detail})", path, e.errno)


DIR_MODE = 0o750  # the delivery user and its group (admins reading logs), nobody else:
FILE_MODE = 0o640  # the ledger says who wrote to whom, and when


def _create_private(path: str) -> None:
    """Create the database's directory (0750) and an empty database file (0640) when they
    are missing, whatever the umask; SQLite gives its -wal and -shm files the mode (and, as
    root, the owner) of the database file."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        os.makedirs(d, mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def match_directory_owner(path: str) -> "str | None":
    """When root runs an admin command, give the database files to the owner of their
    directory and its group (the user the MTA runs the agent as, contrib/postfix step 1),
    or deliveries could no longer write them. A directory root owns cannot tell who that
    user is: then the answer is a warning for the admin (None otherwise)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    d = os.path.dirname(os.path.abspath(path))
    try:
        st = os.stat(d)
    except OSError:
        return None
    if st.st_uid == 0:
        return (f"{d} belongs to root, so deliveries (which run as the MTA's user) cannot "
                f"write the database in it; give the directory to that user: "
                f"chown -R USER:GROUP {d} (contrib/postfix/README.md, step 1)")
    for p in (path, path + "-wal", path + "-shm"):
        try:
            os.chown(p, st.st_uid, st.st_gid, follow_symlinks=False)
        except OSError:
            pass
    return None
