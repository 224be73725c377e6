"""The schedule as delivery reads it from the store: absences and windows kept as wall-clock
text and canonical window text (ScheduleItem rows), in the account's zone, turned back into a
schedule by ``answer.build``. Property: for any tz database zone and instants around its
offset changes, what answers (or nothing) agrees minute by minute with the brute-force
reference of tests/test_schedule.py, and ``Account.active_at`` says "in force" exactly then.
So storing and reading back loses nothing the time model decides with."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from autoresponder import answer
from autoresponder.schedule import format_window
from autoresponder.store.base import Account, ScheduleItem
from tests.test_schedule import (PROPS, Reference, absences_near, around_change, build,
                                 needs_tzdb, show, window_near)


def stored_account(zone_name: str, absences, windows) -> Account:
    items = []
    for i, (s, e) in enumerate(absences):
        items.append(ScheduleItem(i + 1, "absence", f"a{i}", s and answer.wall_text(s),
                                  e and answer.wall_text(e), None, None, None, None, None, None,
                                  None, "2026-01-01T00:00:00Z"))
    for j, w in enumerate(windows):
        spec = format_window(build(w))
        items.append(ScheduleItem(100 + j, "window", f"w{j}", None, None, spec, None, None,
                                  None, None, None, None, "2026-01-01T00:00:00Z"))
    return Account(address="ana@example.com", enabled=True, start_at=None, end_at=None,
                   subject=None, message=None, template="default", language=None,
                   interval_seconds=None, from_name=None, handle="h", created_at="",
                   updated_at="", timezone=zone_name, items=items)


@needs_tzdb
@PROPS
@given(around_change(), st.data())
def test_stored_schedule_agrees_with_reference(where, data):
    absences = data.draw(st.lists(absences_near(where), max_size=2))
    windows = data.draw(st.lists(window_near(where), max_size=2))
    assume(absences or windows)
    account = stored_account(where.name, absences, windows)
    sched, sources = answer.build(account)
    ref = Reference(where.zone, [(i, s, e) for i, (s, e) in enumerate(absences)],
                    [(len(absences) + i, w) for i, w in enumerate(windows)])
    first, last = where.t - 120 * 60, where.t + 120 * 60
    t = first - 26 * 3600
    while t < first:
        assume(ref.step(t, answer=False) != "odd")
        t += 60
    while t <= last:
        expected = ref.step(t)
        assume(expected != "odd")
        occ = sched.in_force(t)
        got = occ.ident if occ else None
        assert got == expected, (where.name, show(t, where.zone), got, expected,
                                 [i.spec or (i.start_local, i.end_local) for i in account.items])
        assert (account.active_at(t) is None) == (expected is not None)
        if occ is not None:  # the row behind the answer is the one the reference names
            assert sources[occ.index] is account.items[expected[0]]
        t += 60
