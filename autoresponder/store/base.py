"""The store's contract: what delivery and the admin commands ask of a database, and the plain
values it answers with.

The store answers with what it found (claimed; already sent at T until U; another claim
pending until T; over a cap with N in the period) and the delivery line
(``autoresponder.line``) turns that into an outcome: nothing here imports the line, a rule or
an outcome. The decisions that are not SQL (what a claim checks, how ``enable`` merges
settings, which aliases are acceptable) live here once, so each backend only runs queries.

A backend (``store/sqlite.py``; ``store/postgres.py``) subclasses ``Store``: an ``abc`` class
rather than a ``typing.Protocol`` because importing ``typing`` costs more than a whole skip
on the per-message path, while ``abc`` is loaded at interpreter start; a backend that misses
a method then fails when it is built, not in the middle of a delivery. All methods are
synchronous; async callers use ``asyncio.to_thread`` (one connection per thread).
"""

import abc

from autoresponder.derived import iso_utc

# The account settings an admin sets (``vacation enable``); the rest of a row is bookkeeping.
FIELDS = ("start_at", "end_at", "subject", "message", "template", "language",
          "interval_seconds", "from_name", "timezone", "start_local", "end_local",
          "internal_domains", "external", "external_subject", "external_message",
          "external_template", "reply_from", "answer_group_mail")
# What the reply's handle depends on: change one and every sender gets the new reply.
CONTENT_FIELDS = ("subject", "message", "template", "language", "from_name", "external",
                  "external_subject", "external_message", "external_template")
# The multi-line reply texts, kept in one form whoever writes them (see body_text).
BODY_FIELDS = ("message", "external_message")
# The fields of one queued absence or weekly window (the schedule_items table), in order.
ITEM_FIELDS = ("id", "kind", "key", "start_local", "end_local", "spec", "subject", "message",
               "template", "external_subject", "external_message", "external_template",
               "created_at")


class _Record:
    """A plain value with ``__slots__``: positional or keyword construction, equality and a
    repr (``dataclasses`` would import ``inspect`` and ``re`` on the per-message path)."""

    __slots__ = ()
    _DEFAULTS: dict = {}

    def __init__(self, *args, **kw):
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} values")
        for name, value in zip(names, args):
            setattr(self, name, value)
        for name in names[len(args):]:
            if name in kw:
                setattr(self, name, kw.pop(name))
            elif name in self._DEFAULTS:
                setattr(self, name, self._DEFAULTS[name])
            else:
                raise TypeError(f"{type(self).__name__}: missing {name}")
        if kw:
            raise TypeError(f"{type(self).__name__}: unknown {', '.join(kw)}")

    def _values(self) -> tuple:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *map(repr, self._values())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({inner})"


