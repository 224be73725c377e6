"""Where accounts, the reply ledger, the history and the render memo are kept.

``open_store(config)`` picks the backend from ``config.database``: a file path is SQLite
(``store/sqlite.py``); ``postgresql://`` is PostgreSQL (``store/postgres.py``, imported only
then). Every backend implements ``store.base.Store``; delivery, ``explain`` and the admin
commands all go through it. Opening costs nothing: the database is reached on first use, so
a message the header rules skip never touches it.
"""

from autoresponder.store.base import (  # noqa: F401 - the names callers need
    Account, AlreadySent, Claimed, HistoryEntry, Limits, OverCap, Pending, Store, StoreBusy,
    StoreError)

_PG_SCHEMES = ("postgresql://", "postgres://")


def open_store(config, readonly: bool = False, create: bool = False) -> Store:
    """The store for `config`. `readonly`: reads only (``explain``, ``postfix-map``);
    `create`: make the database and its schema when missing (admin commands only: delivery
    never creates one, and a missing SQLite file means no account is on vacation)."""
    where = config.database
    if where.startswith(_PG_SCHEMES):
        from autoresponder.store import postgres

        return postgres.open_store(config, readonly=readonly, create=create)
    from autoresponder.store.sqlite import SqliteStore

    return SqliteStore(where, config.busy_timeout, readonly=readonly, create=create)
