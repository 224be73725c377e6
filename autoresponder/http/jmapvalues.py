"""The value checks a VacationResponse patch needs (RFC 8620 types and the store's strings),
shared by the singleton's own properties (vacation.py) and its absences and windows
(vacation_items.py). Pure functions: a bad value is a SetError naming the property."""

from __future__ import annotations

import re
from datetime import datetime

YEARS = (1900, 2999)            # as the schedule's dates (docs/schedule.md)
_UTCDATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")
_LOCALDATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")


class SetError(Exception):
    """A SetError (RFC 8620 section 5.3) for the singleton's update."""

    def __init__(self, type_: str, description: str, properties: "list[str] | None" = None):
        super().__init__(description)
        self.type, self.description, self.properties = type_, description, properties

    def as_json(self) -> dict:
        out = {"type": self.type, "description": self.description}
        if self.properties is not None:
            out["properties"] = self.properties
        return out


def invalid(prop: str, why: str, props: "list[str] | None" = None) -> SetError:
    return SetError("invalidProperties", f"{prop}: {why}", props or [prop.split("[")[0]])


def _datetime(m, value: str) -> datetime:
    year = int(m.group(1))
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"{value!r} is out of range (years {YEARS[0]}-{YEARS[1]})")
    try:
        return datetime(year, *(int(m.group(i)) for i in range(2, 7)))
    except ValueError:
        raise ValueError(f"{value!r} is no such date and time") from None


def parse_utcdate(value: str) -> str:
    """A UTCDate as stored ("YYYY-MM-DDTHH:MM:SSZ"; fractions of a second dropped);
    ValueError when it is not one, or outside the years the store keeps."""
    m = _UTCDATE.fullmatch(value)
    if not m:
        raise ValueError(f"{value!r} is not a UTCDate (YYYY-MM-DDTHH:MM:SSZ)")
    return _datetime(m, value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_localdate(value: str) -> str:
    """A LocalDate (RFC 8620: "YYYY-MM-DDTHH:MM:SS", no zone) as the store keeps wall-clock
    times ("YYYY-MM-DDTHH:MM"): the seconds must be :00, as the schedule counts minutes.
    ValueError otherwise."""
    m = _LOCALDATE.fullmatch(value)
    if not m:
        raise ValueError(f"{value!r} is not a LocalDate (YYYY-MM-DDTHH:MM:SS, wall-clock "
                         f"time in the account's timeZone)")
    wall = _datetime(m, value)
    if wall.second:
        raise ValueError(f"{value!r}: the seconds must be :00 (times are kept to the minute)")
    return wall.strftime("%Y-%m-%dT%H:%M")


def localdate(stored: "str | None") -> "str | None":
    """A stored wall-clock time ("YYYY-MM-DDTHH:MM") as a LocalDate."""
    return stored + ":00" if stored else None


def text(value, prop: str, limit: int, one_line: bool) -> "str | None":
    """A string property as the store keeps it: null or empty -> None; a subject or a name
    has its whitespace folded onto one line, a body its line breaks made LF
    (store.base.body_text)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(prop, "expected a string or null")
    if "\0" in value:
        raise invalid(prop, "holds a NUL character")
    if len(value) > limit:
        raise invalid(prop, f"longer than {limit} characters")
    if one_line:
        return " ".join(value.split()) or None
    from autoresponder.store.base import body_text

    return body_text(value)


def template(value, prop: str, templates) -> "str | None":
    """A template name that exists, or null (the account's, or the default)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in templates:
        raise invalid(prop, f"expected null or one of {', '.join(sorted(templates))}")
    return value
