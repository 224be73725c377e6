"""``autoresponder db``: the schema's version (status), bringing it up to date (upgrade), and
moving one host's SQLite file into the shared PostgreSQL database (copy).

Delivery never changes a schema: a database older than the code asks for ``db upgrade``, a
newer one is refused (exit 75, the message waits) until this host's autoresponder is
upgraded too. ``db upgrade`` is the one deliberate step, run by the database's owner; on
PostgreSQL it applies every pending ``schema/postgresql/NNNN_*.sql`` in one transaction.
"""

import json
import sys

from autoresponder import exits


def add_commands(sub) -> None:
    d = sub.add_parser("db", help="database schema status, upgrade, and moving to PostgreSQL")
    ds = d.add_subparsers(dest="action", metavar="ACTION")
    ds.required = True
    st = ds.add_parser("status", help="the schema version of the database and what an "
                                      "upgrade would apply (exit 0 when up to date)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=status)
    up = ds.add_parser("upgrade", help="apply pending schema versions (never drops a ledger "
                                       "or history row)")
    up.set_defaults(func=upgrade)
    cp = ds.add_parser("copy", help="copy accounts, aliases, ledger and history from a SQLite "
                                    "file into PostgreSQL (idempotent)")
    cp.add_argument("--from", dest="source", metavar="SQLITE_PATH", required=True)
    cp.add_argument("--to", dest="target", metavar="URL",
                    help="postgresql:// URL (default: the config's database)")
    cp.add_argument("--json", action="store_true", help="print the counts as JSON")
    cp.set_defaults(func=copy)


def _describe(config) -> "tuple[str, str]":
    """(backend, where) for messages: a PostgreSQL URL without secrets or parameters."""
    from autoresponder import dburl

    if dburl.is_postgres(config.database):
        return "postgresql", dburl.redact(dburl.split(config.database)[0])
    return "sqlite", config.database


def _state(current, known: int) -> str:
    if current is None:
        return "no schema"
    if current > known:
        return "newer than this autoresponder"
    if current < known:
        return "upgrade pending"
    return "up to date"


def status(args, config) -> int:
    backend, where = _describe(config)
    if backend == "postgresql":
        from autoresponder.store.postgres import PostgresStore

        with PostgresStore(config.database, config.busy_timeout) as s:
            current, known, pending = s.schema_status()
    else:
        from autoresponder.store.sqlite import SCHEMA_VERSION, SqliteStore

        current = SqliteStore(config.database, config.busy_timeout,
                              readonly=True).schema_version()
        known = SCHEMA_VERSION
        pending = [] if current is not None and current >= known else [(known, "schema.sql")]
    state = _state(current, known)
    if args.json:
        print(json.dumps({"backend": backend, "database": where, "version": current,
                          "known": known, "state": state,
                          "pending": [{"version": v, "description": d} for v, d in pending]}))
    else:
        print(f"database: {where} ({backend})")
        print(f"schema version: {current if current is not None else 'none'}; this "
              f"autoresponder knows {known}: {state}")
        for v, d in pending:
            print(f"pending: {v} {d}")
        if state == "newer than this autoresponder":
            print("deliveries on this host defer mail (75) until autoresponder is upgraded")
        elif pending:
            print("run `autoresponder db upgrade` to apply the pending versions")
    return exits.OK if state == "up to date" else exits.DATAERR


def upgrade(args, config) -> int:
    backend, where = _describe(config)
    if backend == "postgresql":
        from autoresponder.store.postgres import PostgresStore

        with PostgresStore(config.database, config.busy_timeout) as s:
            applied = s.upgrade_schema()
            current, _, _ = s.schema_status()
    else:
        from autoresponder.store.sqlite import SqliteStore

        before = SqliteStore(config.database, config.busy_timeout,
                             readonly=True).schema_version()
        with SqliteStore(config.database, config.busy_timeout, create=True) as s:
            s.list_accounts()  # opening for writing applies schema.sql (idempotent)
            current = s.schema_version()
        applied = [current] if before != current else []
    if applied:
        names = {}
        if backend == "postgresql":
            from autoresponder.store.postgres import migrations

            names = {v: d for v, d, _ in migrations()}
        done = ", ".join(f"{v} ({names[v]})" if v in names else str(v) for v in applied)
        print(f"{where}: applied schema version{'s' if len(applied) > 1 else ''} {done}; "
              f"now at {current}")
    else:
        print(f"{where}: already at schema version {current}; nothing to do")
    return exits.OK


def copy(args, config) -> int:
    from autoresponder import dburl
    from autoresponder.store.sqlite import SCHEMA_VERSION, SqliteStore

    target = args.target or config.database
    if not dburl.is_postgres(target):
        print("autoresponder: db copy: --to must be a postgresql:// URL (or the config's "
              "database one)", file=sys.stderr)
        return exits.USAGE
    try:
        dburl.check_url(target, "--to")
    except dburl.DatabaseConfigError as e:
        print(f"autoresponder: db copy: {e}", file=sys.stderr)
        return exits.USAGE
    source = SqliteStore(args.source, config.busy_timeout, readonly=True)
    version = source.schema_version()
    if version is None:
        print(f"autoresponder: db copy: no SQLite database at {args.source}", file=sys.stderr)
        return exits.DATAERR
    if version != SCHEMA_VERSION:
        print(f"autoresponder: db copy: {args.source} has schema version {version}, this "
              f"autoresponder copies version {SCHEMA_VERSION}", file=sys.stderr)
        return exits.DATAERR
    rows = source.export()
    source.close()
    from autoresponder.store.postgres import PostgresStore

    with PostgresStore(target, config.busy_timeout) as dest:
        counts = dest.import_rows(rows)
    where = dburl.redact(dburl.split(target)[0])
    if args.json:
        print(json.dumps({"from": args.source, "to": where, "counts": counts}))
    else:
        print(f"copied {args.source} -> {where}")
        for table, c in counts.items():
            print(f"  {table}: " + ", ".join(f"{v} {k}" for k, v in c.items()))
    return exits.OK
