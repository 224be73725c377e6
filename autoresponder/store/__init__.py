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
SUPPORTED = "a file path (SQLite) or postgresql://"


def _scheme(value: str) -> "str | None":
    """The URL scheme of a ``database`` value (``scheme://...``), or None for a path."""
    head, sep, _ = value.partition("://")
    if sep and head and head[0].isascii() and head[0].isalpha() and all(
            c.isascii() and (c.isalnum() or c in "+.-") for c in head):
        return head.lower()
    return None


def database_location(value: str, config_file: "str | None") -> str:
    """The ``database`` setting as open_store takes it: a URL whose scheme open_store knows,
    or an absolute path. A relative path is taken relative to the config file's directory
    (under Postfix's pipe the current directory is not the admin's); ValueError for an
    unknown scheme, or a relative path without a config file."""
    import os

    scheme = _scheme(value)
    if scheme is not None:
        if value.lower().startswith(_PG_SCHEMES):
            return value
        raise ValueError(f"unsupported URL scheme {scheme}:// (expected {SUPPORTED})")
    if os.path.isabs(value):
        return value
    if not config_file or not os.path.isfile(config_file):
        raise ValueError(f"the relative path {value!r} needs a config file to be relative "
                         f"to: give an absolute path")
    return os.path.join(os.path.dirname(os.path.abspath(config_file)), value)


def is_postgresql(config) -> bool:
    """Whether `config.database` names a PostgreSQL server (imports nothing of the driver)."""
    return str(config.database).lower().startswith(_PG_SCHEMES)


def open_store(config, readonly: bool = False, create: bool = False) -> Store:
    """The store for `config`. `readonly`: reads only (``explain``, ``postfix-map``);
    `create`: make the database and its schema when missing (admin commands only: delivery
    never creates one, and a missing SQLite file means no account is on vacation)."""
    where = config.database
    if _scheme(where) is not None:
        if not where.lower().startswith(_PG_SCHEMES):
            raise StoreError(f"unsupported URL scheme (expected {SUPPORTED})", where)
        try:
            from autoresponder.store import postgres
        except ImportError as e:
            raise StoreError(f"PostgreSQL support is not available here: {e}",
                             where.split("@")[-1]) from None
        return postgres.open_store(config, readonly=readonly, create=create)
    from autoresponder.store.sqlite import SqliteStore

    return SqliteStore(where, config.busy_timeout, readonly=readonly, create=create)
