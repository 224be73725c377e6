"""autoresponder.schedule: absences and weekly windows in the account's zone, DST included.

The property tests compare ``Schedule.in_force`` and ``Schedule.next_change`` with a brute-force
reference written from the definition alone: walk the clock minute by minute; a wall-clock time
W "has happened" once the clock has read W or later (the running maximum of the wall clock), and
the answer at an instant is what the schedule's wall-clock rules say about that running maximum.
It shares no code with the module (no instant(), no merging of stretches, no occurrences).
"""

import os
import zoneinfo
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from autoresponder.schedule import (
    Absence,
    Schedule,
    ScheduleError,
    Window,
    format_window,
    get_zone,
    instant,
    local_time,
    parse_wall,
    parse_window,
    show,
)

ZONES = sorted(zoneinfo.available_timezones())
needs_tzdb = pytest.mark.skipif(len(ZONES) < 100, reason="no tz database (system zoneinfo or "
                                                         "the tzdata package) on this machine")
# SCHEDULE_EXAMPLES=500 for a deeper search (minutes); the default keeps the module near 10 s
PROPS = settings(max_examples=int(os.environ.get("SCHEDULE_EXAMPLES", "30")), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LISBON = "Europe/Lisbon"


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


# --- the reference -------------------------------------------------------------------------

def ref_member(spec, w: datetime) -> bool:
    """Is the wall-clock minute `w` inside a window spec? Straight from the spec's words."""
    kind, days, start, end, end_day, since, until = spec
    if since is not None and w < since:
        return False
    if until is not None and w >= until:
        return False
    if kind == "daily":
        for back in (0, 1):
            d = w.date() - timedelta(days=back)
            if d.weekday() in days:
                s = datetime(d.year, d.month, d.day) + timedelta(minutes=start)
                e = datetime(d.year, d.month, d.day) + timedelta(
                    minutes=end if end > start else end + 1440)
                if s <= w < e:
                    return True
        return False
    (day,) = days
    length = ((end_day * 1440 + end) - (day * 1440 + start)) % (7 * 1440)
    for back in range(8):
        d = w.date() - timedelta(days=back)
        if d.weekday() == day:
            s = datetime(d.year, d.month, d.day) + timedelta(minutes=start)
            if s <= w < s + timedelta(minutes=length):
                return True
    return False


def ref_run_start(spec, h: datetime) -> datetime:
    """The wall-clock minute at which the stretch of the window holding `h` began: walk back
    while the previous minute is inside (a window that covers the whole week starts afresh each
    Monday 00:00, clipped to its `from` bound)."""
    w = h
    for _ in range(7 * 1440):
        prev = w - timedelta(minutes=1)
        if not ref_member(spec, prev):
            return w
        w = prev
    monday = datetime(h.year, h.month, h.day) - timedelta(days=h.weekday())
    since = spec[5]
    return max(monday, since) if since is not None else monday


class Reference:
    """The answer minute by minute. Feed it every minute of the clock in order (step)."""

    def __init__(self, zone, absences, windows):
        self.zone = zone
        self.absences = absences  # [(index, start, end)]
        self.windows = windows  # [(index, spec)]
        self.high = None
        self.runs: dict = {}  # window index -> (last h, start of its stretch)

    def step(self, t: int, answer: bool = True):
        w = datetime.fromtimestamp(t, self.zone).replace(tzinfo=None)
        if w.second or w.microsecond:
            return "odd"  # a zone whose offset is not whole minutes then: not comparable
        self.high = w if self.high is None or w > self.high else self.high
        return self.answer(self.high) if answer else None

    def answer(self, h: datetime):
        dated = [(s is not None, s or datetime.min, i, s) for i, s, e in self.absences
                 if (s is None or s <= h) and (e is None or h < e)]
        if dated:
            best = min(dated)
            return (best[2], best[3])
        found = []
        for i, spec in self.windows:
            if not ref_member(spec, h):
                self.runs.pop(i, None)
                continue
            last = self.runs.get(i)
            monday = datetime(h.year, h.month, h.day) - timedelta(days=h.weekday())
            gap = int((h - last[0]).total_seconds() // 60) if last is not None else 0
            if last is not None and last[0] >= monday and all(
                    ref_member(spec, last[0] + timedelta(minutes=k)) for k in range(gap + 1)):
                start = last[1]  # still the same stretch
            else:
                start = ref_run_start(spec, h)
            self.runs[i] = (h, start)
            found.append((start, i))
        if found:
            start, i = min(found)
            return (i, start)
        return None


# --- strategies ----------------------------------------------------------------------------

@lru_cache(maxsize=None)
def transitions(name: str) -> "tuple[int, ...]":
    """The instants (UTC, whole seconds) at which the zone's offset changes, 1972-2037 (sampled
    weekly, then found to the second: two changes within a week count as one)."""
    z = zoneinfo.ZoneInfo(name)
    t = int(datetime(1972, 1, 1, tzinfo=timezone.utc).timestamp())
    end = int(datetime(2038, 1, 1, tzinfo=timezone.utc).timestamp())
    off = datetime.fromtimestamp(t, z).utcoffset()
    out = []
    step = 7 * 86400
    while t < end:
        nxt = datetime.fromtimestamp(t + step, z).utcoffset()
        if nxt != off:
            lo, hi = t, t + step
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.fromtimestamp(mid, z).utcoffset() == off:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
            off = nxt
        t += step
    return tuple(out)


class Where:
    """A zone, an instant at one of its offset changes, and the wall-clock readings just before
    and at it: between them lies the skipped (spring) or repeated (autumn) stretch."""

    def __init__(self, name: str, t: int):
        self.name = name
        self.zone = zoneinfo.ZoneInfo(name)
        self.t = t
        self.before = local_time(t - 60, self.zone).replace(second=0) + timedelta(minutes=1)
        self.after = local_time(t, self.zone).replace(second=0)

    def __repr__(self) -> str:
        return f"Where({self.name!r}, {self.t})"


@st.composite
def around_change(draw):
    """A zone of the tz database and a whole-minute instant at one of its offset changes (or
    anywhere in a year for the zones that never change)."""
    name = draw(st.sampled_from(ZONES))
    changes = transitions(name)
    if changes:
        t = draw(st.sampled_from(changes))
    else:
        t = int(datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp()) + \
            draw(st.integers(0, 364 * 1440)) * 60
    assume(t % 60 == 0)
    return Where(name, t)


def _near(draw, where: Where, spread: int = 240) -> datetime:
    """A whole-minute wall-clock time: half the time inside or at the edges of the skipped or
    repeated stretch, else anywhere within `spread` minutes of the change."""
    lo, hi = min(where.before, where.after), max(where.before, where.after)
    if draw(st.booleans()):
        width = int((hi - lo).total_seconds() // 60)
        return lo + timedelta(minutes=draw(st.integers(-2, width + 2)))
    return where.after + timedelta(minutes=draw(st.integers(-spread, spread)))


@st.composite
def absences_near(draw, where: Where):
    a = _near(draw, where) if draw(st.integers(0, 4)) else None
    b = _near(draw, where) if draw(st.integers(0, 4)) else None
    if a is not None and b is not None:
        assume(a != b)
        a, b = min(a, b), max(a, b)
    return a, b


@st.composite
def window_near(draw, where: Where):
    """A window spec (as the reference reads it) with times near the change."""
    at = _near(draw, where)
    start = at.hour * 60 + at.minute
    since = _near(draw, where, 3000) if draw(st.integers(0, 3)) == 0 else None
    until = _near(draw, where, 3000) if draw(st.integers(0, 3)) == 0 else None
    if since is not None and until is not None:
        assume(since != until)
        since, until = min(since, until), max(since, until)
    if draw(st.booleans()):
        days = frozenset(draw(st.sets(st.integers(0, 6), max_size=7)) | {at.weekday()})
        if draw(st.integers(0, 4)) == 0:
            return ("daily", days, 0, 1440, None, since, until)
        e = _near(draw, where)
        end = (e.hour * 60 + e.minute) or 1440
        assume(end != start)
        return ("daily", days, start, end, None, since, until)
    e = _near(draw, where) if draw(st.booleans()) else \
        at + timedelta(minutes=draw(st.integers(1, 7 * 1440 - 1)))
    assume(e != at and (e - at) % timedelta(days=7))
    end_day, end = e.weekday(), e.hour * 60 + e.minute
    if end == 0:
        end_day, end = (end_day - 1) % 7, 1440
    return ("span", frozenset({at.weekday()}), start, end, end_day, since, until)


def build(spec) -> Window:
    kind, days, start, end, end_day, since, until = spec
    return Window(days, start, end, span=kind == "span", end_day=end_day, since=since,
                  until=until)


# --- in_force and next_change against the reference ----------------------------------------

def check_against_reference(where: Where, absences, windows, probes):
    name, zone, t0 = where.name, where.zone, where.t
    items = [Absence(s, e) for s, e in absences] + [build(w) for w in windows]
    sched = Schedule(name, items)
    ref = Reference(zone, [(i, s, e) for i, (s, e) in enumerate(absences)],
                    [(len(absences) + i, w) for i, w in enumerate(windows)])
    first, last = t0 - 150 * 60, t0 + 150 * 60
    t = first - 26 * 3600  # the clock's history: longer than any backward jump since 1972
    while t < first:
        assume(ref.step(t, answer=False) != "odd")
        t += 60
    answers = {}
    while t <= last:
        a = ref.step(t)
        assume(a != "odd")
        answers[t] = a
        t += 60
    for t, expected in answers.items():
        occ = sched.in_force(t)
        got = occ.ident if occ else None
        assert got == expected, (f"{name} at {show(t, zone)} ({t}): schedule says {got}, "
                                 f"reference {expected}; items {items}")
    for t in probes:
        t = min(max(t0 + t * 60, first), last)
        change = sched.next_change(t)
        expected = next((u for u in range(t + 60, last + 1, 60)
                         if answers[u] != answers[t]), None)
        if expected is None:
            assert change is None or change > last - 60, (name, t, change)
        else:
            assert change == expected, (f"{name} from {show(t, zone)}: next change "
                                        f"{change and show(change, zone)}, reference "
                                        f"{show(expected, zone)}; items {items}")


@needs_tzdb
@PROPS
@given(around_change(), st.data())
def test_absences_agree_with_reference(where, data):
    absences = data.draw(st.lists(absences_near(where), min_size=1, max_size=3))
    probes = data.draw(st.lists(st.integers(-150, 150), max_size=3))
    check_against_reference(where, absences, [], probes)


@needs_tzdb
@PROPS
@given(around_change(), st.data())
def test_windows_agree_with_reference(where, data):
    windows = data.draw(st.lists(window_near(where), min_size=1, max_size=2))
    probes = data.draw(st.lists(st.integers(-150, 150), max_size=3))
    check_against_reference(where, [], windows, probes)


@needs_tzdb
@PROPS
@given(around_change(), st.data())
def test_queued_absences_and_windows_agree_with_reference(where, data):
    absences = data.draw(st.lists(absences_near(where), max_size=2))
    windows = data.draw(st.lists(window_near(where), max_size=2))
    probes = data.draw(st.lists(st.integers(-150, 150), max_size=2))
    check_against_reference(where, absences, windows, probes)


@needs_tzdb
@PROPS
@given(around_change(), st.integers(-300, 300))
def test_instant_is_the_first_moment_the_clock_reads_the_time(where, delta):
    zone = where.zone
    wall = (where.before if delta % 2 else where.after) + timedelta(minutes=delta // 4)
    u = instant(wall, zone)
    assert local_time(u, zone) >= wall
    # no earlier minute within two days reads the time or later
    before = [local_time(u - 60 * k, zone) for k in range(1, 2 * 1440)]
    assume(all(b.second == 0 for b in before))
    assert all(b < wall for b in before)


# --- DST, by example -----------------------------------------------------------------------

def test_end_is_wall_clock_whatever_the_offset_when_saved():
    # saved in winter (UTC+0), ends after the spring change (UTC+1): 09:00 local is 08:00 UTC
    sched = Schedule(LISBON, [Absence(datetime(2027, 3, 20), datetime(2027, 3, 28, 9, 0))])
    assert sched.in_force(utc(2027, 3, 28, 7, 59)) is not None
    assert sched.in_force(utc(2027, 3, 28, 8, 0)) is None
    assert sched.next_change(utc(2027, 3, 25)) == utc(2027, 3, 28, 8, 0)
    assert show(utc(2027, 3, 28, 8, 0), sched.zone) == "2027-03-28 09:00 WEST"


def test_time_in_the_spring_gap_happens_when_the_gap_ends():
    zone = get_zone(LISBON)  # 2027-03-28 01:00 WET -> 02:00 WEST; 01:30 does not exist
    assert instant(datetime(2027, 3, 28, 1, 30), zone) == utc(2027, 3, 28, 1, 0)
    assert instant(datetime(2027, 3, 28, 1, 0), zone) == utc(2027, 3, 28, 1, 0)
    assert instant(datetime(2027, 3, 28, 2, 0), zone) == utc(2027, 3, 28, 1, 0)
    assert instant(datetime(2027, 3, 28, 0, 59), zone) == utc(2027, 3, 28, 0, 59)
    # a window entirely inside the gap does not happen that day
    sched = Schedule(LISBON, [parse_window("Sun 01:10-01:50")])
    assert sched.in_force(utc(2027, 3, 28, 1, 0)) is None
    assert sched.in_force(utc(2027, 3, 21, 1, 20)) is not None


def test_ambiguous_time_is_its_first_pass():
    zone = get_zone(LISBON)  # 2027-10-31 02:00 WEST -> 01:00 WET; 01:30 happens twice
    assert instant(datetime(2027, 10, 31, 1, 30), zone) == utc(2027, 10, 31, 0, 30)
    sched = Schedule(LISBON, [parse_window("Sun 01:00-01:30")])
    assert sched.in_force(utc(2027, 10, 31, 0, 15)) is not None  # 01:15 WEST
    assert sched.in_force(utc(2027, 10, 31, 1, 15)) is None  # 01:15 WET, the repeat
    # a window running through the repeated hour covers both passes
    sched = Schedule(LISBON, [parse_window("Sun 01:30-02:30")])
    for minute in range(30, 150, 10):  # 00:30 UTC (01:30 WEST) to 02:30 UTC (02:30 WET)
        assert sched.in_force(utc(2027, 10, 31, 0, 0) + minute * 60) is not None


def test_weekend_window_across_spring_change_is_one_hour_shorter():
    sched = Schedule(LISBON, [parse_window("Fri 14:00 - Mon 08:00")])
    occ = sched.in_force(utc(2027, 3, 27, 12, 0))
    assert occ.ends_at - occ.starts_at == 65 * 3600
    assert show(occ.starts_at, sched.zone) == "2027-03-26 14:00 WET"
    assert show(occ.ends_at, sched.zone) == "2027-03-29 08:00 WEST"


def test_southern_hemisphere_and_half_hour_zones():
    # Lord Howe moves by 30 minutes; Sydney springs forward in October
    for name, when in (("Australia/Lord_Howe", utc(2027, 10, 2, 15, 30)),
                       ("Australia/Sydney", utc(2027, 10, 2, 16, 0))):
        zone = get_zone(name)
        before = local_time(when - 60, zone)
        after = local_time(when, zone)
        assert after - before > timedelta(minutes=1)  # a gap really is there
        inside = before + timedelta(minutes=11)
        assert instant(inside, zone) == when


# --- precedence, next change, handles ------------------------------------------------------

def test_dated_absence_beats_window_and_first_started_keeps_answering():
    first = Absence(datetime(2027, 8, 1), datetime(2027, 8, 20), key="summer")
    later = Absence(datetime(2027, 8, 10), datetime(2027, 8, 31), key="trip")
    weekly = parse_window("Fri 14:00 - Mon 08:00", key="weekly")
    sched = Schedule(LISBON, [weekly, later, first])
    assert sched.in_force(utc(2027, 7, 30, 15, 0)).item is weekly
    assert sched.in_force(utc(2027, 8, 6, 15, 0)).item is first  # Friday: the absence wins
    assert sched.in_force(utc(2027, 8, 15)).item is first  # overlap: the earlier start
    assert sched.in_force(utc(2027, 8, 25)).item is later
    assert sched.next_change(utc(2027, 8, 15)) == utc(2027, 8, 19, 23, 0)  # 00:00 WEST


def test_equal_starts_go_to_the_item_listed_first():
    a = Absence(datetime(2027, 8, 1), datetime(2027, 8, 5), key="a")
    b = Absence(datetime(2027, 8, 1), datetime(2027, 8, 9), key="b")
    assert Schedule("UTC", [a, b]).in_force(utc(2027, 8, 2)).item is a
    assert Schedule("UTC", [b, a]).in_force(utc(2027, 8, 2)).item is b


def test_each_weekly_occurrence_has_its_own_handle_key():
    w = parse_window("Mon-Fri 12:00-13:00", key="lunch")
    sched = Schedule("UTC", [w])
    mon = sched.in_force(utc(2027, 1, 4, 12, 10))
    mon_later = sched.in_force(utc(2027, 1, 4, 12, 50))
    tue = sched.in_force(utc(2027, 1, 5, 12, 10))
    assert mon.handle_key == mon_later.handle_key == "lunch@2027-01-04T12:00"
    assert tue.handle_key == "lunch@2027-01-05T12:00"
    assert mon.series_key == tue.series_key == "lunch"
    weekend = Schedule("UTC", [parse_window("Sat-Sun", key="w")])
    assert weekend.in_force(utc(2027, 1, 9, 1)).handle_key == \
        weekend.in_force(utc(2027, 1, 10, 23)).handle_key  # Sat and Sun: one weekend
    dated = Schedule("UTC", [Absence(datetime(2027, 1, 1), None, key="a1")])
    assert dated.in_force(utc(2027, 5, 1)).handle_key == "a1"


def test_adjacent_days_across_the_week_end_are_one_occurrence():
    sched = Schedule("UTC", [parse_window("Sun-Mon", key="x")])
    sun = sched.in_force(utc(2027, 1, 10, 10))
    mon = sched.in_force(utc(2027, 1, 11, 10))
    assert sun.ident == mon.ident
    assert sun.start == datetime(2027, 1, 10) and sun.end == datetime(2027, 1, 12)


def test_next_change_timeline_and_upcoming():
    w = parse_window("Fri until 2027-01-15", key="fri")
    sched = Schedule("UTC", [w])
    assert sched.next_change(utc(2027, 1, 4)) == utc(2027, 1, 8)
    assert sched.next_change(utc(2027, 1, 8, 12)) == utc(2027, 1, 9)
    assert sched.next_change(utc(2027, 1, 16)) is None  # the window is over for good
    line = sched.timeline(utc(2027, 1, 4), utc(2027, 1, 31))
    assert [(f, t, o and o.handle_key) for f, t, o in line] == [
        (utc(2027, 1, 4), utc(2027, 1, 8), None),
        (utc(2027, 1, 8), utc(2027, 1, 9), "fri@2027-01-08T00:00"),
        (utc(2027, 1, 9), utc(2027, 1, 15), None),
        (utc(2027, 1, 15), utc(2027, 1, 16), "fri@2027-01-15T00:00"),
        (utc(2027, 1, 16), None, None)]
    assert sched.upcoming(utc(2027, 1, 6), within=3 * 86400)
    assert not sched.upcoming(utc(2027, 1, 6), within=86400)
    assert not sched.upcoming(utc(2027, 2, 1), within=400 * 86400)
    assert not Schedule("UTC", []).upcoming(utc(2027, 1, 1), within=86400)
    assert not sched.over(utc(2027, 1, 15, 23, 59)) and sched.over(utc(2027, 1, 16))
    assert not Schedule("UTC", [parse_window("Mon")]).over(utc(2099, 1, 1))
    queued = Schedule("UTC", [Absence(datetime(2027, 3, 1), datetime(2027, 3, 5))])
    assert not queued.over(utc(2027, 1, 1)) and queued.over(utc(2027, 3, 5))
    assert Schedule("UTC", []).over(utc(2027, 1, 1))


def test_window_with_a_far_from_bound():
    sched = Schedule(LISBON, [parse_window("Mon from 2030-01-01")])
    assert sched.next_change(utc(2027, 1, 1), horizon=10 * 365 * 86400) == \
        utc(2030, 1, 7)  # the first Monday on or after the 1st (WET = UTC)
    assert sched.next_change(utc(2027, 1, 1)) is None  # beyond the default horizon


def test_absence_descriptions():
    assert Absence(datetime(2027, 6, 1), parse_wall("2027-06-30", end=True)).describe() == \
        "absence from 2027-06-01 through 2027-06-30"
    assert Absence(None, datetime(2027, 6, 30, 18)).describe() == \
        "absence from now until 2027-06-30 18:00"
    assert Absence(datetime(2027, 6, 1, 9)).describe() == \
        "absence from 2027-06-01 09:00 until further notice"


def test_absence_bounds_validated():
    with pytest.raises(ScheduleError, match="ends .* before it starts"):
        Absence(datetime(2027, 1, 2), datetime(2027, 1, 1))
    with pytest.raises(ScheduleError, match="without a zone"):
        Absence(datetime(2027, 1, 1, tzinfo=timezone.utc), None)
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        Schedule("Mars/Olympus", [])


# --- the window syntax -----------------------------------------------------------------------

ENGLISH = {0: ["Mon", "monday", "Mondays"], 1: ["tue", "Tuesday", "tues"],
           2: ["Wed", "wednesday"], 3: ["Thu", "thursday", "thurs"], 4: ["fri", "Friday"],
           5: ["SAT", "saturday"], 6: ["sun", "Sunday"]}
PORTUGUESE = {0: ["seg", "segunda", "Segunda-feira", "seg."], 1: ["ter", "terça", "Terça-Feira",
                                                                    "terca"],
              2: ["qua", "quarta", "quarta-feira"], 3: ["qui", "quinta", "Quinta-feira"],
              4: ["sex", "Sexta", "sextas-feiras"], 5: ["sáb", "sab", "Sábado", "sabados"],
              6: ["dom", "Domingo", "domingos"]}


def day_name(lang: dict):
    return st.integers(0, 6).flatmap(lambda d: st.tuples(st.just(d), st.sampled_from(lang[d])))


def time_text(minute: int):
    h, m = divmod(minute, 60)
    forms = [f"{h:02d}:{m:02d}", f"{h}:{m:02d}", f"{h}h{m:02d}"]
    if m == 0:
        forms.append(f"{h}h")
    return st.sampled_from(forms)


@st.composite
def written_window(draw):
    """(text as a user might type it, the window it means)."""
    lang = draw(st.sampled_from([ENGLISH, PORTUGUESE]))
    shape = draw(st.sampled_from(["span", "range", "list", "single"]))
    if shape == "span":
        (d1, n1), (d2, n2) = draw(day_name(lang)), draw(day_name(lang))
        s = draw(st.integers(0, 1439))
        e = draw(st.integers(1, 1439))
        assume((d2 * 1440 + e) % (7 * 1440) != d1 * 1440 + s)
        sep = draw(st.sampled_from([" - ", " – ", " to " if lang is ENGLISH else " a "]))
        text = f"{n1} {draw(time_text(s))}{sep}{n2} {draw(time_text(e))}"
        return text, Window({d1}, s, e, span=True, end_day=d2)
    if shape == "range":
        (d1, n1), (d2, n2) = draw(day_name(lang)), draw(day_name(lang))
        sep = draw(st.sampled_from(["-", " - ", " to " if lang is ENGLISH else " a "]))
        text = f"{n1}{sep}{n2}"
        days = {(d1 + k) % 7 for k in range((d2 - d1) % 7 + 1)}
    elif shape == "list":
        picked = draw(st.lists(day_name(lang), min_size=1, max_size=4))
        text = draw(st.sampled_from([", ", ","])).join(n for _, n in picked)
        days = {d for d, _ in picked}
    else:
        d, n = draw(day_name(lang))
        every = draw(st.sampled_from(["", "every " if lang is ENGLISH else "todas as "]))
        text = every + n
        days = {d}
    if draw(st.booleans()):
        s = draw(st.integers(0, 1439))
        e = draw(st.integers(0, 1439))
        assume(s != e)
        dash = draw(st.sampled_from(["-", " - ", " às " if lang is PORTUGUESE else " to "]))
        text += f" {draw(time_text(s))}{dash}{draw(time_text(e))}"
        window = Window(days, s, e or 1440)
    else:
        window = Window(days)
    if draw(st.booleans()):
        until = draw(st.dates(date(2026, 1, 1), date(2035, 12, 31)))
        word = "until" if lang is ENGLISH else draw(st.sampled_from(["até", "ate"]))
        text += f" {word} {until.isoformat()}"
        window = Window(days, window.start, window.end, since=None,
                        until=datetime(until.year, until.month, until.day) + timedelta(days=1))
    return text, window


@PROPS
@given(written_window())
def test_parse_reads_what_users_write(case):
    text, expected = case
    got = parse_window(text)
    assert got == expected, (text, format_window(got), format_window(expected))


@st.composite
def any_window(draw):
    since = draw(st.one_of(st.none(), st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1))
                           .map(lambda d: d.replace(second=0, microsecond=0))))
    until = draw(st.one_of(st.none(), st.datetimes(datetime(2030, 1, 2), datetime(2035, 1, 1))
                           .map(lambda d: d.replace(second=0, microsecond=0))))
    s = draw(st.integers(0, 1439))
    if draw(st.booleans()):
        d1, d2 = draw(st.integers(0, 6)), draw(st.integers(0, 6))
        e = draw(st.integers(1, 1440))
        assume((d2 * 1440 + e) % (7 * 1440) != d1 * 1440 + s)
        return Window({d1}, s, e, span=True, end_day=d2, since=since, until=until)
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    e = draw(st.integers(1, 1440))
    assume(e != s)
    return Window(days, s, e, since=since, until=until)


@settings(max_examples=200, deadline=None)
@given(any_window())
def test_format_parse_round_trip(w):
    text = format_window(w)
    again = parse_window(text)
    assert again == w, (text, format_window(again))
    assert format_window(again) == text


@settings(max_examples=100, deadline=None)
@given(any_window(), st.integers(0, 7 * 1440 - 1))
def test_crossing_midnight_and_week_end(w, minute):
    """Membership in the merged stretches matches the spec's own words, minute by minute,
    including stretches that run past midnight and from Sunday into Monday."""
    spec = ("span" if w.span else "daily", w.days, w.start, w.end, w.end_day, None, None)
    monday = datetime(2027, 1, 4)  # a Monday
    m = monday + timedelta(minutes=minute)
    inside = any(s <= minute < e or s <= minute + 7 * 1440 < e for s, e in w.spans)
    assert inside == ref_member(spec, m)


@pytest.mark.parametrize("text, expected", [
    ("Fri 14:00 - Mon 08:00", "Fri 14:00 - Mon 08:00"),
    ("Mon-Fri 12:00-13:00", "Mon-Fri 12:00-13:00"),
    ("Sat-Sun", "Sat-Sun"),
    ("every Friday until 2027-06-30", "Fri until 2027-06-30"),
    ("seg a sex das 12h às 13h", "Mon-Fri 12:00-13:00"),
    ("sexta-feira 14h - segunda-feira 8h", "Fri 14:00 - Mon 08:00"),
    ("todas as sextas-feiras até 30/06/2027", "Fri until 2027-06-30"),
    ("Sáb-Dom", "Sat-Sun"),
    ("qua, sex 9h30-10h", "Wed,Fri 09:30-10:00"),
    ("Fri 22:00-06:00", "Fri 22:00-06:00"),
    ("Fri-Mon", "Fri-Mon"),
    ("12:00-13:00", "Mon-Sun 12:00-13:00"),
    ("Fri 14:00 - Mon", "Fri 14:00 - Tue 00:00"),
    ("Mon 9am-5pm from 2027-01-01 until 2027-06-30 18:00",
     "Mon 09:00-17:00 from 2027-01-01 until 2027-06-30 18:00"),
    ("qua de 2027-07-01 até 31/07/2027", "Wed from 2027-07-01 until 2027-07-31"),
    ("Fri 20:00-00:00", "Fri 20:00-24:00"),
])
def test_examples_of_the_syntax(text, expected):
    assert format_window(parse_window(text)) == expected


@pytest.mark.parametrize("text, message", [
    ("Fri 14:00", "expected '-' and an end: a time range (Fri 14:00-18:00) or a span"),
    ("Mon-Fri 12:00", "expected '-' between the start and end time"),
    ("holidays", "unknown word 'holidays'"),
    ("Mon-Fri 14:00 - Fri 08:00", "a span from one day to another starts on a single day"),
    ("Fri 25:00-26:00", "'25:00' is neither a time (14:00, 9:30, 14h, 14h30, 2pm) nor a date"),
    ("Fri until tomorrow", "expected a date after 'until' (2027-06-30 or 2027-06-30 18:00), "
                           "got 'tomorrow'"),
    ("Fri 14:00-14:00", "it would be empty"),
    ("", "expected a weekly window such as"),
    ("2027-06-30", "needs 'from' or 'until' before it"),
    ("Mon-", "expected a day after the dash (Mon-Fri), got the end"),
    ("Fri 14:00 - Fri 14:00", "starts and ends at the same time of the week"),
    ("Fri until 2027-02-30", "cannot read '2027-02-30': not a date of the calendar"),
    ("Fri from 2027-06-30 until 2027-06-01", "bounds are empty"),
    ("Fri until 9999-12-31", "the year must lie between 1900 and 2999"),
    ("Fri until 2027-06-30 until 2027-07-30", "two 'until' bounds"),
    ("Mon @ 9", "unexpected '@'"),
    ("Mon, 9:00-10:00", "expected a day after the comma"),
])
def test_parse_errors_say_what_was_expected(text, message):
    with pytest.raises(ScheduleError) as err:
        parse_window(text)
    assert message in str(err.value)


def test_parse_wall():
    assert parse_wall("2027-03-28 09:00") == datetime(2027, 3, 28, 9, 0)
    assert parse_wall("2027-03-28T09:00") == datetime(2027, 3, 28, 9, 0)
    assert parse_wall("28/03/2027 9h") == datetime(2027, 3, 28, 9, 0)
    assert parse_wall("2027-06-30") == datetime(2027, 6, 30)
    assert parse_wall("2027-06-30", end=True) == datetime(2027, 7, 1)  # the 30th included
    with pytest.raises(ScheduleError, match="expected a date such as 2027-06-30"):
        parse_wall("next week")
    with pytest.raises(ScheduleError, match="between 1900 and 2999"):
        parse_wall("9999-12-31", end=True)


WORDS = ["Mon", "sex", "Sáb", "-", "–", ",", "14:00", "9h30", "2pm", "24:00", "until", "até",
         "from", "2027-06-30", "30/06/2027", "every", "todas", "as", "a", "to", "daily", "x",
         "2027-02-30", "25:00", "sexta-feira", ".", "h"]


@settings(max_examples=300, deadline=None)
@example("\uac00\U00018cd6")  # folding changes the length: Hangul decomposes
@given(st.one_of(st.text(max_size=60),
                 st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)))
def test_any_text_is_a_window_or_a_clear_error(text):
    try:
        w = parse_window(text)
    except ScheduleError as e:
        assert str(e).startswith(("cannot read", "a window is at most"))
    else:
        assert parse_window(format_window(w)) == w
    try:
        parse_wall(text)
    except ScheduleError as e:
        assert str(e).startswith("cannot read")


def test_importing_loads_nothing_heavy():
    """Callers import these modules lazily; even then they pull in only datetime."""
    import subprocess
    import sys

    code = ("import sys; before = set(sys.modules); "
            "import autoresponder.schedule, autoresponder.audience; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    extra = {m for m in out if not m.startswith("autoresponder")}
    assert extra <= {"datetime", "_datetime", "math", "operator", "_operator"}, extra
