"""The PostgreSQL store: one database shared by every mail host, over psycopg 3.

Same semantics as the SQLite store; what differs is how a claim stays atomic when many
processes on many hosts ask at once:

* The row: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the old row is void (its window
  ended, or its pending lease ran out), ``RETURNING`` the token. Only one writer can turn a
  row into a live claim; a loser gets no row back and reads what won.
* The caps: counting "sent + live pending in the period" and then inserting is a
  read-then-write, so claims that count against a cap take transaction-scoped advisory locks
  first: one per account (``hashtext(account)``) when ``per_account`` is set, then one for
  all accounts when ``global`` is set, always in that order (no deadlock). Two claims of one
  account, or any two claims under a global cap, are then serialised for the few
  milliseconds of the claim, so the count a claim sees includes every claim committed
  before it and the caps never overshoot. SERIALIZABLE would give the same guarantee but
  answers contention with serialization failures to retry; under the 64-at-once drill that
  means many rounds, where a lock queue means one wait each. The locks go with the
  transaction: a crashed client holds nothing.

Every claim carries a random 63-bit token; ``release`` deletes only its own pending row and
``mark_sent`` records the reply once even when it is retried after a lost connection (the
history row is unique per token). A lost connection in ``mark_sent`` is ``StoreBusy``, so
the delivery line retries it (the reply has left; an unrecorded one would be sent again
after the lease).

The schema is versioned (``schema/postgresql/NNNN_*.sql``, the ``schema_version`` table).
A store refuses a database whose schema is newer than this code knows, before it reads or
writes anything; an older one asks for ``autoresponder db upgrade``; an empty database is
given the schema only by a store opened with ``create`` (admin commands).

Connections: one per thread, opened on first use (a one-shot ``deliver`` pays for one
connection, and only when a message gets past the header rules), or a ``psycopg_pool``
pool after ``use_pool()`` (``serve``). The password comes from libpq (passfile, service
file, environment) or from ``password_file``; it is never part of a location or message
this module produces.
"""

import os
import threading
import time

import psycopg

from autoresponder import dburl
from autoresponder.derived import iso_utc
from autoresponder.store.base import (FIELDS, ITEM_FIELDS, Account, ApiToken, Claimed,
                                      HistoryEntry, Pending, ScheduleItem, Store, StoreBusy,
                                      StoreError, assess, check_aliases, memo_entry, plan_enable,
                                      item_values, split_items)

SCHEMA_VERSION = 3  # the newest schema/postgresql/NNNN_*.sql this code knows

# Advisory lock classes (the two-int form: a namespace of our own, then the key).
LOCK_ACCOUNT = 0x61720001  # + hashtext(account): claims of one account
LOCK_GLOBAL = 0x61720002   # + 0: claims under the global cap
LOCK_ADMIN = 0x61720003    # + 0: account administration and schema upgrades

_COLS = ", ".join(f"a.{c}" for c in Account.COLUMNS)
_TOKEN = "SELECT " + ", ".join(ApiToken.__slots__) + " FROM api_tokens"
_ALIASES = "ARRAY(SELECT alias FROM aliases WHERE account = a.address ORDER BY alias)"
_FIND = (f"SELECT {_COLS}, {_ALIASES} FROM accounts a WHERE a.address = %(a)s OR a.address = "
         "(SELECT account FROM aliases WHERE alias = %(a)s) ORDER BY a.address = %(a)s DESC "
         "LIMIT 1")
_LEDGER_ROW = ("SELECT state, lease_until, sent_at, expires_at FROM ledger "
               "WHERE account = %s AND sender = %s AND handle = %s")
_ITEM_COLS = ", ".join(ITEM_FIELDS)
_ITEMS_OF = f"SELECT {_ITEM_COLS} FROM schedule_items WHERE account = %s ORDER BY id"
_SERIES = ("SELECT max(CASE WHEN state = 'sent' THEN sent_at END), "
           "max(CASE WHEN state = 'pending' AND lease_until > %(now)s AND handle <> %(h)s "
           "THEN lease_until END) FROM ledger WHERE account = %(a)s AND sender = %(s)s AND "
           "substr(handle, 1, %(n)s) = %(p)s AND (state = 'pending' OR sent_at > %(since)s)")
_COUNT_ACCOUNT = ("SELECT (SELECT count(*) FROM replies WHERE account = %(a)s AND "
                  "sent_at > %(since)s) + (SELECT count(*) FROM ledger WHERE account = %(a)s "
                  "AND state = 'pending' AND lease_until > %(now)s)")
_COUNT_ALL = ("SELECT (SELECT count(*) FROM replies WHERE sent_at > %(since)s) + "
              "(SELECT count(*) FROM ledger WHERE state = 'pending' AND lease_until > %(now)s)")
