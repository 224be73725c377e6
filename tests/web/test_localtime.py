"""The owner page's dates: local wall-clock fields <-> stored UTC, DST-correct (zoneinfo)."""

from datetime import date, datetime, time as dtime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from autoresponder.schedule import get_zone
from autoresponder.web import localtime

LISBON = get_zone("Europe/Lisbon")
NEW_YORK = get_zone("America/New_York")


def test_a_time_keeps_its_wall_clock_across_dst():
    # the same 09:00 before and after Lisbon's spring change is a different UTC offset
    assert localtime.to_utc("2027-03-27", "09:00", LISBON, False, "s") == "2027-03-27T09:00:00Z"
    assert localtime.to_utc("2027-03-29", "09:00", LISBON, False, "s") == "2027-03-29T08:00:00Z"


def test_a_time_in_the_spring_gap_starts_when_the_clocks_jump():
    assert localtime.to_utc("2027-03-28", "01:30", LISBON, False, "s") == "2027-03-28T01:00:00Z"
    n = localtime.note("2027-03-28", "01:30", LISBON, False)
    assert n["kind"] == "gap" and n["local"] == "2027-03-28 02:00" and n["abbrev"] == "WEST"


def test_a_repeated_time_in_autumn_is_its_first_pass():
    assert localtime.to_utc("2026-10-25", "01:30", LISBON, False, "s") == "2026-10-25T00:30:00Z"
    n = localtime.note("2026-10-25", "01:30", LISBON, False)
    assert n["kind"] == "twice" and n["offset"] == "UTC+01:00"


def test_an_end_date_alone_means_through_that_day_and_reads_back_so():
    iso = localtime.to_utc("2027-03-28", "", LISBON, True, "e")
    assert iso == "2027-03-28T23:00:00Z"  # next local midnight, already summer time
    assert localtime.from_utc(iso, LISBON, True) == ("2027-03-28", "")
    assert localtime.note("2027-03-28", "", LISBON, True)["through_day"]


def test_a_start_date_alone_is_the_start_of_that_day():
    assert localtime.to_utc("2026-12-24", "", LISBON, False, "s") == "2026-12-24T00:00:00Z"
    assert localtime.to_utc("2026-12-24", "", NEW_YORK, False, "s") == "2026-12-24T05:00:00Z"


@pytest.mark.parametrize("day,clock,key", [("", "10:00", "time_without_date"),
                                           ("2026-13-01", "", "bad_date"),
                                           ("yesterday", "", "bad_date"),
                                           ("2026-12-01", "25:00", "bad_time")])
def test_unreadable_fields_name_their_problem(day, clock, key):
    with pytest.raises(localtime.FieldError) as e:
        localtime.to_utc(day, clock, LISBON, False, "start")
    assert e.value.key == key and e.value.field == "start"


def test_empty_means_none():
    assert localtime.to_utc("", "", LISBON, False, "s") is None
    assert localtime.from_utc(None, LISBON, False) == ("", "")
    assert localtime.note("", "", LISBON, False) is None


@settings(max_examples=300, deadline=None)
@given(day=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
       minute=st.integers(0, 24 * 60 - 1),
       zone=st.sampled_from(["Europe/Lisbon", "America/New_York", "Australia/Lord_Howe",
                             "Asia/Kolkata", "UTC"]),
       end=st.booleans())
def test_what_the_form_shows_is_what_was_typed(day, minute, zone, end):
    """A wall time that exists reads back exactly; one in a gap reads back as the end of the
    gap; and the stored instant, shown in the zone, is never before the typed time."""
    z = get_zone(zone)
    clock = f"{minute // 60:02d}:{minute % 60:02d}"
    iso = localtime.to_utc(day.isoformat(), clock, z, end, "x")
    at = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    wall = datetime.combine(day, dtime(minute // 60, minute % 60))
    local = at.astimezone(z).replace(tzinfo=None)
    assert local >= wall and local - wall <= timedelta(hours=1)
    shown = localtime.from_utc(iso, z, end)
    n = localtime.note(day.isoformat(), clock, z, end)
    if local == wall:
        if end and clock == "00:00":  # shown as "through the day before"
            assert shown == ((day - timedelta(days=1)).isoformat(), "")
        elif clock == "00:00":  # a start of day: no time shown
            assert shown == (day.isoformat(), "")
        else:
            assert shown == (day.isoformat(), clock)
        assert n["kind"] in ("plain", "twice")
    else:
        assert n["kind"] == "gap"
    # a date alone round-trips for both ends
    for is_end in (False, True):
        iso = localtime.to_utc(day.isoformat(), "", z, is_end, "x")
        assert localtime.from_utc(iso, z, is_end)[0] == day.isoformat()


def test_wall_clock_text_round_trips_like_the_utc_form():
    assert localtime.to_wall("2027-03-28", "01:30", False, "s") == "2027-03-28T01:30"
    assert localtime.to_wall("2027-03-28", "", True, "e") == "2027-03-29T00:00"
    assert localtime.to_wall("", "", True, "e") is None
    assert localtime.from_wall("2027-03-29T00:00", True) == ("2027-03-28", "")
    assert localtime.from_wall("2027-03-29T09:00", True) == ("2027-03-29", "09:00")
    assert localtime.from_wall("2027-03-29T00:00", False) == ("2027-03-29", "")
    assert localtime.from_utc("2027-03-29T00:00:00Z", get_zone("UTC"), False) == \
        ("2027-03-29", "")


def test_the_form_prefers_stored_wall_clock_times(tmp_path):
    """With per-account zones the store keeps the times as typed; the page shows those."""
    from autoresponder import config as config_mod
    from autoresponder.store.base import Account
    from autoresponder.web.ownerform import form_from_account

    p = tmp_path / "ar.toml"
    p.write_text(f'database = "{tmp_path}/db.sqlite3"\ntimezone = "UTC"\n')
    cfg = config_mod.load(str(p))
    acct = Account(address="a@example.com", enabled=1, start_at="2027-03-27T18:00:00Z",
                   end_at="2027-03-29T08:00:00Z", start_local="2027-03-27T18:00",
                   end_local="2027-03-30T00:00", timezone="Europe/Lisbon", subject=None,
                   message=None, language=None, interval_seconds=None, template="default",
                   from_name=None, handle="h", created_at=None, updated_at=None)
    f = form_from_account(acct, cfg)
    assert (f["start_date"], f["start_time"]) == ("2027-03-27", "18:00")
    assert (f["end_date"], f["end_time"]) == ("2027-03-29", "")
