"""Dates as admins type them (autoresponder.dates.parse_when), and through `vacation enable`.

Read in the configured zone, stored in UTC; a date alone is the start of that day for a start
and the end of that day (the next midnight, exclusive) for an end.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from autoresponder.dates import DateError, from_iso, parse_when, show, to_iso
from tests.conftest import Agent

# Saturday 28 November 2026, 23:30 UTC: already Sunday in Tokyo, still Saturday in Lisbon.
NOW = datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def when(text: str, tz: str = "Europe/Lisbon", **kw) -> datetime:
    return parse_when(text, tz, now=NOW, **kw)


# --- what admins type -----------------------------------------------------------------------

@pytest.mark.parametrize("text, tz, expected", [
    ("2026-12-24", "Europe/Lisbon", utc(2026, 12, 24, 0, 0)),          # WET = UTC in winter
    ("2026-07-24", "Europe/Lisbon", utc(2026, 7, 23, 23, 0)),          # WEST = UTC+1
    ("2026-12-24 18:00", "Europe/Lisbon", utc(2026, 12, 24, 18, 0)),
    ("2026-07-24 18:00", "Europe/Lisbon", utc(2026, 7, 24, 17, 0)),
    ("2026-12-24 18:00", "America/New_York", utc(2026, 12, 24, 23, 0)),
    ("2026-12-24T18:00", "Europe/Lisbon", utc(2026, 12, 24, 18, 0)),
    ("24/12/2026", "Europe/Lisbon", utc(2026, 12, 24, 0, 0)),
    ("24/12/2026 09:30", "Europe/Lisbon", utc(2026, 12, 24, 9, 30)),
    ("24 Dec 2026", "UTC", utc(2026, 12, 24, 0, 0)),
    ("  2026-12-24   18:00 ", "UTC", utc(2026, 12, 24, 18, 0)),
])
def test_common_spellings(text, tz, expected):
    got = when(text, tz)
    assert got == expected
    assert got.tzinfo is not None and got.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text, expected", [
    ("01/02/2026", utc(2026, 2, 1)),
    ("02/01/2026", utc(2026, 1, 2)),
    ("11/12/2026", utc(2026, 12, 11)),
])
def test_day_first_by_default(text, expected):
    assert when(text, "UTC") == expected


@pytest.mark.parametrize("text, expected", [
    ("01/02/2026", utc(2026, 1, 2)),
    ("12/11/2026", utc(2026, 12, 11)),
])
def test_month_first_with_dayfirst_false(text, expected):
    assert when(text, "UTC", dayfirst=False) == expected


@pytest.mark.parametrize("text, expected", [
    ("2026-12-24T18:00+02:00", utc(2026, 12, 24, 16, 0)),
    ("2026-12-24T18:00:00Z", utc(2026, 12, 24, 18, 0)),
    ("2026-12-24 18:00 -05:00", utc(2026, 12, 24, 23, 0)),
])
def test_iso_with_a_zone_ignores_the_configured_zone(text, expected):
    assert when(text, "Asia/Tokyo") == expected
    assert when(text, "Europe/Lisbon") == expected


@pytest.mark.parametrize("dayfirst", [True, False])
@pytest.mark.parametrize("text, expected", [
    # ISO 8601 is year-month-day whatever the habit for slashed dates: a day of 12 or less
    # must not be swapped with the month.
    ("2026-12-01", utc(2026, 12, 1)),
    ("2026-03-04", utc(2026, 3, 4)),
    ("2026-12-01 18:00", utc(2026, 12, 1, 18, 0)),
    ("2026-03-04T10:00:00Z", utc(2026, 3, 4, 10, 0)),
    ("2026-03-04T10:00+01:00", utc(2026, 3, 4, 9, 0)),
])
def test_iso_dates_are_year_month_day_even_with_dayfirst(text, expected, dayfirst):
    assert when(text, "UTC", dayfirst=dayfirst) == expected


def test_utc_and_gmt_suffixes_are_understood():
    assert when("2026-07-24 18:00 UTC", "Asia/Tokyo") == utc(2026, 7, 24, 18, 0)
    assert when("24/07/2026 18:00 GMT", "Europe/Lisbon") == utc(2026, 7, 24, 18, 0)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-24 18:00 WET", utc(2026, 12, 24, 18, 0)),   # WET is UTC+0
    ("24/12/2026 18:00 CET", utc(2026, 12, 24, 17, 0)),   # CET is UTC+1
])
def test_a_zone_abbreviation_is_honoured_or_refused_never_ignored(text, expected):
    """dateutil does not know "WET"; silently reading the time in the configured zone
    instead (Tokyo here) would be nine hours off."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = when(text, "Asia/Tokyo")
        except DateError:
            return
    assert got == expected