_CLAIM = ("INSERT INTO ledger AS l (account, sender, handle, state, claimed_at, lease_until, "
          "sent_at, expires_at, token) VALUES (%(a)s, %(s)s, %(h)s, 'pending', %(now)s, "
          "%(lease)s, NULL, %(expires)s, %(token)s) "
          "ON CONFLICT (account, sender, handle) DO UPDATE SET state = 'pending', "
          "claimed_at = EXCLUDED.claimed_at, lease_until = EXCLUDED.lease_until, "
          "sent_at = NULL, expires_at = EXCLUDED.expires_at, token = EXCLUDED.token "
          "WHERE (l.state = 'sent' AND l.expires_at <= %(now)s) "
          "OR (l.state = 'pending' AND l.lease_until <= %(now)s) RETURNING l.token")
_SENT = ("INSERT INTO ledger AS l (account, sender, handle, state, claimed_at, lease_until, "
         "sent_at, expires_at, token) VALUES (%(a)s, %(s)s, %(h)s, 'sent', %(claimed)s, "
         "%(now)s, %(now)s, %(expires)s, %(token)s) "
         "ON CONFLICT (account, sender, handle) DO UPDATE SET state = 'sent', "
         "lease_until = EXCLUDED.lease_until, sent_at = EXCLUDED.sent_at, "
         "expires_at = EXCLUDED.expires_at, token = EXCLUDED.token")
_HISTORY_ADD = ("INSERT INTO replies (account, sender, handle, sent_at, message_id, status, "
                "detail, token) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (account, sender, handle, token) WHERE token IS NOT NULL "
                "DO NOTHING")

# SQLSTATEs after which nothing was written and a retry is safe.
_BUSY = {"40001", "40P01", "55P03", "57014", "25P03"}


def _token() -> int:
    return int.from_bytes(os.urandom(8), "big") >> 1


def _clean(text) -> "str | None":
    """PostgreSQL text holds no NUL; a transport's reply could."""
    return None if text is None else str(text).replace("\0", "")


_shared: dict = {}  # (conninfo, password_file, readonly) -> ConnectionPool, after share_pools()
_shared_lock = threading.Lock()
_sharing = False


def share_pools(on: bool = True) -> None:
    """From now on, stores opened by ``open_store`` in this process borrow connections from
    one psycopg_pool pool per database (``pool_size`` connections, default 4), however many
    threads open stores: what ``serve`` wants (its worker threads each open a store). A
    one-shot ``deliver`` never calls this."""
    global _sharing
    _sharing = on


def close_shared_pools() -> None:
    """Close the shared pools (``serve`` shutting down)."""
    with _shared_lock:
        pools = list(_shared.values())
        _shared.clear()
    for pool in pools:
        pool.close()


def open_store(config, readonly: bool = False, create: bool = False) -> "PostgresStore":
    store = PostgresStore(config.database, busy_timeout=config.busy_timeout,
                          readonly=readonly, create=create)
    if _sharing:
        key = (store.conninfo, store.password_file, store.readonly)
        with _shared_lock:
            pool = _shared.get(key)
            if pool is None:
                pool = _shared[key] = store._new_pool(store.pool_size)
        store._pool, store._owns_pool = pool, False
    return store


