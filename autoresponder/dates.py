"""Dates as admins type them, read with python-dateutil in the configured zone, kept in UTC.

Accepted: ``2026-12-24``, ``2026-12-24 18:00``, ``24/12/2026`` (day first unless the config
says ``dayfirst = false``), ISO 8601 with or without a zone, and ``now``, ``today``,
``tomorrow 9am``, ``yesterday 18:00``. A date without a time means the start of that day for
a start, and the *end* of that day for an end: ``--end 2026-12-24`` keeps the vacation on
through the 24th (the complaint that other tools drop the last day is an old one).
"""

from datetime import datetime, timedelta, timezone

from autoresponder.derived import ISO_FMT, iso_utc
_WORDS = {"today": 0, "tomorrow": 1, "yesterday": -1, "hoje": 0, "amanhã": 1, "amanha": 1,
          "ontem": -1}


class DateError(ValueError):
    pass


def zone(name: str):
    """A tzinfo for an IANA name: the stdlib's zoneinfo (cheap), else python-dateutil's."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ValueError, OSError, ImportError, KeyError):
        pass
    from dateutil import tz as du_tz

    z = du_tz.gettz(name)
    if z is None:
        raise DateError(f"unknown time zone {name!r} (use an IANA name such as Europe/Lisbon)")
    return z


def parse_when(text: str, tz_name: str = "UTC", dayfirst: bool = True, end: bool = False,
               now: "datetime | None" = None) -> datetime:
    """An aware UTC datetime for what the admin typed; DateError if it cannot be read."""
    from dateutil import parser as du_parser

    z = zone(tz_name)
    local_now = (now or datetime.now(timezone.utc)).astimezone(z)
    s = " ".join(text.strip().split())
    if not s:
        raise DateError("empty date")
    if s.lower() == "now":
        return local_now.astimezone(timezone.utc)
    first, _, rest = s.partition(" ")
    if first.lower() in _WORDS:
        day = (local_now + timedelta(days=_WORDS[first.lower()])).date()
        if not rest:
            return _day_edge(day, z, end)
        base = datetime(day.year, day.month, day.day, tzinfo=z)
        try:
            t = du_parser.parse(rest, default=base.replace(tzinfo=None))
        except (ValueError, OverflowError):
            raise DateError(_hint(text)) from None
        return t.replace(tzinfo=z).astimezone(timezone.utc)
    if _looks_iso(s):  # 2026-12-01 is year-month-day whatever dayfirst says
        try:
            a = du_parser.isoparse(s)
        except (ValueError, OverflowError):
            try:  # a valid ISO date with a looser time part: "2026-12-24 18:00 -05:00"
                du_parser.isoparse(s[:10])
                a = _parse(du_parser, text, tz_name, s, dayfirst=False, yearfirst=True)
            except DateError:
                raise
            except (ValueError, OverflowError):
                raise DateError(_hint(text)) from None
        if len(s) == 10:
            return _day_edge(a.date(), z, end)
        if a.tzinfo is None:
            a = a.replace(tzinfo=z)
        return a.astimezone(timezone.utc)
    today = local_now.date()  # "24/12" is this year's; "18:00" is today's
    try:
        a = _parse(du_parser, text, tz_name, s, dayfirst=dayfirst,
                   default=datetime(today.year, today.month, today.day, 0, 0, 0))
        b = _parse(du_parser, text, tz_name, s, dayfirst=dayfirst,
                   default=datetime(today.year, today.month, today.day, 1, 1, 1))
    except DateError:
        raise
    except (ValueError, OverflowError):
        raise DateError(_hint(text)) from None
    if a.hour != b.hour:  # no time of day was given (the defaults show through)
        return _day_edge(a.date(), a.tzinfo or z, end)
    if a.tzinfo is None:
        a = a.replace(tzinfo=z)
    return a.astimezone(timezone.utc)


def _parse(du_parser, text: str, tz_name: str, s: str, **kw) -> datetime:
    """dateutil's parse, except that a zone name it does not know (dateutil would only warn
    and drop it: "18:00 WET" read in Tokyo) is refused."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", du_parser.UnknownTimezoneWarning)
        try:
            return du_parser.parse(s, **kw)
        except du_parser.UnknownTimezoneWarning:
            raise DateError(f"cannot tell which time zone {text!r} names: write an offset "
                            f"such as +00:00, or leave the zone out to mean {tz_name}") from None


def _looks_iso(s: str) -> bool:
    return len(s) >= 10 and s[:4].isdigit() and s[4] == "-" and s[5:7].isdigit() \
        and s[7] == "-"


def _day_edge(day, z, end: bool) -> datetime:
    start = datetime(day.year, day.month, day.day, tzinfo=z)
    if end:
        start = start + timedelta(days=1)
        start = datetime(start.year, start.month, start.day, tzinfo=z)
    return start.astimezone(timezone.utc)


def _hint(text: str) -> str:
    return (f"cannot read {text!r} as a date (try 2026-12-24, 2026-12-24 18:00, 24/12/2026, "
            f"2026-12-24T18:00+00:00 or 'tomorrow 9am')")


def to_iso(dt: datetime) -> str:
    return iso_utc(dt.timestamp())


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, ISO_FMT).replace(tzinfo=timezone.utc)


def show(iso: "str | None", tz_name: str) -> str:
    """A stored UTC time in the configured zone, for people: ``2026-12-24 18:00 WET``."""
    if not iso:
        return "-"
    local = from_iso(iso).astimezone(zone(tz_name))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