class Account(_Record):
    """An account's vacation settings, as stored. ``start_at``/``end_at`` are UTC text
    (``derived.ISO_FMT``); ``start_local``/``end_local`` the same times as the owner typed
    them, wall-clock in the account's zone (``YYYY-MM-DDTHH:MM``), which is what delivery
    reads when they are set (the UTC pair is kept for older readers and sorting).
    ``timezone`` None: the config's (``default_zone``, filled in by the delivery line).
    ``items``: the queued absences and weekly windows (ScheduleItem), oldest first."""

    __slots__ = ("address", "enabled", "start_at", "end_at", "subject", "message", "template",
                 "language", "interval_seconds", "from_name", "handle", "created_at",
                 "updated_at", "timezone", "start_local", "end_local", "internal_domains",
                 "external", "external_subject", "external_message", "external_template",
                 "reply_from", "answer_group_mail", "aliases", "items", "default_zone")
    COLUMNS = __slots__[:-3]  # the accounts table, in this order
    _DEFAULTS = {"aliases": (), "items": (), "default_zone": "UTC", "timezone": None,
                 "start_local": None, "end_local": None, "internal_domains": None,
                 "external": None, "external_subject": None, "external_message": None,
                 "external_template": None, "reply_from": None, "answer_group_mail": None}

    @classmethod
    def from_row(cls, row, aliases=(), items=()) -> "Account":
        a = cls(*row, aliases=list(aliases), items=list(items))
        a.enabled = bool(a.enabled)
        if a.answer_group_mail is not None:
            a.answer_group_mail = bool(a.answer_group_mail)
        return a

    def addresses(self) -> "list[str]":
        return [self.address, *self.aliases]

    def zone_name(self) -> str:
        """The IANA zone the account's times are wall-clock times in."""
        return self.timezone or self.default_zone or "UTC"

    def scheduled(self) -> bool:
        """Does answering depend on the clock in the account's zone (wall-clock dates, queued
        absences, weekly windows)? When not, no zone is ever loaded (the per-message path)."""
        return bool(self.items or self.start_local or self.end_local)

    def active_at(self, now: float) -> "str | None":
        """None when the vacation is in force at `now`, else why not."""
        if not self.enabled:
            return "the vacation is disabled"
        if self.scheduled():
            from autoresponder import answer

            return answer.why_not(self, now)
        t = iso_utc(now)
        if self.start_at and t < self.start_at:
            return f"the vacation starts at {self.start_at}"
        if self.end_at and t >= self.end_at:
            return f"the vacation ended at {self.end_at}"
        return None

    def over(self, now: float) -> bool:
        """True when nothing will ever answer again (disabled, or every absence ended and
        every window past its bounds): postfix-map leaves the account out."""
        if not self.enabled:
            return True
        if self.scheduled():
            from autoresponder import answer

            return answer.over(self, now)
        return bool(self.end_at and iso_utc(now) >= self.end_at)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.COLUMNS}
        d["enabled"] = int(bool(self.enabled))
        d["aliases"] = list(self.aliases)
        d["items"] = [i.as_dict() for i in self.items]
        return d


class ScheduleItem(_Record):
    """One queued absence (kind ``absence``: wall-clock start/end, either may be None) or
    weekly window (kind ``window``: ``spec`` in the syntax of ``schedule.parse_window``), with
    its own reply content (None: the account's). `key` names it in the reply's handle."""

    __slots__ = ITEM_FIELDS

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


class HistoryEntry(_Record):
    """One reply that left (status ``sent``) or was refused for good (``rejected``)."""

    __slots__ = ("sender", "sent_at", "status", "message_id", "detail")


class ApiToken(_Record):
    """An HTTP API token as stored: its public id, the SHA-256 of the whole token (the token
    itself is shown once and never stored), whom it speaks for (``account`` None: an admin
    token) and when it was made or revoked (UTC text)."""

    __slots__ = ("token_id", "digest", "account", "label", "created_at", "revoked_at")


class Limits(_Record):
    """What a claim checks: the window per sender, the lease of a pending claim, and the caps
    on replies per account and for all accounts in `period` seconds (0: no cap).

    `series` and `floor`: for a weekly window, whose every occurrence is a handle of its own,
    the handles of the window share the prefix `series`, and a sender who got a reply under
    any of them in the last `floor` seconds gets none now (the hosting rule: one auto-reply
    per sender per 24 h, also when occurrences come closer than that). The floor is read from
    the ledger, whose rows live for the whole interval (floor <= interval): purge never drops
    a row the floor still needs."""

    __slots__ = ("window", "lease", "per_account", "global_", "period", "series", "floor")
    _DEFAULTS = {"series": "", "floor": 0}


# --- what a claim (or a peek) answers ------------------------------------------------------

class Claimed(_Record):
    """The right to reply is ours: send, then mark_sent (or release) with this token."""

    __slots__ = ("token",)


class AlreadySent(_Record):
    """This sender got this reply at `sent_at`; the window ends at `until`."""

    __slots__ = ("sent_at", "until")


class Pending(_Record):
    """Another delivery holds a live claim (it may be sending right now) until `until`."""

    __slots__ = ("until",)