def test_words_in_the_configured_zone():
    assert when("now") == NOW
    # Lisbon: still the 28th, so tomorrow is the 29th
    assert when("tomorrow 9am") == utc(2026, 11, 29, 9, 0)
    assert when("today") == utc(2026, 11, 28, 0, 0)
    assert when("yesterday 18:00") == utc(2026, 11, 27, 18, 0)
    # Tokyo (UTC+9): it is already the 29th there, so tomorrow is the 30th
    assert when("tomorrow 9am", "Asia/Tokyo") == utc(2026, 11, 30, 0, 0)
    assert when("today", "Asia/Tokyo") == utc(2026, 11, 28, 15, 0)
    assert when("Tomorrow  9:00") == utc(2026, 11, 29, 9, 0)


def test_a_date_alone_as_end_means_the_end_of_that_day():
    assert when("2026-12-24", end=True) == utc(2026, 12, 25, 0, 0)
    assert when("24/12/2026", end=True) == utc(2026, 12, 25, 0, 0)
    assert when("today", end=True) == utc(2026, 11, 29, 0, 0)
    assert when("tomorrow", end=True) == utc(2026, 11, 30, 0, 0)
    # an explicit time is taken as given, even midnight
    assert when("2026-12-24 18:00", end=True) == utc(2026, 12, 24, 18, 0)
    assert when("2026-12-24 00:00", end=True) == utc(2026, 12, 24, 0, 0)


def test_dst_days_in_lisbon():
    # 2026-10-25: clocks go back (WEST -> WET), a 25-hour day
    start = when("2026-10-25")
    end = when("2026-10-25", end=True)
    assert start == utc(2026, 10, 24, 23, 0)
    assert end == utc(2026, 10, 26, 0, 0)
    assert (end - start).total_seconds() == 25 * 3600
    # 2026-03-29: clocks go forward (WET -> WEST), a 23-hour day
    start = when("2026-03-29")
    end = when("2026-03-29", end=True)
    assert (end - start).total_seconds() == 23 * 3600
    assert when("2026-03-29 12:00") == utc(2026, 3, 29, 11, 0)
    # the day before the change ends at local midnight, still in WET
    assert when("2026-03-28", end=True) == utc(2026, 3, 29, 0, 0)


def test_partial_dates_are_this_year_or_refused():
    """`--end 24/12` or `--start 18:00` must not silently mean the year 2000."""
    for text, (month, day) in (("24/12", (12, 24)), ("Dec 24", (12, 24))):
        try:
            got = when(text)
        except DateError:
            continue
        assert (got.year, got.month, got.day) == (2026, month, day), (text, got)
    try:
        got = when("18:00")
    except DateError:
        return
    assert got.date() in (NOW.date(), utc(2026, 11, 29).date()), got


@pytest.mark.parametrize("text", ["", "   ", "garbage", "next blursday", "32/13/2026",
                                  "2026-02-30", "2026-13-01", "tomorrow at teatime",
                                  "24/12/2026 25:61"])
def test_garbage_is_refused_with_a_hint(text):
    with pytest.raises(DateError) as e:
        when(text)
    msg = str(e.value)
    assert "\n" not in msg
    if text.strip():
        assert repr(text) in msg and "2026-12-24" in msg


def test_unknown_zone_is_refused():
    with pytest.raises(DateError, match="Mars/Olympus"):
        parse_when("2026-12-24", "Mars/Olympus")


def test_iso_storage_and_display():
    t = utc(2026, 7, 24, 17, 0)
    assert to_iso(t) == "2026-07-24T17:00:00Z"
    assert from_iso(to_iso(t)) == t
    assert show("2026-07-24T17:00:00Z", "Europe/Lisbon") == "2026-07-24 18:00 WEST"
    assert show("2026-12-24T18:00:00Z", "Europe/Lisbon") == "2026-12-24 18:00 WET"
    assert show(None, "Europe/Lisbon") == "-"


