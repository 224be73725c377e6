"""The reply ledger: at most one reply per (account, sender, handle) per window, atomically.

A claim is made in one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock serialises all
deliveries of all processes): check the window and the rate limits, then write a *pending* row
with a short lease. The sender of the claim then sends and marks the row *sent*; if sending
fails it deletes the row (release) so a retry can claim again. A process that dies between
claim and send leaves a pending row that stops counting once its lease has passed, so the reply
is neither lost for the whole window nor sent twice while another process is still sending.
"""

import sqlite3

from autoresponder.decision import Decision, skip
from autoresponder.errors import DatabaseBusy
from autoresponder.store import iso_utc


class Limits:
    __slots__ = ("window", "lease", "per_account", "global_", "period")

    def __init__(self, window: int, lease: int, per_account: int, global_: int, period: int):
        self.window = window
        self.lease = lease
        self.per_account = per_account
        self.global_ = global_
        self.period = period

    @classmethod
    def for_account(cls, config, account) -> "Limits":
        window = account.interval_seconds
        if window is None:
            window = config.interval
        rl = config.rate_limit
        return cls(window, config.lease, rl.per_account, getattr(rl, "global"), rl.period)


def _check(conn, account: str, sender: str, handle: str, now: float, lim: Limits):
    row = conn.execute(
        "SELECT state, lease_until, sent_at, expires_at FROM ledger "
        "WHERE account = ? AND sender = ? AND handle = ?", (account, sender, handle)).fetchone()
    if row is not None:
        state, lease_until, sent_at, expires_at = row
        if state == "sent" and expires_at > now:
            return skip("already-replied", f"{sender} already got this reply at "
                        f"{iso_utc(sent_at)}; the next one is possible after "
                        f"{iso_utc(expires_at)}")
        if state == "pending" and lease_until > now:
            return skip("already-replied", f"another delivery is sending {sender} this reply "
                        f"right now (claim held until {iso_utc(lease_until)})")
    since = now - lim.period
    if lim.per_account:
        n = _count(conn, since, now, account)
        if n >= lim.per_account:
            return skip("rate-limit", f"{account} sent {n} replies in the last "
                        f"{_human(lim.period)} (limit {lim.per_account})")
    if lim.global_:
        n = _count(conn, since, now, None)
        if n >= lim.global_:
            return skip("rate-limit", f"all accounts sent {n} replies in the last "
                        f"{_human(lim.period)} (global limit {lim.global_})")
    return None


def _count(conn, since: float, now: float, account: "str | None") -> int:
    where, args = ("account = ? AND ", (account,)) if account else ("", ())
    sent = conn.execute(f"SELECT count(*) FROM replies WHERE {where}sent_at > ?",
                        (*args, since)).fetchone()[0]
    pending = conn.execute(f"SELECT count(*) FROM ledger WHERE {where}state = 'pending' "
                           f"AND lease_until > ?", (*args, now)).fetchone()[0]
    return sent + pending


def _human(seconds: int) -> str:
    from autoresponder.durations import format_duration

    return format_duration(seconds)


def peek(conn, account: str, sender: str, handle: str, now: float,
         lim: Limits) -> "Decision | None":
    """What claim() would say, without writing (for `explain`)."""
    if conn is None:
        return None
    return _check(conn, account, sender, handle, now, lim)


def _immediate(conn, work):
    """Run work(conn) in one BEGIN IMMEDIATE transaction; a lock past the busy timeout is
    DatabaseBusy (the caller exits 75: nothing was written, a retry is safe)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise DatabaseBusy(str(e)) from None
        raise
    return result


def claim(conn, account: str, sender: str, handle: str, now: float,
          lim: Limits) -> "Decision | None":
    """Claim the right to reply. None: claimed, go on and send; a Decision: skip."""
    def work(c):
        d = _check(c, account, sender, handle, now, lim)
        if d is None:
            c.execute(
                "INSERT OR REPLACE INTO ledger (account, sender, handle, state, claimed_at, "
                "lease_until, sent_at, expires_at) VALUES (?, ?, ?, 'pending', ?, ?, NULL, ?)",
                (account, sender, handle, now, now + lim.lease, now + lim.window))
        return d

    return _immediate(conn, work)


def release(conn, account: str, sender: str, handle: str, claimed_at: float) -> None:
    """Give our pending claim back after a failed send, so the retry can reply. Only ours:
    claimed_at is the claim's token, so a claim another process took after our lease ran out
    is left alone."""
    _immediate(conn, lambda c: c.execute(
        "DELETE FROM ledger WHERE account = ? AND sender = ? AND handle = ? "
        "AND state = 'pending' AND claimed_at = ?", (account, sender, handle, claimed_at)))


def mark_sent(conn, account: str, sender: str, handle: str, now: float, window: int,
              message_id: str, status: str = "sent", detail: str = "",
              claimed_at: "float | None" = None) -> None:
    """Turn our claim into a sent row (the window starts now) and log the reply. The row is
    written even if another process re-claimed it meanwhile: a reply did leave."""
    def work(c):
        c.execute("INSERT OR REPLACE INTO ledger (account, sender, handle, state, claimed_at, "
                  "lease_until, sent_at, expires_at) VALUES (?, ?, ?, 'sent', ?, ?, ?, ?)",
                  (account, sender, handle, claimed_at if claimed_at is not None else now,
                   now, now, now + window))
        c.execute("INSERT INTO replies (account, sender, handle, sent_at, message_id, "
                  "status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (account, sender, handle, now, message_id, status, detail or None))

    _immediate(conn, work)
