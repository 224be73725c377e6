"""The owner's dates as the page shows them: local wall-clock date and time in the account's
zone, converted to the stored UTC instant with zoneinfo, DST included.

A wall-clock time becomes an instant by the project's one rule (``schedule.instant``): the
first instant at which the clock reads that time or later. A time in a spring-forward gap
therefore starts when the gap ends, and a time in the repeated fall-back hour is its first
pass; the page says so beside the field (``note``). An end given as a date alone means
"through that day" (the next local midnight), as on the command line, and is shown back the
same way: the date, with the time left empty (a start at midnight likewise shows no time).
"""

from __future__ import annotations

from datetime import date, datetime, time as dtime, timedelta, timezone

from autoresponder.derived import iso_utc
from autoresponder.schedule import get_zone, instant


class FieldError(ValueError):
    """A date or time the owner typed that cannot be read; `key` is the message's key in the
    page's catalogue, `field` the form field."""

    def __init__(self, field: str, key: str):
        super().__init__(f"{field}: {key}")
        self.field, self.key = field, key


def zone_of(account, config):
    """The account's zone: its own when the store has one (per-account time zones), else the
    config's (or UTC when neither is known to this machine's tz database)."""
    from autoresponder.schedule import ScheduleError

    for name in (getattr(account, "timezone", None), config.timezone, "UTC"):
        if name:
            try:
                return name, get_zone(name)
            except ScheduleError:  # a stored zone this tz database lacks: the page opens,
                continue           # and saving names the zone field's error
    return "UTC", get_zone("UTC")


def _read(day: str, clock: str, field: str) -> "tuple[date | None, dtime | None]":
    day, clock = (day or "").strip(), (clock or "").strip()
    if not day:
        if clock:
            raise FieldError(field, "time_without_date")
        return None, None
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise FieldError(field, "bad_date") from None
    if not clock:
        return d, None
    try:
        t = dtime.fromisoformat(clock)
    except ValueError:
        raise FieldError(field, "bad_time") from None
    return d, t.replace(second=0, microsecond=0, tzinfo=None)


def to_utc(day: str, clock: str, zone, end: bool, field: str) -> "str | None":
    """The stored UTC text for a local date and time (None when the date is empty). A start
    without a time is the start of that day; an end without one, the end of that day."""
    d, t = _read(day, clock, field)
    if d is None:
        return None
    if t is None:
        if end:
            d = d + timedelta(days=1)
        t = dtime(0, 0)
    return iso_utc(instant(datetime.combine(d, t), zone))


def from_utc(iso: "str | None", zone, end: bool) -> "tuple[str, str]":
    """(date, time) as the form shows a stored instant; at local midnight the time is left
    empty: a start's day, or for an end the day before ("through that day")."""
    if not iso:
        return "", ""
    at = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    local = at.astimezone(zone)
    if (local.hour, local.minute, local.second) == (0, 0, 0):  # a whole day: no time shown
        return (local.date() - timedelta(days=1) if end else local.date()).isoformat(), ""
    return local.date().isoformat(), local.strftime("%H:%M")


def offset_text(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def note(day: str, clock: str, zone, end: bool) -> "dict | None":
    """What the page says beside a date: the local time it stands for, with the zone's
    abbreviation and UTC offset on that date (so a DST change inside an absence shows), and
    whether the time falls in a gap or happens twice. None for an empty or unreadable date."""
    try:
        d, t = _read(day, clock, "")
    except FieldError:
        return None
    if d is None:
        return None
    through_day = t is None and end
    wall = datetime.combine(d + timedelta(days=1) if through_day else d, t or dtime(0, 0))
    at = instant(wall, zone)
    local = datetime.fromtimestamp(at, zone)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    kind = "plain"
    if local.replace(tzinfo=None) != wall:
        kind = "gap"  # that wall time does not exist: it starts when the clocks jump
    elif first.utcoffset() != second.utcoffset():
        kind = "twice"  # the repeated hour: its first pass
    return {
        "local": local.strftime("%Y-%m-%d %H:%M"),
        "abbrev": local.tzname() or "",
        "offset": offset_text(local),
        "utc": iso_utc(at),
        "kind": kind,
        "through_day": through_day,
    }


def to_wall(day: str, clock: str, end: bool, field: str) -> "str | None":
    """The same fields as wall-clock text in the account's zone (``YYYY-MM-DDTHH:MM``), as a
    store that keeps wall-clock times (per-account zones) stores them; an end without a time
    is the next midnight."""
    d, t = _read(day, clock, field)
    if d is None:
        return None
    if t is None:
        if end:
            d = d + timedelta(days=1)
        t = dtime(0, 0)
    return f"{d.isoformat()}T{t.strftime('%H:%M')}"


def from_wall(text: "str | None", end: bool) -> "tuple[str, str]":
    """(date, time) for the form from stored wall-clock text; an end at midnight is shown as
    the day before with no time, as from_utc does."""
    if not text:
        return "", ""
    d = date.fromisoformat(text[:10])
    clock = text[11:16] if len(text) >= 16 else ""
    if clock in ("", "00:00"):  # a whole day: no time shown
        return (d - timedelta(days=1) if end else d).isoformat(), ""
    return d.isoformat(), clock