class PostgresStore(Store):
    """A PostgreSQL database named by a ``postgresql://`` URL (see ``autoresponder.dburl``)."""

    def __init__(self, url: str, busy_timeout: float = 10.0, readonly: bool = False,
                 create: bool = False):
        self.conninfo, ours = dburl.split(url)
        self.location = dburl.redact(self.conninfo)
        self.password_file = ours.get("password_file") or None
        self.pool_size = int(ours.get("pool_size") or 4)
        self.busy_timeout = float(busy_timeout or 10.0)
        self.readonly = readonly
        self.create = create and not readonly
        self._local = threading.local()
        self._conns: list = []
        self._lock = threading.Lock()
        self._pool = None
        self._owns_pool = False
        self._verified = 0.0  # when the schema version was last found acceptable

    # --- connections ---------------------------------------------------------------------

    def connect_kwargs(self) -> dict:
        """What psycopg.connect gets besides the URL: timeouts bounded by busy_timeout, the
        password when it comes from password_file, read-only sessions for a read-only store."""
        ms = max(1, int(self.busy_timeout * 1000))
        options = f"-c lock_timeout={ms} -c statement_timeout={ms * 3}"
        if self.readonly:
            options += " -c default_transaction_read_only=on"
        kw = {"autocommit": True, "application_name": "autoresponder", "options": options}
        if "connect_timeout" not in self.conninfo:
            kw["connect_timeout"] = max(2, int(self.busy_timeout))
        if self.password_file:
            kw["password"] = self._read_password()
        return kw

    def _read_password(self) -> str:
        try:
            with open(self.password_file, encoding="utf-8") as f:
                secret = f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"cannot read password_file {self.password_file}: "
                             f"{getattr(e, 'strerror', None) or type(e).__name__}",
                             self.location, getattr(e, "errno", None)) from None
        if not secret:
            raise StoreError(f"password_file {self.password_file} is empty", self.location)
        return secret

    def _connect(self):
        try:
            conn = psycopg.connect(self.conninfo, **self.connect_kwargs())
        except psycopg.Error as e:
            err = self._error(e)
            err.unreachable = True
            raise err from None
        return conn

    def use_pool(self, max_size: "int | None" = None, min_size: int = 1) -> None:
        """Share connections through a psycopg_pool pool (``serve``): broken connections are
        replaced, idle ones checked. Call once, before the store is used from threads."""
        self._pool = self._new_pool(max(min_size, max_size or self.pool_size), min_size)
        self._owns_pool = True

    def _new_pool(self, max_size: int, min_size: int = 1):
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(self.conninfo, kwargs=self.connect_kwargs(), min_size=min_size,
                              max_size=max(min_size, max_size), open=False,
                              check=ConnectionPool.check_connection,
                              timeout=self.busy_timeout, name="autoresponder")
        pool.open(wait=False)
        return pool

    def _checkout(self):
        """A context manager yielding a connection whose schema is known to be usable."""
        if self._pool is not None:
            return _PoolLease(self)
        return _ThreadLease(self)

    def _thread_conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or conn.broken):
            self._forget(conn)
            conn = None
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _forget(self, conn) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        try:
            conn.close()
        except Exception:
            pass

    def _verify(self, conn) -> None:
        """Refuse a schema this code does not know (newer: upgrade the software; older or
        missing: run `db upgrade`), before anything is read or written. Rechecked every
        minute on long-lived connections, so a `serve` notices another host's upgrade."""
        if self._verified and time.monotonic() - self._verified < 60:
            return
        version = schema_version(conn)
        if version is None and self.create:
            upgrade(conn)
            version = schema_version(conn)
        if version is None:
            raise StoreError("the database has no autoresponder schema: run `autoresponder "
                             "db upgrade` (as the database's owner)", self.location)
        if version > SCHEMA_VERSION:
            raise StoreError(f"the database's schema is version {version}, newer than this "
                             f"autoresponder knows ({SCHEMA_VERSION}); nothing was read or "
                             f"written: upgrade autoresponder on this host", self.location)
        if version < SCHEMA_VERSION:
            raise StoreError(f"the database's schema is version {version}, older than this "
                             f"autoresponder needs ({SCHEMA_VERSION}): run `autoresponder db "
                             f"upgrade`", self.location)
        self._verified = time.monotonic()

    def _error(self, e, busy: bool = False) -> StoreError:
        """psycopg's error as the store's: StoreBusy when nothing was written and a retry is
        safe (lock or statement timeout, serialization failure, deadlock) or when `busy`
        says so; otherwise StoreError. The text is the server's first line: it names roles
        and hosts, never a password."""
        text = (str(e).strip().splitlines() or [type(e).__name__])[0]
        state = getattr(e, "sqlstate", None)
        if busy or state in _BUSY:
            return StoreBusy(text, self.location)
        return StoreError(text, self.location)

    def _run(self, work, write: bool, busy_on_loss: bool = False):
        """work(conn) in one transaction, psycopg's errors turned into the store's."""
        if write and self.readonly:
            raise StoreError("the store is open read-only", self.location)
        try:
            with self._checkout() as conn:
                try:
                    if not write:  # autocommit: no BEGIN/COMMIT round trips for reads
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
                except psycopg.OperationalError as e:
                    lost = conn.closed or conn.broken
                    raise self._error(e, busy=busy_on_loss and lost) from None
                except psycopg.Error as e:
                    raise self._error(e) from None
        except StoreError as e:
            if busy_on_loss and getattr(e, "unreachable", False):
                raise StoreBusy(e.reason, e.location) from None
            raise

    def close(self) -> None:
        if self._pool is not None:
            if self._owns_pool:
                self._pool.close()
            self._pool = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass
        self._local = threading.local()

    # --- the schema and moving in (``autoresponder db``) -----------------------------------

    def _admin_conn(self):
        """A connection that skips the schema check (status and upgrade look at it)."""
        return self._thread_conn()

    def schema_status(self) -> "tuple[int | None, int, list[tuple[int, str]]]":
        """(the database's version or None without a schema, the newest this code knows,
        the versions an upgrade would apply)."""
        try:
            conn = self._admin_conn()
            current = schema_version(conn)
            done = _applied(conn) if current is not None else set()
        except psycopg.Error as e:
            raise self._error(e) from None
        pending = [(v, d) for v, d, _ in migrations() if v not in done]
        return current, SCHEMA_VERSION, pending

    def upgrade_schema(self) -> "list[int]":
        """Apply the pending versions (db upgrade); the versions applied."""
        if self.readonly:
            raise StoreError("the store is open read-only", self.location)
        try:
            return upgrade(self._admin_conn())
        except psycopg.Error as e:
            raise self._error(e) from None

    def import_rows(self, rows: dict) -> dict:
        """Merge what another store exported (``db copy``) in one transaction, safe to
        re-run: accounts by address (the newer ``updated_at`` wins), aliases unless another
        account holds them, ledger rows unless the database already knows a later window
        for that sender, history rows unless already there. Counts per table."""
        counts = {}

        def work(c):
            c.execute("SET LOCAL statement_timeout = 0")  # a big history takes its time
            c.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_ADMIN,))
            new = updated = kept = 0
            cols = Account.COLUMNS
            for row in rows.get("accounts", ()):
                row = list(row)
                row[1] = bool(row[1])
                g = cols.index("answer_group_mail")
                if row[g] is not None:
                    row[g] = bool(row[g])
                got = c.execute(
                    "INSERT INTO accounts AS a (" + ", ".join(cols) + ") VALUES (" +
                    ", ".join(["%s"] * len(cols)) + ") ON CONFLICT (address) DO UPDATE SET " +
                    ", ".join(f"{k} = EXCLUDED.{k}" for k in cols[1:]) +
                    " WHERE a.updated_at < EXCLUDED.updated_at RETURNING (xmax = 0)",
                    [_clean(v) if isinstance(v, str) else v for v in row]).fetchone()
                if got is None:
                    kept += 1
                elif got[0]:
                    new += 1
                else:
                    updated += 1
            counts["accounts"] = {"new": new, "updated": updated, "kept": kept}
            new = conflicts = present = 0
            for alias, account in rows.get("aliases", ()):
                owner = c.execute("SELECT account FROM aliases WHERE alias = %s",
                                  (alias,)).fetchone()
                if owner is not None:
                    if owner[0] == account:
                        present += 1
                    else:
                        conflicts += 1
                    continue
                if c.execute("SELECT 1 FROM accounts WHERE address = %s",
                             (alias,)).fetchone() is not None:
                    conflicts += 1
                    continue
                c.execute("INSERT INTO aliases (alias, account) VALUES (%s, %s)",
                          (alias, account))
                new += 1
            counts["aliases"] = {"new": new, "present": present, "conflicts": conflicts}
            new = updated = kept = 0
            for row in rows.get("ledger", ()):
                got = c.execute(
                    "INSERT INTO ledger AS l (account, sender, handle, state, claimed_at, "
                    "lease_until, sent_at, expires_at, token) VALUES (%s, %s, %s, %s, %s, %s, "
                    "%s, %s, NULL) ON CONFLICT (account, sender, handle) DO UPDATE SET "
                    "state = EXCLUDED.state, claimed_at = EXCLUDED.claimed_at, "
                    "lease_until = EXCLUDED.lease_until, sent_at = EXCLUDED.sent_at, "
                    "expires_at = EXCLUDED.expires_at, token = NULL "
                    "WHERE EXCLUDED.state = 'sent' AND (l.state = 'pending' OR "
                    "l.expires_at < EXCLUDED.expires_at) RETURNING (xmax = 0)",
                    tuple(row)).fetchone()
                if got is None:
                    kept += 1
                elif got[0]:
                    new += 1
                else:
                    updated += 1
            counts["ledger"] = {"new": new, "updated": updated, "kept": kept}
            new = present = 0
            for account, sender, handle, sent_at, message_id, status, detail in \
                    rows.get("replies", ()):
                n = c.execute(
                    "INSERT INTO replies (account, sender, handle, sent_at, message_id, "
                    "status, detail) SELECT %(a)s, %(s)s, %(h)s, %(t)s, %(m)s, %(st)s, %(d)s "
                    "WHERE NOT EXISTS (SELECT 1 FROM replies WHERE account = %(a)s AND "
                    "sent_at = %(t)s AND sender = %(s)s AND handle = %(h)s)",
                    {"a": account, "s": sender, "h": handle, "t": sent_at,
                     "m": _clean(message_id), "st": status, "d": _clean(detail)}).rowcount
                new += n
                present += 1 - n
            counts["history"] = {"new": new, "present": present}
            new = present = 0
            for r in rows.get("schedule", ()):
                account, fields = r[0], dict(zip(ITEM_FIELDS, r[1:]))
                n = c.execute(
                    "INSERT INTO schedule_items (account, kind, key, start_local, end_local, "
                    "spec, subject, message, template, external_subject, external_message, "
                    "external_template, created_at) SELECT %(account)s, %(kind)s, %(key)s, "
                    "%(start_local)s, %(end_local)s, %(spec)s, %(subject)s, %(message)s, "
                    "%(template)s, %(external_subject)s, %(external_message)s, "
                    "%(external_template)s, %(created_at)s WHERE EXISTS (SELECT 1 FROM "
                    "accounts WHERE address = %(account)s) AND NOT EXISTS (SELECT 1 FROM "
                    "schedule_items WHERE account = %(account)s AND key = %(key)s)",
                    {**{k: _clean(v) if isinstance(v, str) else v for k, v in fields.items()},
                     "account": account}).rowcount
                new += n
                present += 1 - n
            counts["schedule"] = {"new": new, "present": present}
            return counts

        return self._run(work, write=True)

    # --- accounts ------------------------------------------------------------------------

    @staticmethod
    def _account(c, address: str) -> "Account | None":
        row = c.execute(_FIND, {"a": address}).fetchone()
        if row is None:
            return None
        items = [ScheduleItem(*r) for r in c.execute(_ITEMS_OF, (row[0],))]
        return Account.from_row(row[:-1], row[-1], items)

    def find_account(self, address: str) -> "Account | None":
        return self._run(lambda c: self._account(c, address), write=False)

    def list_accounts(self) -> "list[Account]":
        def work(c):
            items: "dict[str, list[ScheduleItem]]" = {}
            for r in c.execute(f"SELECT account, {_ITEM_COLS} FROM schedule_items "
                               "ORDER BY id"):
                items.setdefault(r[0], []).append(ScheduleItem(*r[1:]))
            return [Account.from_row(r[:-1], r[-1], items.get(r[0], ())) for r in c.execute(
                f"SELECT {_COLS}, {_ALIASES} FROM accounts a ORDER BY a.address")]

        return self._run(work, write=False)

    def enable(self, address: str, changes: dict, aliases: "list[str] | None",
               now: float) -> Account:
        now_iso = iso_utc(now)
        for v in changes.values():
            if isinstance(v, str) and "\0" in v:
                raise ValueError("a setting holds a NUL character")

        def work(c):
            c.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_ADMIN,))
            row = c.execute(f"SELECT {_COLS} FROM accounts a WHERE a.address = %s",
                            (address,)).fetchone()
            old = Account.from_row(row) if row else None
            if old is None:
                owner = c.execute("SELECT account FROM aliases WHERE alias = %s",
                                  (address,)).fetchone()
                if owner:
                    raise ValueError(f"{address} is an alias of {owner[0]}; enable {owner[0]} "
                                     f"or remove the alias first")
            values, handle = plan_enable(old, changes, now_iso)
            args = [values[k] for k in FIELDS]
            if old is None:
                c.execute("INSERT INTO accounts AS a (address, enabled, " + ", ".join(FIELDS) +
                          ", handle, created_at, updated_at) VALUES (%s, true, " +
                          ", ".join(["%s"] * len(FIELDS)) + ", %s, %s, %s)",
                          (address, *args, handle, now_iso, now_iso))
            else:
                c.execute("UPDATE accounts SET enabled = true, " +
                          ", ".join(f"{k} = %s" for k in FIELDS) +
                          ", handle = %s, updated_at = %s WHERE address = %s",
                          (*args, handle, now_iso, address))
            if aliases is not None:
                keep = check_aliases(
                    address, aliases,
                    lambda a: (c.execute("SELECT account FROM aliases WHERE alias = %s",
                                         (a,)).fetchone() or (None,))[0],
                    lambda a: c.execute("SELECT 1 FROM accounts WHERE address = %s",
                                        (a,)).fetchone() is not None)
                c.execute("DELETE FROM aliases WHERE account = %s", (address,))
                with c.cursor() as cur:
                    cur.executemany("INSERT INTO aliases (alias, account) VALUES (%s, %s)",
                                    [(a, address) for a in keep])
            return self._account(c, address)

        return self._run(work, write=True)

    def disable(self, address: str, now: float) -> bool:
        return self._run(lambda c: c.execute(
            "UPDATE accounts SET enabled = false, updated_at = %s WHERE address = %s",
            (iso_utc(now), address)).rowcount > 0, write=True)

    def add_item(self, address: str, fields: dict, now: float) -> ScheduleItem:
        for v in fields.values():
            if isinstance(v, str) and "\0" in v:
                raise ValueError("a setting holds a NUL character")

        def work(c):
            c.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_ADMIN,))
            if c.execute("SELECT 1 FROM accounts WHERE address = %s",
                         (address,)).fetchone() is None:
                raise ValueError(f"{address} has no vacation set up: `vacation enable` it "
                                 f"first")
            item = self._insert_item(c, address, fields, iso_utc(now))
            c.execute("UPDATE accounts SET updated_at = %s WHERE address = %s",
                      (iso_utc(now), address))
            return item

        return self._run(work, write=True)

    @staticmethod
    def _insert_item(c, address: str, fields: dict, now_iso: str) -> ScheduleItem:
        """One new schedule item of `address` (add_item, save_vacation)."""
        names = ITEM_FIELDS[1:-1]
        return ScheduleItem(*c.execute(
            "INSERT INTO schedule_items AS s (account, " + ", ".join(names) +
            ", created_at) VALUES (%s, " + ", ".join(["%s"] * len(names)) +
            f", %s) RETURNING {_ITEM_COLS}",
            (address, *item_values(fields), now_iso)).fetchone())

    def remove_item(self, address: str, item_id: int) -> bool:
        return self._run(lambda c: c.execute(
            "DELETE FROM schedule_items WHERE account = %s AND id = %s",
            (address, item_id)).rowcount > 0, write=True)

    # --- the ledger ----------------------------------------------------------------------

    @staticmethod
    def _assess(c, account, sender, handle, now, limits):
        args = {"a": account, "since": now - limits.period, "now": now}

        def count(account_only: bool) -> int:
            return c.execute(_COUNT_ACCOUNT if account_only else _COUNT_ALL,
                             args).fetchone()[0]

        def series():
            return tuple(c.execute(_SERIES, {
                "a": account, "s": sender, "since": now - limits.floor, "now": now,
                "h": handle, "n": len(limits.series), "p": limits.series}).fetchone())

        row = c.execute(_LEDGER_ROW, (account, sender, handle)).fetchone()
        return assess(row, now, limits, count, series)

    def peek(self, account, sender, handle, now, limits):
        return self._run(lambda c: self._assess(c, account, sender, handle, now, limits),
                         write=False)

    def claim(self, account, sender, handle, now, limits):
        def work(c):
            if limits.per_account or limits.floor:
                c.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                          (LOCK_ACCOUNT, account))
            if limits.global_:
                c.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_GLOBAL,))
            answer = self._assess(c, account, sender, handle, now, limits)
            if not isinstance(answer, Claimed):
                return answer
            token = _token()
            won = c.execute(_CLAIM, {"a": account, "s": sender, "h": handle, "now": now,
                                     "lease": now + limits.lease,
                                     "expires": now + limits.window,
                                     "token": token}).fetchone()
            if won is not None:
                return Claimed(token)
            # Another host turned the row into a live claim (or a sent row) between our
            # read and our write: its answer, not ours.
            row = c.execute(_LEDGER_ROW, (account, sender, handle)).fetchone()
            answer = assess(row, now, limits, lambda _only: 0)
            if isinstance(answer, Claimed):  # clocks disagree: let the lease decide
                return Pending(row[1] if row else now + limits.lease)
            return answer

        return self._run(work, write=True)

    def release(self, account, sender, handle, token) -> None:
        self._run(lambda c: c.execute(
            "DELETE FROM ledger WHERE account = %s AND sender = %s AND handle = %s "
            "AND state = 'pending' AND token = %s", (account, sender, handle, token)),
            write=True)

    def mark_sent(self, account, sender, handle, now, window, message_id, status="sent",
                  detail="", token=None) -> None:
        def work(c):
            c.execute(_SENT, {"a": account, "s": sender, "h": handle, "claimed": now,
                              "now": now, "expires": now + window, "token": token})
            c.execute(_HISTORY_ADD, (account, sender, handle, now, _clean(message_id),
                                     status, _clean(detail) or None, token))

        # The reply has left: a lost connection is worth retrying (StoreBusy), and a retry
        # after a commit we did not hear about adds no second history row (unique token).
        self._run(work, write=True, busy_on_loss=True)

    # --- history and maintenance ---------------------------------------------------------

    def history(self, account: str, limit: int = 100) -> "list[HistoryEntry]":
        return self._run(lambda c: [HistoryEntry(*r) for r in c.execute(
            "SELECT sender, sent_at, status, message_id, detail FROM replies "
            "WHERE account = %s ORDER BY sent_at DESC, id DESC LIMIT %s",
            (account, limit))], write=False)

    def forget(self, account: str, sender: "str | None" = None) -> int:
        if sender:
            return self._run(lambda c: c.execute(
                "DELETE FROM ledger WHERE account = %s AND sender = %s",
                (account, sender)).rowcount, write=True)
        return self._run(lambda c: c.execute(
            "DELETE FROM ledger WHERE account = %s", (account,)).rowcount, write=True)

    def purge(self, now: float, older_than: float, keep_history: float) -> "tuple[int, int]":
        def work(c):
            n_ledger = c.execute(
                "DELETE FROM ledger WHERE expires_at <= %s AND (state = 'sent' OR "
                "lease_until <= %s)", (now - older_than, now)).rowcount
            n_hist = c.execute("DELETE FROM replies WHERE sent_at <= %s",
                               (now - keep_history,)).rowcount
            # a memo, rebuilt on the next reply (DELETE, not TRUNCATE: no exclusive lock)
            c.execute("DELETE FROM render_cache WHERE true")
            return n_ledger, n_hist

        return self._run(work, write=True)

    # --- the render memo -----------------------------------------------------------------

    @staticmethod
    def _memo_key(key: str) -> bytes:
        return key.encode("utf-8", "surrogatepass")

    def memo_get(self, key: str):
        try:
            k = self._memo_key(key)
            row = self._run(lambda c: c.execute(
                "SELECT subject, text, html, language, template, mime FROM render_cache "
                "WHERE sha256(key) = sha256(%s) AND key = %s", (k, k)).fetchone(), write=False)
        except Exception:
            return None
        return None if row is None else memo_entry(row)

    def memo_put(self, key: str, rendered, mime: bytes, now: float) -> None:
        if self.readonly:
            return
        try:
            k = self._memo_key(key)
            self._run(lambda c: c.execute(
                "INSERT INTO render_cache (key, subject, text, html, mime, language, template, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT ((sha256(key))) DO UPDATE SET subject = EXCLUDED.subject, "
                "text = EXCLUDED.text, html = EXCLUDED.html, mime = EXCLUDED.mime, "
                "language = EXCLUDED.language, template = EXCLUDED.template, "
                "created_at = EXCLUDED.created_at",
                (k, rendered.subject, rendered.text, rendered.html, mime, rendered.language,
                 rendered.template, now)), write=True)
        except Exception:
            pass  # a memo: missing it costs time, never correctness

    # --- for the HTTP API: tokens and the JMAP VacationResponse ----------------------------

    def token_add(self, token: ApiToken) -> None:
        def work(c):
            try:
                with c.transaction():
                    c.execute("INSERT INTO api_tokens AS t (" +
                              ", ".join(ApiToken.__slots__) + ") VALUES (%s, %s, %s, %s, %s, %s)",
                              token._values())
            except psycopg.errors.UniqueViolation:
                raise ValueError(f"a token with id {token.token_id} exists") from None

        self._run(work, write=True)

    def token_get(self, token_id: str) -> "ApiToken | None":
        row = self._run(lambda c: c.execute(_TOKEN + " WHERE token_id = %s",
                                            (token_id,)).fetchone(), write=False)
        return ApiToken(*row) if row else None

    def token_list(self) -> "list[ApiToken]":
        return self._run(lambda c: [ApiToken(*r) for r in c.execute(
            _TOKEN + " ORDER BY created_at, token_id")], write=False)

    def token_revoke(self, token_id: str, now: float) -> bool:
        return self._run(lambda c: c.execute(
            "UPDATE api_tokens SET revoked_at = %s WHERE token_id = %s AND revoked_at IS NULL",
            (iso_utc(now), token_id)).rowcount > 0, write=True)

    def save_vacation(self, address: str, changes: dict, aliases: "list[str] | None",
                      enabled: bool, now: float, check=None,
                      items: "list[dict] | None" = None) -> Account:
        now_iso = iso_utc(now)
        for v in [*changes.values(), *(v for f in items or () for v in f.values())]:
            if isinstance(v, str) and "\0" in v:
                raise ValueError("a setting holds a NUL character")

        def work(c):
            c.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_ADMIN,))
            old = self._account(c, address)
            if old is not None and old.address != address:
                raise ValueError(f"{address} is an alias of {old.address}")
            if check is not None:
                check(old)
            values, handle = plan_enable(old, changes, now_iso)
            args = (bool(enabled), *[values[k] for k in FIELDS], handle, now_iso)
            if old is None:
                c.execute("INSERT INTO accounts AS a (enabled, " + ", ".join(FIELDS) +
                          ", handle, updated_at, created_at, address) VALUES (" +
                          ", ".join(["%s"] * (len(FIELDS) + 5)) + ")",
                          (*args, now_iso, address))
            else:
                c.execute("UPDATE accounts SET enabled = %s, " +
                          ", ".join(f"{k} = %s" for k in FIELDS) +
                          ", handle = %s, updated_at = %s WHERE address = %s", (*args, address))
            if aliases is not None:
                keep = check_aliases(
                    address, aliases,
                    lambda a: (c.execute("SELECT account FROM aliases WHERE alias = %s",
                                         (a,)).fetchone() or (None,))[0],
                    lambda a: c.execute("SELECT 1 FROM accounts WHERE address = %s",
                                        (a,)).fetchone() is not None)
                c.execute("DELETE FROM aliases WHERE account = %s", (address,))
                with c.cursor() as cur:
                    cur.executemany("INSERT INTO aliases (alias, account) VALUES (%s, %s)",
                                    [(a, address) for a in keep])
            if items is not None:
                have = {r[0] for r in c.execute(
                    "SELECT id FROM schedule_items WHERE account = %s", (address,))}
                drop, new = split_items(address, items, have)
                for f in new:  # one by one: ids in the order given
                    self._insert_item(c, address, f, now_iso)
                if drop:
                    c.execute("DELETE FROM schedule_items WHERE account = %s AND id = ANY(%s)",
                              (address, sorted(drop)))
            return self._account(c, address)

        return self._run(work, write=True)