class OverCap(_Record):
    """`count` replies in the last `period` seconds reached `limit`; scope is ``account``
    (this account's cap) or ``global`` (all accounts')."""

    __slots__ = ("scope", "count", "limit", "period")


def assess(row, now: float, limits: Limits, count,
           series=None) -> "Claimed | AlreadySent | Pending | OverCap":
    """What a claim checks, in one place for every backend.

    `row` is the ledger row ``(state, lease_until, sent_at, expires_at)`` or None; `count`
    is ``count(account_only: bool) -> int``, the replies sent plus live pending claims in
    the period; `series` (asked only when ``limits.floor`` is set) is ``series() ->
    (last sent_at, latest live lease)`` over the other handles of ``limits.series`` (None
    for none). Answers Claimed(None) when the claim may be written (the backend fills in
    its token)."""
    if row is not None:
        state, lease_until, sent_at, expires_at = row
        if state == "sent" and expires_at > now:
            return AlreadySent(sent_at, expires_at)
        if state == "pending" and lease_until > now:
            return Pending(lease_until)
    if limits.series and limits.floor > 0 and series is not None:
        last, lease = series()
        if last is not None and last + limits.floor > now:
            return AlreadySent(last, last + limits.floor)
        if lease is not None and lease > now:
            return Pending(lease)
    if limits.per_account:
        n = count(True)
        if n >= limits.per_account:
            return OverCap("account", n, limits.per_account, limits.period)
    if limits.global_:
        n = count(False)
        if n >= limits.global_:
            return OverCap("global", n, limits.global_, limits.period)
    return Claimed(None)


# --- account administration, the decisions shared by every backend -------------------------

def compute_handle(values: dict, epoch: str) -> str:
    """RFC 5230 :handle of a reply: it changes when the reply's content changes or when the
    vacation is enabled anew, so senders then get the new reply. Fields are separated by NUL
    so that no two different settings hash alike."""
    import hashlib

    h = hashlib.sha256()
    for k in CONTENT_FIELDS:
        h.update(str(values.get(k) or "").encode("utf-8", "surrogatepass") + b"\0")
    h.update(epoch.encode())
    return h.hexdigest()[:16]


def body_text(text: "str | None") -> "str | None":
    """A reply's multi-line text as stored: LF line breaks (a browser posts a textarea with
    CRLF, a file may have either), no blank lines before or after; None when empty. Every
    writer (CLI, API, page) stores through this, and every "has it changed?" compares
    through it, so the same words never count as new content (which would answer senders
    already answered once more)."""
    if not text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n") or None


def same_content(field: str, a, b) -> bool:
    """Are two stored values of a content field the same words (None and "" alike)?"""
    if field in BODY_FIELDS:
        return body_text(a) == body_text(b)
    return (a or None) == (b or None)


def new_item_key(kind: str) -> str:
    """A fresh key for a new absence ("a...") or window ("w..."): it names the item in the
    reply's handle, so a new item answers senders anew and a kept one never does."""
    import secrets

    return kind[0] + secrets.token_hex(4)


def item_values(fields: dict) -> list:
    """An item's ITEM_FIELDS but id and created_at, as the schedule_items row stores them."""
    return [body_text(fields.get(k)) if k in BODY_FIELDS else fields.get(k)
            for k in ITEM_FIELDS[1:-1]]


