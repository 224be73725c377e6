"""The store's part of issue 13, one suite on both backends (the fixtures of
tests/test_store_contract.py: a real SQLite file and a real PostgreSQL database): the new
account settings, queued absences and windows (add_item / remove_item, loaded with the
account), and the per-sender floor across a window's occurrences in claim and peek."""

from __future__ import annotations

import pytest

from autoresponder.store.base import AlreadySent, Claimed, Limits, Pending, ScheduleItem
from tests.test_store_contract import ANA, T0, open_, pg_contract_db, store  # noqa: F401

DAY = 86400
BOB = "bob@example.org"


def floor_limits(series: str = "h/w1@", floor: int = DAY) -> Limits:
    return Limits(window=7 * DAY, lease=300, per_account=0, global_=0, period=3600,
                  series=series, floor=floor)


def test_new_settings_round_trip(store):  # noqa: F811 (the fixture)
    a = store.enable(ANA, {"timezone": "Europe/Lisbon", "start_local": "2027-03-20T00:00",
                           "end_local": "2027-03-28T09:00", "internal_domains": ".example.net",
                           "external": "none", "external_subject": "Out",
                           "external_message": "Write later", "external_template": "default",
                           "reply_from": "addressed", "answer_group_mail": True}, None, T0)
    b = store.find_account(ANA)
    assert b == a
    assert (b.timezone, b.end_local, b.external, b.reply_from, b.answer_group_mail) == (
        "Europe/Lisbon", "2027-03-28T09:00", "none", "addressed", True)
    store.enable(ANA, {"answer_group_mail": False}, None, T0 + 1)
    assert store.find_account(ANA).answer_group_mail is False
    # a vacation switched off and on again starts afresh: its wall-clock dates go too
    store.disable(ANA, T0 + 2)
    c = store.enable(ANA, {}, None, T0 + 3)
    assert (c.start_local, c.end_local, c.timezone) == (None, None, "Europe/Lisbon")


def test_items_are_added_listed_in_order_and_removed(store):  # noqa: F811 (the fixture)
    store.enable(ANA, {}, ["alias@example.com"], T0)
    store.enable("zoe@example.com", {}, None, T0)
    a = store.add_item(ANA, {"kind": "absence", "key": "a1", "start_local": "2027-04-01T00:00",
                             "end_local": "2027-04-11T00:00", "subject": "Easter"}, T0 + 1)
    w = store.add_item(ANA, {"kind": "window", "key": "w1", "spec": "Mon-Fri 12:00-13:00"},
                       T0 + 2)
    assert isinstance(a, ScheduleItem) and a.id != w.id and a.created_at
    assert (a.kind, a.subject, a.spec, w.spec, w.subject) == (
        "absence", "Easter", None, "Mon-Fri 12:00-13:00", None)
    found = store.find_account("alias@example.com")
    assert found.items == [a, w] and found.scheduled()
    listed = {x.address: x for x in store.list_accounts()}
    assert listed[ANA].items == [a, w] and listed["zoe@example.com"].items == []
    assert store.remove_item("zoe@example.com", a.id) is False  # not zoe's
    assert store.remove_item(ANA, a.id) is True
    assert store.remove_item(ANA, a.id) is False
    assert store.find_account(ANA).items == [w]
    with pytest.raises(ValueError, match="no vacation set up"):
        store.add_item("nobody@example.com", {"kind": "window", "key": "w2",
                                               "spec": "Sat-Sun"}, T0)


def test_floor_across_a_window_s_occurrences(open_):  # noqa: F811 (the fixture)
    s = open_()
    s.enable(ANA, {}, None, T0)
    monday, tuesday = "h/w1@2027-01-04T12:00", "h/w1@2027-01-05T12:00"
    lim = floor_limits()
    token = s.claim(ANA, BOB, monday, T0, lim).token
    # another occurrence while Monday's claim is live: pending, not a second reply
    assert isinstance(s.claim(ANA, BOB, tuesday, T0 + 10, lim), Pending)
    s.mark_sent(ANA, BOB, monday, T0, lim.window, "<m@x>", token=token)
    # a purge (even of all history) keeps the ledger row the floor reads: it lives as long
    # as the interval, which is never shorter than the floor
    s.purge(T0 + DAY - 120, 0, 0)
    # a day later minus a minute: the floor holds, whatever the occurrence
    got = s.peek(ANA, BOB, tuesday, T0 + DAY - 60, lim)
    assert got == AlreadySent(T0, T0 + DAY)
    assert s.claim(ANA, BOB, tuesday, T0 + DAY - 60, lim) == AlreadySent(T0, T0 + DAY)
    # other senders, other windows, or no floor: not held back
    assert isinstance(s.claim(ANA, "carl@example.net", tuesday, T0 + 60, lim), Claimed)
    assert isinstance(s.peek(ANA, BOB, "h/w2@2027-01-05T12:00", T0 + 60,
                             floor_limits("h/w2@")), Claimed)
    assert isinstance(s.peek(ANA, BOB, tuesday, T0 + 60, floor_limits(floor=0)), Claimed)
    # past the floor, the new occurrence answers
    assert isinstance(s.claim(ANA, BOB, tuesday, T0 + DAY + 1, lim), Claimed)