# --- through the command line ---------------------------------------------------------------

def lisbon_agent(tmp_path, **top) -> Agent:
    return Agent(tmp_path, timezone="Europe/Lisbon", **top)


def show_json(a: Agent, address: str = "ana@example.com") -> dict:
    return json.loads(a.admin("vacation", "show", address, "--json").stdout)


def test_enable_with_start_and_end_dates(tmp_path):
    a = lisbon_agent(tmp_path)
    r = a.admin("vacation", "enable", "ana@example.com", "--start", "2026-07-20",
                "--end", "24/07/2026")
    v = show_json(a)
    assert v["start_at"] == "2026-07-19T23:00:00Z"
    assert v["end_at"] == "2026-07-24T23:00:00Z"  # the end of the 24th, Lisbon summer time
    assert v["start_local"] == "2026-07-20 00:00 WEST"
    assert v["end_local"] == "2026-07-25 00:00 WEST"
    assert "2026-07-20 00:00 WEST" in r.stdout.decode()


def test_same_day_start_and_end_is_one_whole_day(tmp_path):
    a = lisbon_agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com", "--start", "2026-12-24",
            "--end", "2026-12-24")
    v = show_json(a)
    assert (v["start_at"], v["end_at"]) == ("2026-12-24T00:00:00Z", "2026-12-25T00:00:00Z")


def test_dayfirst_false_in_the_config(tmp_path):
    a = lisbon_agent(tmp_path, dayfirst=False)
    a.admin("vacation", "enable", "ana@example.com", "--start", "12/01/2026",
            "--end", "12/24/2026")
    v = show_json(a)
    assert (v["start_at"], v["end_at"]) == ("2026-12-01T00:00:00Z", "2026-12-25T00:00:00Z")


def test_iso_start_with_a_small_day_through_the_cli(tmp_path):
    a = lisbon_agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com", "--start", "2026-12-01",
            "--end", "2026-12-05")
    v = show_json(a)
    assert (v["start_at"], v["end_at"]) == ("2026-12-01T00:00:00Z", "2026-12-06T00:00:00Z")


@pytest.mark.parametrize("args, words", [
    (("--start", "2026-12-24", "--end", "2026-12-20"), ("end", "start")),
    (("--start", "2026-12-24 18:00", "--end", "2026-12-24 18:00"), ("end", "start")),
    (("--start", "next blursday"), ("next blursday", "2026-12-24")),
    (("--end", "32/13/2026"), ("32/13/2026",)),
])
def test_refused_dates_exit_non_zero_with_a_message(tmp_path, args, words):
    a = lisbon_agent(tmp_path)
    r = a.run("vacation", "enable", "ana@example.com", *args)
    assert r.returncode not in (0, 1), r
    err = r.stderr.decode()
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    # nothing was stored
    assert a.run("vacation", "show", "ana@example.com").returncode != 0


def test_an_end_before_a_start_set_earlier_is_refused(tmp_path):
    a = lisbon_agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com", "--start", "2027-01-20")
    r = a.run("vacation", "enable", "ana@example.com", "--end", "2027-01-15")
    assert r.returncode != 0 and "start" in r.stderr.decode()
    assert show_json(a)["end_at"] is None
    # 'none' clears a date
    a.admin("vacation", "enable", "ana@example.com", "--start", "none", "--end", "2027-01-15")
    v = show_json(a)
    assert v["start_at"] is None and v["end_at"] == "2027-01-16T00:00:00Z"


def test_explain_at_reads_dates_the_same_way(tmp_path):
    a = lisbon_agent(tmp_path)
    a.admin("vacation", "enable", "ana@example.com", "--start", "2026-12-20",
            "--end", "2026-12-31")
    from tests.conftest import personal

    def at(text):
        r = a.run("explain", "--json", "--sender", "bob@example.org", "--recipient",
                  "ana@example.com", "--at", text, input=personal())
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    assert at("2026-12-31 23:59")["decision"] == "reply"   # the 31st is still away
    assert at("01/01/2027")["rule"] == "account"
    assert at("19/12/2026 23:59")["rule"] == "account"
    r = a.run("explain", "--json", "--sender", "bob@example.org", "--recipient",
              "ana@example.com", "--at", "blursday", input=personal())
    assert r.returncode != 0 and "blursday" in r.stderr.decode()