def plan_enable(old: "Account | None", changes: dict, now_iso: str) -> "tuple[dict, str]":
    """The settings and handle `enable` stores: (values for FIELDS, handle).

    Fields not in `changes` keep their value when the vacation is already on; a vacation
    that was off (or new) starts afresh: dates not given are cleared and the handle changes.
    ValueError when the result makes no sense (an end not after the start)."""
    import secrets

    fresh = old is None or not old.enabled
    values = {k: None for k in FIELDS}
    values["template"] = "default"
    if old is not None:
        values.update({k: getattr(old, k) for k in FIELDS})
        if fresh:
            values["start_at"] = values["end_at"] = None
            values["start_local"] = values["end_local"] = None
    values.update(changes)
    for k in BODY_FIELDS:
        values[k] = body_text(values[k])
    if values["start_at"] and values["end_at"] and values["end_at"] <= values["start_at"]:
        raise ValueError(f"the end ({values['end_at']}) is not after the start "
                         f"({values['start_at']})")
    content_changed = old is None or not all(
        same_content(k, getattr(old, k), values[k]) for k in CONTENT_FIELDS)
    if fresh or content_changed:
        handle = compute_handle(values, f"{now_iso}/{secrets.token_hex(8)}")
    else:
        handle = old.handle
    return values, handle


def check_aliases(address: str, aliases: "list[str]", owner_of, is_account) -> "list[str]":
    """The aliases `enable` may store for `address` (sorted, unique), or ValueError.

    `owner_of(alias)` is the account an alias belongs to (or None), `is_account(address)`
    whether an account of that address exists."""
    for alias in aliases:
        if alias == address:
            raise ValueError(f"{alias} is the account itself, not an alias")
        owner = owner_of(alias)
        if owner is not None and owner != address:
            raise ValueError(f"{alias} is already an alias of {owner}")
        if is_account(alias):
            raise ValueError(f"{alias} is an account of its own, not an alias")
    return sorted(set(aliases))


def split_items(address: str, items: "list[dict]", have: "set[int]") -> "tuple[set, list]":
    """What save_vacation's `items` asks of the account's schedule items, whose ids are
    `have`: (ids to drop, fields of the items to add, in order). An entry with an "id" keeps
    that item (key and all); one without is new (ITEM_FIELDS but id and created_at).
    ValueError for an id the account does not have, or one kept twice."""
    keep: "set[int]" = set()
    new = []
    for entry in items:
        if entry.get("id") is None:
            new.append(entry)
            continue
        i = entry["id"]
        if i not in have:
            raise ValueError(f"{address} has no absence or window #{i} (any more)")
        if i in keep:
            raise ValueError(f"absence or window #{i} is listed twice")
        keep.add(i)
    return have - keep, new


# --- errors --------------------------------------------------------------------------------

def memo_entry(row) -> "tuple":
    """A render_cache row (subject, text, html, language, template, mime) as the memo's
    answer: (Rendered, MIME body)."""
    from autoresponder.replytext import Rendered

    return Rendered(row[0], row[1], row[2], row[3], row[4], True), bytes(row[5])


class StoreError(Exception):
    """The store could not answer (unreachable, unreadable, damaged). Delivery defers the
    message (75) after releasing its claim; an admin command prints one line. `location`
    names the file or server, `errno` the OS error when there is one."""

    def __init__(self, reason: str, location: str = "", errno: "int | None" = None):
        super().__init__(reason)
        self.reason, self.location, self.errno = reason, location, errno

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}" if self.location else self.reason


class StoreBusy(StoreError):
    """The store stayed locked past its busy timeout: nothing was written, a retry is safe."""


# --- the interface -------------------------------------------------------------------------