class _ThreadLease:
    """This thread's connection, checked against the schema once."""

    __slots__ = ("store", "conn")

    def __init__(self, store: PostgresStore):
        self.store = store

    def __enter__(self):
        self.conn = self.store._thread_conn()
        try:
            self.store._verify(self.conn)
        except psycopg.Error as e:
            raise self.store._error(e) from None
        return self.conn

    def __exit__(self, *exc) -> None:
        if self.conn.closed or self.conn.broken:
            self.store._forget(self.conn)


class _PoolLease:
    """A connection borrowed from the pool (returned, or replaced when broken, on exit)."""

    __slots__ = ("store", "cm")

    def __init__(self, store: PostgresStore):
        self.store = store

    def __enter__(self):
        from psycopg_pool import PoolTimeout

        self.cm = self.store._pool.connection()
        try:
            conn = self.cm.__enter__()
        except PoolTimeout as e:
            raise StoreBusy(f"no database connection within {self.store.busy_timeout:g} s: "
                            f"{str(e).splitlines()[0]}", self.store.location) from None
        try:
            self.store._verify(conn)
        except BaseException as e:
            self.cm.__exit__(type(e), e, e.__traceback__)
            if isinstance(e, psycopg.Error):
                raise self.store._error(e) from None
            raise
        return conn

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)


