"""The store's contract (``autoresponder.store.base.Store``), one suite run against every
backend: a real SQLite file and a real PostgreSQL database (the private cluster of
tests/support/pgcluster.py). What one backend answers, the other must answer too.

Times are explicit (``T0`` and offsets), never the wall clock, so windows, leases and the
rate-limit period are exact. The concurrency tests use one store object (one connection)
per thread, as separate processes or hosts would.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoresponder.replytext import Rendered
from autoresponder.store.base import (AlreadySent, Claimed, HistoryEntry, Limits, OverCap,
                                      Pending, StoreError)

T0 = 1_800_000_000.0
DAY = 86400
ANA = "ana@example.com"
BOB = "bob@example.org"
LIMITS = Limits(window=DAY, lease=300, per_account=0, global_=0, period=3600)
TABLES = "accounts, aliases, ledger, replies, render_cache"


@pytest.fixture(scope="module")
def pg_contract_db(pg_cluster):
    """One database for the PostgreSQL half of this module, emptied before each test."""
    return pg_cluster.url(pg_cluster.new_database("contract"))


@pytest.fixture(params=["sqlite", "postgres"])
def open_(request, tmp_path):
    """open_(readonly=False) -> a new store object (its own connection) on this test's
    database; all of them closed afterwards."""
    opened = []
    if request.param == "sqlite":
        from autoresponder.store.sqlite import SqliteStore

        path = str(tmp_path / "state" / "autoresponder.sqlite3")

        def make(readonly=False):
            s = SqliteStore(path, 10, readonly=readonly, create=not readonly)
            opened.append(s)
            return s

        def plain():
            s = SqliteStore(path, 10)
            opened.append(s)
            return s
    else:
        url = request.getfixturevalue("pg_contract_db")
        from autoresponder.store.postgres import PostgresStore

        import psycopg

        from autoresponder.store.postgres import SCHEMA_VERSION

        with psycopg.connect(url, autocommit=True) as c:  # empty, at the known version
            if c.execute("SELECT to_regclass('schema_version')").fetchone()[0]:
                c.execute(f"TRUNCATE {TABLES} CASCADE")
                c.execute("DELETE FROM schema_version WHERE version > %s", (SCHEMA_VERSION,))
        first = PostgresStore(url, 10, create=True)
        first.list_accounts()  # the schema, on first use
        opened.append(first)

        def make(readonly=False):
            s = PostgresStore(url, 10, readonly=readonly, create=not readonly)
            opened.append(s)
            return s

        def plain():
            s = PostgresStore(url, 10)
            opened.append(s)
            return s
    make.backend = request.param
    make.plain = plain  # as delivery opens it: no create, no schema applied
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(open_):
    return open_()


def handle_of(store, address=ANA) -> str:
    return store.find_account(address).handle


def enabled(store, address=ANA, **changes) -> str:
    return store.enable(address, changes, None, T0 - 100).handle


# --- accounts ------------------------------------------------------------------------------

def test_enable_creates_an_account_found_by_address_and_alias(store):
    a = store.enable(ANA, {"subject": "Away", "message": "Back soon"},
                     ["ana.silva@example.com", "a@example.com"], T0)
    assert a.address == ANA and a.enabled is True and a.subject == "Away"
    assert a.aliases == ["a@example.com", "ana.silva@example.com"]
    assert a.template == "default" and a.handle
    assert a.created_at == a.updated_at == "2027-01-15T08:00:00Z"
    assert store.find_account(ANA) == a
    assert store.find_account("ana.silva@example.com") == a
    assert store.find_account("nobody@example.com") is None
    assert [x.address for x in store.list_accounts()] == [ANA]


def test_list_accounts_in_address_order_with_their_aliases(store):
    store.enable("zoe@example.com", {}, ["z@example.com"], T0)
    store.enable(ANA, {}, None, T0)
    accounts = store.list_accounts()
    assert [a.address for a in accounts] == [ANA, "zoe@example.com"]
    assert accounts[0].aliases == [] and accounts[1].aliases == ["z@example.com"]


def test_enable_keeps_what_is_not_changed_and_the_handle_with_the_content(store):
    a = store.enable(ANA, {"subject": "Away", "end_at": "2027-02-01T00:00:00Z"}, ["x@e.com"],
                     T0)
    b = store.enable(ANA, {"interval_seconds": 3600}, None, T0 + 10)
    assert (b.subject, b.end_at, b.aliases, b.handle) == ("Away", a.end_at, ["x@e.com"],
                                                          a.handle)
    assert b.interval_seconds == 3600 and b.updated_at > a.updated_at
    c = store.enable(ANA, {"subject": "Travelling"}, [], T0 + 20)
    assert c.handle != a.handle and c.aliases == []


def test_disable_keeps_settings_and_re_enabling_starts_afresh(store):
    a = store.enable(ANA, {"subject": "Away", "start_at": "2027-01-01T00:00:00Z"}, None, T0)
    assert store.disable(ANA, T0 + 1) is True
    off = store.find_account(ANA)
    assert off.enabled is False and off.subject == "Away"
    assert off.active_at(T0) == "the vacation is disabled"
    again = store.enable(ANA, {}, None, T0 + 2)
    assert again.enabled is True and again.start_at is None and again.handle != a.handle
    assert store.disable("nobody@example.com", T0) is False


@pytest.mark.parametrize("first, second, aliases, message", [
    (ANA, "bea@example.com", ["bea@example.com"], "an account of its own"),
    (ANA, "bea@example.com", [ANA], "already an alias of"),
    (ANA, ANA, [ANA], "the account itself"),
])
def test_alias_conflicts_are_refused_and_change_nothing(store, first, second, aliases, message):
    store.enable(first, {}, ["shared@example.com"], T0)
    store.enable("bea@example.com", {}, None, T0)
    before = store.list_accounts()
    if message == "already an alias of":
        store.enable("carl@example.com", {}, None, T0)
        with pytest.raises(ValueError, match=message):
            store.enable("carl@example.com", {}, ["shared@example.com"], T0 + 1)
    else:
        with pytest.raises(ValueError, match=message):
            store.enable(second if message != "an account of its own" else first, {},
                         aliases, T0 + 1)
    after = [a for a in store.list_accounts() if a.address != "carl@example.com"]
    assert after == before


def test_an_account_cannot_be_created_over_an_alias(store):
    store.enable(ANA, {}, ["ana.silva@example.com"], T0)
    with pytest.raises(ValueError, match="is an alias of ana@example.com"):
        store.enable("ana.silva@example.com", {}, None, T0)


def test_an_end_before_the_start_is_refused(store):
    with pytest.raises(ValueError, match="not after the start"):
        store.enable(ANA, {"start_at": "2027-02-01T00:00:00Z",
                           "end_at": "2027-01-01T00:00:00Z"}, None, T0)
    assert store.find_account(ANA) is None


# --- the ledger ----------------------------------------------------------------------------

def test_a_claim_then_a_live_claim_then_sent_then_the_window(store):
    h = enabled(store)
    first = store.claim(ANA, BOB, h, T0, LIMITS)
    assert isinstance(first, Claimed) and first.token is not None
    assert store.claim(ANA, BOB, h, T0 + 1, LIMITS) == Pending(T0 + 300)
    store.mark_sent(ANA, BOB, h, T0 + 2, DAY, "<r1@example.com>", "sent", "250 ok",
                    first.token)
    assert store.claim(ANA, BOB, h, T0 + 3, LIMITS) == AlreadySent(T0 + 2, T0 + 2 + DAY)
    assert store.claim(ANA, BOB, h, T0 + 1 + DAY, LIMITS) == AlreadySent(T0 + 2, T0 + 2 + DAY)
    again = store.claim(ANA, BOB, h, T0 + 2 + DAY, LIMITS)
    assert isinstance(again, Claimed) and again.token != first.token


def test_the_window_is_per_sender_and_per_handle(store):
    h = enabled(store)
    t = store.claim(ANA, BOB, h, T0, LIMITS).token
    store.mark_sent(ANA, BOB, h, T0, DAY, "<r1@x>", token=t)
    assert isinstance(store.claim(ANA, "carl@example.org", h, T0 + 1, LIMITS), Claimed)
    assert isinstance(store.claim(ANA, BOB, "another-handle", T0 + 1, LIMITS), Claimed)
    assert isinstance(store.claim("bea@example.com", BOB, h, T0 + 1, LIMITS), Claimed)


def test_a_claim_whose_lease_ran_out_is_void(store):
    h = enabled(store)
    first = store.claim(ANA, BOB, h, T0, LIMITS)
    assert isinstance(store.claim(ANA, BOB, h, T0 + 299, LIMITS), Pending)
    second = store.claim(ANA, BOB, h, T0 + 300, LIMITS)
    assert isinstance(second, Claimed) and second.token != first.token
    # the first owner comes back late: its release must not drop the second claim
    store.release(ANA, BOB, h, first.token)
    assert store.claim(ANA, BOB, h, T0 + 301, LIMITS) == Pending(T0 + 600)
    store.release(ANA, BOB, h, second.token)
    assert isinstance(store.claim(ANA, BOB, h, T0 + 302, LIMITS), Claimed)


def test_a_reply_that_left_is_recorded_even_after_another_claim(store):
    """mark_sent writes the sent row whoever holds the claim: a reply did leave."""
    h = enabled(store)
    late = store.claim(ANA, BOB, h, T0, LIMITS)
    store.claim(ANA, BOB, h, T0 + 400, LIMITS)
    store.mark_sent(ANA, BOB, h, T0 + 401, DAY, "<late@x>", token=late.token)
    assert store.claim(ANA, BOB, h, T0 + 402, LIMITS) == AlreadySent(T0 + 401, T0 + 401 + DAY)


def test_mark_sent_without_a_claim_and_rejected_replies(store):
    h = enabled(store)
    store.mark_sent(ANA, BOB, h, T0, DAY, "<r@x>", "rejected", "550 no such user")
    assert isinstance(store.claim(ANA, BOB, h, T0 + 1, LIMITS), AlreadySent)
    assert store.history(ANA) == [HistoryEntry(BOB, T0, "rejected", "<r@x>",
                                               "550 no such user")]


def test_peek_answers_what_claim_would_and_writes_nothing(open_):
    store = open_()
    h = enabled(store)
    assert store.peek(ANA, BOB, h, T0, LIMITS) == Claimed(None)
    assert store.peek(ANA, BOB, h, T0, LIMITS) == Claimed(None)
    t = store.claim(ANA, BOB, h, T0, LIMITS).token
    assert store.peek(ANA, BOB, h, T0 + 1, LIMITS) == Pending(T0 + 300)
    store.mark_sent(ANA, BOB, h, T0 + 2, DAY, "<r@x>", token=t)
    reader = open_(readonly=True)
    assert reader.peek(ANA, BOB, h, T0 + 3, LIMITS) == AlreadySent(T0 + 2, T0 + 2 + DAY)
    capped = Limits(DAY, 300, 1, 0, 3600)
    assert reader.peek(ANA, "carl@example.org", h, T0 + 3, capped) == \
        OverCap("account", 1, 1, 3600)


def test_a_read_only_store_reads_and_refuses_every_write(open_):
    writer = open_()
    h = enabled(writer)
    reader = open_(readonly=True)
    assert reader.find_account(ANA).handle == h
    assert [a.address for a in reader.list_accounts()] == [ANA]
    for write in (lambda: reader.claim(ANA, BOB, h, T0, LIMITS),
                  lambda: reader.enable("x@example.com", {}, None, T0),
                  lambda: reader.mark_sent(ANA, BOB, h, T0, DAY, "<r@x>"),
                  lambda: reader.forget(ANA)):
        with pytest.raises(StoreError):
            write()
    reader.memo_put("k", Rendered("s", "t", None, "en", "default", True), b"m", T0)
    assert reader.memo_get("k") is None
    assert writer.history(ANA) == [] and writer.find_account("x@example.com") is None


def test_a_schema_newer_than_this_code_is_refused_before_anything_is_read(open_):
    """Another host upgraded the software and the schema: this one reads and writes nothing
    (delivery turns the StoreError into 75) until it is upgraded too."""
    store = open_()
    h = enabled(store)
    if open_.backend == "sqlite":
        import sqlite3

        with sqlite3.connect(store.path) as conn:
            conn.execute("PRAGMA user_version = 99")
    else:
        store._run(lambda c: c.execute("INSERT INTO schema_version (version, description) "
                                       "VALUES (99, 'future')"), write=True)
    store.close()
    for call in (lambda s: s.find_account(ANA), lambda s: s.claim(ANA, BOB, h, T0, LIMITS)):
        with pytest.raises(StoreError, match="schema is version 99, newer than"):
            call(open_.plain())


# --- the caps ------------------------------------------------------------------------------

def test_the_account_cap_counts_sent_and_live_pending_claims_in_the_period(store):
    h = enabled(store)
    lim = Limits(DAY, 300, 3, 0, 3600)
    t = store.claim(ANA, "s1@x.org", h, T0, lim).token
    store.mark_sent(ANA, "s1@x.org", h, T0, DAY, "<1@x>", token=t)
    store.claim(ANA, "s2@x.org", h, T0 + 10, lim)           # live pending: counts
    store.claim(ANA, "s3@x.org", h, T0 + 20, lim)
    assert store.claim(ANA, "s4@x.org", h, T0 + 30, lim) == OverCap("account", 3, 3, 3600)
    # other accounts have their own cap
    assert isinstance(store.claim("bea@example.com", "s4@x.org", h, T0 + 30, lim), Claimed)
    # the pending claims' leases end: they stop counting
    assert isinstance(store.claim(ANA, "s4@x.org", h, T0 + 320, lim), Claimed)
    assert isinstance(store.claim(ANA, "s5@x.org", h, T0 + 321, lim), Claimed)
    assert store.claim(ANA, "s6@x.org", h, T0 + 322, lim) == OverCap("account", 3, 3, 3600)
    # the sent reply leaves the period, the claims' leases end
    assert isinstance(store.claim(ANA, "s6@x.org", h, T0 + 3601, lim), Claimed)


def test_the_global_cap_counts_every_account(store):
    h = enabled(store)
    lim = Limits(DAY, 300, 0, 2, 3600)
    t = store.claim(ANA, BOB, h, T0, lim).token
    store.mark_sent(ANA, BOB, h, T0, DAY, "<1@x>", token=t)
    assert isinstance(store.claim("bea@example.com", BOB, h, T0 + 1, lim), Claimed)
    assert store.claim("carl@example.com", BOB, h, T0 + 2, lim) == OverCap("global", 2, 2, 3600)
    assert isinstance(store.claim("carl@example.com", BOB, h, T0 + 3601, lim), Claimed)


def test_the_account_cap_is_checked_before_the_global_one(store):
    h = enabled(store)
    lim = Limits(DAY, 300, 1, 1, 3600)
    store.claim(ANA, BOB, h, T0, lim)
    assert store.claim(ANA, "x@y.org", h, T0 + 1, lim) == OverCap("account", 1, 1, 3600)
    assert store.claim("bea@example.com", "x@y.org", h, T0 + 1, lim) == \
        OverCap("global", 1, 1, 3600)


# --- history and maintenance ---------------------------------------------------------------

def test_history_newest_first_limited_and_per_account(store):
    h = enabled(store)
    for i in range(5):
        store.mark_sent(ANA, f"s{i}@x.org", h, T0 + i, DAY, f"<{i}@x>", "sent", f"250 {i}")
    store.mark_sent("bea@example.com", BOB, h, T0, DAY, "<b@x>")
    got = store.history(ANA, limit=3)
    assert [e.sender for e in got] == ["s4@x.org", "s3@x.org", "s2@x.org"]
    assert got[0] == HistoryEntry("s4@x.org", T0 + 4, "sent", "<4@x>", "250 4")
    assert len(store.history(ANA)) == 5 and store.history("nobody@x.org") == []


def test_forget_one_sender_or_all(store):
    h = enabled(store)
    for s in ("s1@x.org", "s2@x.org", "s3@x.org"):
        store.mark_sent(ANA, s, h, T0, DAY, "<m@x>")
    store.mark_sent("bea@example.com", "s1@x.org", h, T0, DAY, "<m@x>")
    assert store.forget(ANA, "s1@x.org") == 1
    assert isinstance(store.claim(ANA, "s1@x.org", h, T0 + 1, LIMITS), Claimed)
    assert store.forget(ANA) == 3  # s2, s3 and the new claim
    assert isinstance(store.claim(ANA, "s2@x.org", h, T0 + 2, LIMITS), Claimed)
    assert isinstance(store.claim("bea@example.com", "s1@x.org", h, T0 + 2, LIMITS),
                      AlreadySent)
    assert len(store.history(ANA)) == 3  # forgetting keeps the history


def test_purge_keeps_live_windows_and_claims_and_drops_the_rest(store):
    h = enabled(store)
    store.mark_sent(ANA, "old@x.org", h, T0 - 2 * DAY, DAY, "<o@x>")     # window ended
    store.mark_sent(ANA, "live@x.org", h, T0 - 100, DAY, "<l@x>")          # window live
    store.claim(ANA, "pending@x.org", h, T0 - 10, Limits(0, 300, 0, 0, 3600))  # live lease
    store.memo_put("k", Rendered("s", "t", None, "en", "default", True), b"m", T0)
    assert store.purge(T0, 0, DAY) == (1, 1)
    assert isinstance(store.claim(ANA, "old@x.org", h, T0, LIMITS), Claimed)
    assert isinstance(store.claim(ANA, "live@x.org", h, T0, LIMITS), AlreadySent)
    assert isinstance(store.claim(ANA, "pending@x.org", h, T0, LIMITS), Pending)
    assert [e.sender for e in store.history(ANA)] == ["live@x.org"]
    assert store.memo_get("k") is None


def test_purge_older_than_waits_for_the_margin(store):
    h = enabled(store)
    store.mark_sent(ANA, BOB, h, T0 - DAY - 100, DAY, "<o@x>")  # window ended 100 s ago
    assert store.purge(T0, 3600, 90 * DAY) == (0, 0)
    assert store.purge(T0 + 3500, 3600, 90 * DAY) == (1, 0)


# --- the render memo -----------------------------------------------------------------------

def test_the_memo_keeps_a_rendering_under_any_key(store):
    key = "0.1.0\0ana@example.com\0" + "/templates/default.pt.txt:123:456\0" * 200
    r = Rendered("Férias", "Estou de férias.\n", "<p>férias</p>", "pt", "default", True)
    assert store.memo_get(key) is None
    store.memo_put(key, r, b"\x00MIME\xff", T0)
    got, mime = store.memo_get(key)
    assert (got.subject, got.text, got.html, got.language, got.template) == \
        (r.subject, r.text, r.html, r.language, r.template)
    assert mime == b"\x00MIME\xff"
    store.memo_put(key, Rendered(None, "v2", None, "en", "other", True), b"v2", T0 + 1)
    got, mime = store.memo_get(key)
    assert (got.subject, got.text, got.template, mime) == (None, "v2", "other", b"v2")
    assert store.memo_get(key + "x") is None


# --- many at once --------------------------------------------------------------------------

def _at_once(open_, n: int, work) -> list:
    """work(store, i) in n threads with one store each, released together."""
    stores = [open_() for _ in range(n)]
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        stores[i].find_account(ANA)  # connect (and check the schema) before the race
        barrier.wait()
        try:
            results[i] = work(stores[i], i)
        except Exception as e:  # noqa: BLE001 - the test looks at it
            results[i] = e
        stores[i].close()  # in its own thread: sqlite3 connections are bound to it

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_one_sender_many_claims_at_once_one_wins(open_):
    h = enabled(open_())
    results = _at_once(open_, 24, lambda s, i: s.claim(ANA, BOB, h, T0 + i / 1000, LIMITS))
    assert sum(isinstance(r, Claimed) for r in results) == 1, results
    assert all(isinstance(r, (Claimed, Pending)) for r in results), results


def test_many_senders_at_once_never_pass_the_account_cap(open_):
    h = enabled(open_())
    lim = Limits(DAY, 300, 7, 0, 3600)
    results = _at_once(open_, 24, lambda s, i: s.claim(ANA, f"s{i}@x.org", h, T0, lim))
    assert sum(isinstance(r, Claimed) for r in results) == 7, results
    assert all(isinstance(r, (Claimed, OverCap)) for r in results), results


def test_many_accounts_at_once_never_pass_the_global_cap(open_):
    h = enabled(open_())
    lim = Limits(DAY, 300, 50, 5, 3600)
    results = _at_once(open_, 20, lambda s, i: s.claim(f"a{i % 4}@example.com",
                                                       f"s{i}@x.org", h, T0, lim))
    assert sum(isinstance(r, Claimed) for r in results) == 5, results
    assert all(isinstance(r, (Claimed, OverCap)) for r in results), results


# --- a property: whatever happens, one reply per sender per window -----------------------------

STEPS = st.lists(st.tuples(st.sampled_from(["s1@x.org", "s2@x.org"]),
                           st.integers(min_value=0, max_value=2 * DAY),
                           st.sampled_from(["send", "fail", "crash"])),
                 min_size=1, max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_sequence_gives_at_most_one_reply_per_sender_per_window(open_, steps):
    """Deliveries at any times that send, fail to send (release) or crash (keep the claim):
    no two sent replies to one sender less than a window apart, and a sender whose window
    has passed and who holds no live claim can be answered."""
    store = open_()
    h = enabled(store)
    store.forget(ANA)
    sent: "dict[str, list[float]]" = {}
    t = T0
    for sender, dt, action in steps:
        t += dt / 10
        answer = store.claim(ANA, sender, h, t, LIMITS)
        if not isinstance(answer, Claimed):
            continue
        if action == "send":
            store.mark_sent(ANA, sender, h, t, DAY, "<m@x>", token=answer.token)
            sent.setdefault(sender, []).append(t)
        elif action == "fail":
            store.release(ANA, sender, h, answer.token)
    for times in sent.values():
        assert all(b - a >= DAY for a, b in zip(times, times[1:])), times
    store.close()