class Store(abc.ABC):
    """Accounts, the reply ledger, the reply history and the render memo.

    Times are Unix seconds (floats) except the account's stored UTC text. A store opened
    read-only (``open_store(config, readonly=True)``) answers every read and refuses every
    write; delivery's store never creates the database (no database: no accounts)."""

    # accounts
    @abc.abstractmethod
    def find_account(self, address: str) -> "Account | None":
        """The account of a normalised address, by its own address or one of its aliases."""

    @abc.abstractmethod
    def list_accounts(self) -> "list[Account]":
        """Every account, by address."""

    @abc.abstractmethod
    def enable(self, address: str, changes: dict, aliases: "list[str] | None",
               now: float) -> Account:
        """Create or update an account and switch its vacation on (plan_enable decides the
        values); aliases None keeps the list, a list replaces it. ValueError for settings
        that make no sense."""

    @abc.abstractmethod
    def disable(self, address: str, now: float) -> bool:
        """Switch a vacation off (settings kept); False when there is no such account."""

    @abc.abstractmethod
    def add_item(self, address: str, fields: dict, now: float) -> "ScheduleItem":
        """Queue an absence or a weekly window (``fields``: ITEM_FIELDS but id and
        created_at) for an existing account; ValueError when there is no such account."""

    @abc.abstractmethod
    def remove_item(self, address: str, item_id: int) -> bool:
        """Drop one of the account's absences or windows; False when it has none by that id."""

    # the ledger
    @abc.abstractmethod
    def peek(self, account: str, sender: str, handle: str, now: float,
             limits: Limits) -> "Claimed | AlreadySent | Pending | OverCap":
        """What claim() would answer, writing nothing (``explain``); Claimed(None)."""

    @abc.abstractmethod
    def claim(self, account: str, sender: str, handle: str, now: float,
              limits: Limits) -> "Claimed | AlreadySent | Pending | OverCap":
        """Atomically: assess(), and on Claimed write a pending claim with a lease."""

    @abc.abstractmethod
    def release(self, account: str, sender: str, handle: str, token) -> None:
        """Drop our pending claim (only ours: `token` from Claimed) so a retry can reply."""

    @abc.abstractmethod
    def mark_sent(self, account: str, sender: str, handle: str, now: float, window: int,
                  message_id: str, status: str = "sent", detail: str = "",
                  token=None) -> None:
        """Turn the claim into a sent row (the window starts now) and add to the history;
        written even if another delivery re-claimed meanwhile: a reply did leave."""

    # history and maintenance
    @abc.abstractmethod
    def history(self, account: str, limit: int = 100) -> "list[HistoryEntry]":
        """The account's replies, newest first."""

    @abc.abstractmethod
    def forget(self, account: str, sender: "str | None" = None) -> int:
        """Drop the account's ledger rows (or one sender's): the next message gets a reply."""

    @abc.abstractmethod
    def purge(self, now: float, older_than: float, keep_history: float) -> "tuple[int, int]":
        """Drop ledger rows whose window ended `older_than` seconds ago (never a live pending
        claim), history older than `keep_history`, and the render memo. (ledger, history)."""

    # the render memo
    @abc.abstractmethod
    def memo_get(self, key: str):
        """(replytext.Rendered, MIME body bytes) memoised under `key`, or None. Never raises:
        a memo that cannot be read is a memo that misses."""

    @abc.abstractmethod
    def memo_put(self, key: str, rendered, mime: bytes, now: float) -> None:
        """Keep a rendering; never raises (missing the memo costs time, not correctness)."""

    # HTTP API tokens (autoresponder.http.tokens makes and checks them)
    @abc.abstractmethod
    def token_add(self, token: ApiToken) -> None:
        """Store a new token (its digest only); ValueError if the id is taken."""

    @abc.abstractmethod
    def token_get(self, token_id: str) -> "ApiToken | None":
        """The token of that id, revoked or not."""

    @abc.abstractmethod
    def token_list(self) -> "list[ApiToken]":
        """Every token, oldest first."""

    @abc.abstractmethod
    def token_revoke(self, token_id: str, now: float) -> bool:
        """Mark a live token revoked; False when there is no such live token."""

    @abc.abstractmethod
    def save_vacation(self, address: str, changes: dict, aliases: "list[str] | None",
                      enabled: bool, now: float, check=None,
                      items: "list[dict] | None" = None) -> Account:
        """Like enable, but the vacation ends up on or off as `enabled` says, and
        `check(old Account or None)` runs inside the same transaction first (it raises to
        refuse: the HTTP API's ifInState). `items`: None keeps the absences and windows, a
        list says which to keep and which to add (split_items; the rest are dropped).
        One transaction: all of it or nothing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    def notice(self) -> "str | None":
        """Something an admin must see in the log line of a delivery that found no account,
        such as "no database file at PATH"; None when all is as expected."""
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