# --- the schema: versions, status, upgrade ---------------------------------------------------

def migrations() -> "list[tuple[int, str, str]]":
    """(version, description, path) of every schema/postgresql/NNNN_name.sql, in order."""
    from autoresponder.resources import data_path

    d = os.path.join(data_path("schema"), "postgresql")
    found = []
    for name in sorted(os.listdir(d)):
        stem, dot, ext = name.partition(".")
        number, _, words = stem.partition("_")
        if ext == "sql" and number.isdigit():
            found.append((int(number), words.replace("_", " "), os.path.join(d, name)))
    return found


def schema_version(conn) -> "int | None":
    """The database's schema version, or None when it has no schema_version table (one
    round trip: this runs once per delivery)."""
    try:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            return _max_version(conn)
        with conn.transaction():  # inside upgrade's transaction: a savepoint
            return _max_version(conn)
    except psycopg.errors.UndefinedTable:
        return None


def _applied(conn) -> "set[int]":
    try:
        with conn.transaction():
            return {r[0] for r in conn.execute("SELECT version FROM schema_version")}
    except psycopg.errors.UndefinedTable:
        return set()


def _max_version(conn) -> int:
    """The version the database is at: the newest applied, or just below the first version
    this code knows that is missing (versions merged out of order are applied by their own
    number; one missing in between means `db upgrade` is due)."""
    done = {r[0] for r in conn.execute("SELECT version FROM schema_version")}
    missing = sorted({v for v, _, _ in migrations()} - done)
    top = max(done, default=0)
    return min(top, missing[0] - 1) if missing else top


def upgrade(conn) -> "list[int]":
    """Apply the pending versions, all in one transaction under the admin lock (two hosts
    upgrading at once: the second finds nothing to do). Versions only add; none drops a
    ledger or history row. Returns the versions applied."""
    applied = []
    with conn.transaction():
        conn.execute("SET LOCAL statement_timeout = 0")  # an index on a big table takes time
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_ADMIN,))
        current = schema_version(conn) or 0
        if current > SCHEMA_VERSION:
            raise StoreError(f"the database's schema is version {current}, newer than this "
                             f"autoresponder knows ({SCHEMA_VERSION}); not touched")
        done = _applied(conn)
        for version, description, path in migrations():
            if version in done:  # by its own number: versions merged out of order apply too
                continue
            with open(path, encoding="utf-8") as f:
                conn.execute(f.read())
            conn.execute("INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                         (version, description))
            applied.append(version)
    return applied
