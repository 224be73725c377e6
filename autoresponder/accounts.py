"""Account administration for async callers (tests, the coming HTTP API): enable, disable,
show, list, history, purge, forget.

Each call opens the store (``autoresponder.store``, the same queries delivery and the admin
commands use) and runs it in a worker thread with ``asyncio.to_thread``, one connection per
call: there is no second, asynchronous implementation of the SQL. Rows are plain dicts, as
``vacation show --json`` prints them.
"""

import time

from autoresponder import addresses
from autoresponder.store.base import FIELDS, compute_handle  # noqa: F401 - re-exported


def _with_store(config, work):
    from autoresponder.store import open_store

    store = open_store(config, create=True)
    try:
        return work(store)
    finally:
        store.close()


async def _call(config, work):
    import asyncio

    return await asyncio.to_thread(_with_store, config, work)


async def enable(config, address: str, changes: dict, aliases: "list[str] | None") -> dict:
    """Create or update an account and switch its vacation on. Returns the stored row."""
    acct = await _call(config, lambda s: s.enable(address, changes, aliases, time.time()))
    return acct.as_dict()


async def disable(config, address: str) -> bool:
    return await _call(config, lambda s: s.disable(address, time.time()))


async def add_item(config, address: str, fields: dict) -> dict:
    """Queue an absence or add a weekly window (store.Store.add_item); the stored row."""
    item = await _call(config, lambda s: s.add_item(address, fields, time.time()))
    return item.as_dict()


async def remove_item(config, address: str, item_id: int) -> bool:
    return await _call(config, lambda s: s.remove_item(address, item_id))


async def show(config, address: str) -> "dict | None":
    acct = await _call(config, lambda s: s.find_account(address))
    return acct.as_dict() if acct is not None else None


async def list_all(config) -> "list[dict]":
    return [a.as_dict() for a in await _call(config, lambda s: s.list_accounts())]


async def history(config, address: str, limit: int = 100) -> "list[dict]":
    return [history_row(h) for h in await _call(config, lambda s: s.history(address, limit))]


async def purge(config, older_than: int, keep_history: int) -> "tuple[int, int]":
    return await _call(config, lambda s: s.purge(time.time(), older_than,
                                                 purge_keep(config, keep_history)))


async def forget(config, address: str, sender: "str | None") -> int:
    return await _call(config, lambda s: s.forget(address, sender))


def history_row(h) -> dict:
    """A store.base.HistoryEntry as `history --json` prints it."""
    from autoresponder.derived import iso_utc

    return {"sender": h.sender, "sent_at": iso_utc(h.sent_at), "status": h.status,
            "message_id": h.message_id, "detail": h.detail}


def purge_keep(config, keep_history: float) -> float:
    """History is never purged inside the rate-limit period: the caps count it."""
    return max(keep_history, config.rate_limit.period)


def normalize_account(address: str, config) -> str:
    """An account address as stored: normalised, without +detail."""
    n = addresses.normalize(address)
    if not n:
        raise ValueError(f"{address!r} is not a mail address (local@domain)")
    return addresses.strip_detail(n, config.recipient_delimiter)
