"""When an account is away: dated absences and weekly windows, in the account's time zone.

Every time here is a *wall-clock* time (what the owner's clock shows) in one IANA zone, turned
into an instant only when a delivery asks "who answers now?". A vacation "until 2027-03-28 09:00"
in Europe/Lisbon therefore ends at 09:00 local that day whatever the UTC offset was when it was
saved: nothing freezes an offset (the Roundcube/SOGo bug where a DST change inside an absence
moves its end by an hour).

The one rule for turning a wall-clock time W into an instant (docs/schedule.md, "DST"):
W happens at **the first instant at which the local clock reads W or later**. So

- a time inside a spring-forward gap (Lisbon 2027-03-28 01:30 does not exist) happens at the
  first instant after the gap (01:00 UTC, when clocks jump to 02:00);
- an ambiguous time in a fall-back overlap (01:30 happens twice) happens at its first
  occurrence (PEP 495 ``fold=0``); a window that starts and ends inside the repeated hour is in
  force during its first pass only.

Precedence when several items cover an instant (``Schedule.in_force``): a dated absence beats a
weekly window; among dated absences, the one that started first keeps answering (open start
first), and among windows the occurrence that started first; equal starts go to the item
listed first. So an answering absence is never interrupted by a later-starting one (fewer
changes of reply, fewer replies to one sender); only a dated absence interrupts a window.

Identity: each dated absence is one occurrence; each weekly window has one occurrence per
contiguous stretch of the week it covers (``Sat-Sun`` is one weekend, ``Mon-Fri 12:00-13:00`` five
lunch hours). ``Occurrence.handle_key`` names the occurrence; the store mixes it into the RFC
5230 :handle, so a new absence, or a new weekly occurrence, answers senders again.

This module imports only ``datetime`` and ``zoneinfo`` (and ``unicodedata`` for parsing); the
delivery line imports it lazily, only for accounts that have a schedule.
"""

from datetime import date, datetime, timedelta, timezone

WEEK = 7 * 24 * 60  # minutes
DAY = 24 * 60


class ScheduleError(ValueError):
    """A schedule that cannot be read or makes no sense; the text says what was expected."""


# --- zones and the wall-clock rule -----------------------------------------------------------

def get_zone(name: str):
    """The tzinfo for an IANA zone name (stdlib zoneinfo); ScheduleError if unknown."""
    if not name:
        raise ScheduleError("no time zone given (use an IANA name such as Europe/Lisbon)")
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        pass
    except ImportError:  # pragma: no cover - zoneinfo is stdlib since 3.9
        pass
    if name.upper() == "UTC":  # no tz database installed at all
        return timezone.utc
    raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/Lisbon)")


def local_time(at: float, zone) -> datetime:
    """The naive wall-clock time in `zone` at the UTC timestamp `at`."""
    return datetime.fromtimestamp(at, zone).replace(tzinfo=None)


def instant(wall: datetime, zone) -> float:
    """The UTC timestamp at which the wall-clock time `wall` happens in `zone`: the first instant
    at which the clock reads `wall` or later (gap -> end of the gap; overlap -> first pass)."""
    u0 = wall.replace(tzinfo=zone, fold=0).timestamp()
    u1 = wall.replace(tzinfo=zone, fold=1).timestamp()
    if u0 <= u1:  # unique (equal) or ambiguous (fold=0 is the earlier pass)
        return u0
    # A gap: fold=1 reads the time with the offset after the jump (an instant before it),
    # fold=0 with the offset before (an instant after it). tz database transitions fall on
    # whole seconds: search them for the first second whose clock reads >= wall.
    lo, hi = int(u1) - 1, int(u0) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if local_time(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid
    return float(hi)


def show(at: float, zone) -> str:
    """An instant as the account's owner reads it: ``2027-03-28 09:00 WEST``."""
    local = datetime.fromtimestamp(at, zone)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


# --- what answers -----------------------------------------------------------------------------

class Occurrence:
    """One stretch of absence: a dated absence, or one occurrence of a weekly window.

    `start`/`end` are wall-clock times (None: open), `starts_at`/`ends_at` their instants.
    """

    __slots__ = ("item", "index", "start", "end", "starts_at", "ends_at")

    def __init__(self, item, index: int, start, end, starts_at, ends_at):
        self.item = item
        self.index = index
        self.start = start
        self.end = end
        self.starts_at = starts_at
        self.ends_at = ends_at

    @property
    def ident(self) -> tuple:
        """What tells two answers apart (used by next_change): the item and the stretch."""
        return (self.index, self.start)

    @property
    def handle_key(self) -> str:
        """A stable name for this stretch, for the reply's handle: the item's key for a dated
        absence; the window's key plus the occurrence's wall-clock start for a window (stable
        across tz database updates, which may move instants but not wall-clock times)."""
        key = self.series_key
        if isinstance(self.item, Window):
            return f"{key}@{self.start.isoformat(timespec='minutes')}"
        return key

    @property
    def series_key(self) -> str:
        """The item this stretch belongs to (the same for every occurrence of a window): what a
        per-sender floor across occurrences (one reply per 24 h) is kept for."""
        return self.item.key or self.item.describe()

    def _rank(self) -> tuple:
        kind = 0 if isinstance(self.item, Absence) else 1
        return (kind, self.start is not None, self.start or datetime.min, self.index)

    def __repr__(self) -> str:
        return (f"Occurrence({self.item.describe()!r}, index={self.index}, start={self.start}, "
                f"end={self.end})")


class Absence:
    """A dated absence: from `start` until `end` (wall-clock, naive; end exclusive; None: open)."""

    __slots__ = ("start", "end", "key")

    def __init__(self, start: "datetime | None" = None, end: "datetime | None" = None,
                 key: str = ""):
        for name, v in (("start", start), ("end", end)):
            if v is not None and (not isinstance(v, datetime) or v.tzinfo is not None):
                raise ScheduleError(f"the absence's {name} must be a wall-clock time without a "
                                    f"zone (the account's zone applies), got {v!r}")
        if start is not None and end is not None and end <= start:
            raise ScheduleError(f"the absence ends ({_fmt_wall(end)}) before it starts "
                                f"({_fmt_wall(start)})")
        self.start = start
        self.end = end
        self.key = key

    def describe(self) -> str:
        """``absence from 2027-06-01 through 2027-06-30`` (an end at midnight closes the day
        before), ``absence from 2027-06-01 09:00 until 2027-06-30 18:00``."""
        s = _fmt_wall(self.start) if self.start else "now"
        if self.end is None:
            return f"absence from {s} until further notice"
        if self.end.time() == datetime.min.time():
            return f"absence from {s} through {_fmt_wall(self.end - timedelta(days=1))}"
        return f"absence from {s} until {_fmt_wall(self.end)}"

    def _instants(self, zone) -> "tuple[float | None, float | None]":
        return (None if self.start is None else instant(self.start, zone),
                None if self.end is None else instant(self.end, zone))

    def occurrence_at(self, at: float, zone, index: int = 0) -> "Occurrence | None":
        s, e = self._instants(zone)
        if (s is None or s <= at) and (e is None or at < e):
            return Occurrence(self, index, self.start, self.end, s, e)
        return None

    def next_boundary(self, at: float, zone) -> "float | None":
        """The first instant after `at` at which this absence starts or ends."""
        s, e = self._instants(zone)
        if s is not None and e is not None and e <= s:
            return None  # entirely inside a DST gap: never in force
        for b in (s, e):
            if b is not None and b > at:
                return b
        return None

    def __eq__(self, other) -> bool:
        return (type(other) is Absence and (self.start, self.end, self.key)
                == (other.start, other.end, other.key))

    def __repr__(self) -> str:
        return f"Absence({self.start!r}, {self.end!r}, key={self.key!r})"


class Window:
    """A weekly window, wall-clock in the account's zone, optionally bounded by dates.

    Two shapes (see ``parse_window``): a daily time range on a set of weekdays (``days``,
    ``start``/``end`` minutes of the day; end <= start crosses midnight; 0-1440 is all day), or
    one span from a weekday and time to another (``span=True``: ``days`` holds the start day,
    ``end_day`` the end day). `since`/`until` are wall-clock bounds (until exclusive).
    """

    __slots__ = ("days", "start", "end", "span", "end_day", "since", "until", "key", "_spans")

    def __init__(self, days, start: int = 0, end: int = DAY, span: bool = False,
                 end_day: "int | None" = None, since: "datetime | None" = None,
                 until: "datetime | None" = None, key: str = ""):
        days = frozenset(days)
        if not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise ScheduleError("a window needs at least one weekday (0 = Monday .. 6 = Sunday)")
        if not (0 <= start < DAY and 0 < end <= DAY):
            raise ScheduleError("window times must lie between 00:00 and 24:00")
        if span:
            if len(days) != 1 or end_day is None or not 0 <= end_day <= 6:
                raise ScheduleError("a span needs one start day and one end day")
            if (end_day * DAY + end) % WEEK == start + min(days) * DAY:
                raise ScheduleError("the span starts and ends at the same time of the week "
                                    "(for the whole week write Mon-Sun)")
        elif start == end:
            raise ScheduleError(f"the window starts and ends at {_fmt_min(start)}: it would be "
                                f"empty (for the whole day leave the times out)")
        for name, v in (("from", since), ("until", until)):
            if v is not None and (not isinstance(v, datetime) or v.tzinfo is not None):
                raise ScheduleError(f"the window's {name} bound must be a wall-clock time "
                                    f"without a zone, got {v!r}")
        if since is not None and until is not None and until <= since:
            raise ScheduleError(f"the window's bounds are empty: until {_fmt_wall(until)} is "
                                f"not after from {_fmt_wall(since)}")
        self.days = days
        self.start = start
        self.end = end
        self.span = span
        self.end_day = end_day if span else None
        self.since = since
        self.until = until
        self.key = key
        self._spans = _merge(self._raw_spans())

    def _raw_spans(self) -> "list[tuple[int, int]]":
        """(start minute of the week, length in minutes) of each stretch before merging."""
        if self.span:
            d = min(self.days)
            s = d * DAY + self.start
            length = (self.end_day * DAY + self.end - s) % WEEK
            return [(s, length)]
        length = (self.end - self.start) % DAY or DAY
        return [(d * DAY + self.start, length) for d in sorted(self.days)]

    @property
    def spans(self) -> "list[tuple[int, int]]":
        """Merged stretches as (start minute of the week, end minute; end may pass 10080)."""
        return list(self._spans)

    def describe(self) -> str:
        return format_window(self)

    def __eq__(self, other) -> bool:
        return (type(other) is Window and self._spans == other._spans
                and (self.since, self.until, self.key) == (other.since, other.until, other.key))

    def __repr__(self) -> str:
        return f"Window({format_window(self)!r}, key={self.key!r})"

    # -- occurrences --

    def _week(self, monday: datetime):
        """This window's occurrences whose nominal start falls in the week of `monday`, as
        (start, end) wall-clock times clipped to the bounds, in order."""
        for s, e in self._spans:
            a = monday + timedelta(minutes=s)
            b = monday + timedelta(minutes=e)
            if self.since is not None and a < self.since:
                a = self.since
            if self.until is not None and b > self.until:
                b = self.until
            if a < b:
                yield a, b

    def _weeks_from(self, wall: datetime):
        """Occurrences from the week before the one holding `wall - 2 days` onwards, in order
        of start, stopping after the `until` bound."""
        if self.since is not None and wall < self.since:
            wall = self.since
        first = wall - timedelta(days=2)
        day = first.date() - timedelta(days=first.weekday() + 7)
        monday = datetime(day.year, day.month, day.day)
        while self.until is None or monday < self.until:
            yield from self._week(monday)
            monday += timedelta(days=7)

    # A wall-clock time and the instant it happens at never differ from the clock's reading at
    # that instant by more than the largest jump of a zone (24 h, Pacific/Apia 2011): stretches
    # that end more than SLACK before the clock's reading are over without converting them.
    SLACK = timedelta(days=2)

    def occurrence_at(self, at: float, zone, index: int = 0) -> "Occurrence | None":
        local = local_time(at, zone)
        for a, b in self._weeks_from(local):
            if b < local - self.SLACK:
                continue
            if a > local + self.SLACK:
                break
            sa = instant(a, zone)
            if sa > at:
                break
            sb = instant(b, zone)
            if at < sb:
                return Occurrence(self, index, a, b, sa, sb)
        return None

    def next_boundary(self, at: float, zone) -> "float | None":
        """The first instant after `at` at which an occurrence of this window starts or ends."""
        local = local_time(at, zone)
        for n, (a, b) in enumerate(self._weeks_from(local)):
            if b < local - self.SLACK:
                continue
            sa, sb = instant(a, zone), instant(b, zone)
            if sb <= at or sb <= sa:  # past, or swallowed whole by a DST gap
                if n > 1000:  # pragma: no cover - stretches are never empty for long
                    return None
                continue
            return sa if sa > at else sb
        return None


def _merge(raw: "list[tuple[int, int]]") -> "list[tuple[int, int]]":
    """Stretches of the week merged where they touch or overlap, the week taken as a circle:
    sorted (start, end) with 0 <= start < WEEK and end <= start + WEEK. A window covering the
    whole week is one stretch from Monday 00:00 (one occurrence per week)."""
    pieces = []
    for s, length in raw:
        s %= WEEK
        e = s + length
        if e > WEEK:
            pieces.append((s, WEEK))
            pieces.append((0, e - WEEK))
        else:
            pieces.append((s, e))
    pieces.sort()
    merged: "list[list[int]]" = []
    for s, e in pieces:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    if merged[0] == [0, WEEK]:
        return [(0, WEEK)]
    if len(merged) > 1 and merged[0][0] == 0 and merged[-1][1] == WEEK:
        first = merged.pop(0)
        merged[-1][1] = WEEK + first[1]
    return [(s, e) for s, e in merged]


# --- a schedule: several items for one account -------------------------------------------------

class Schedule:
    """An account's absences and windows in its zone. Items are Absence and Window objects; their
    order is the last tie-break of precedence (list the older first)."""

    __slots__ = ("zone_name", "zone", "items")

    def __init__(self, zone_name: str, items=()):
        self.zone_name = zone_name
        self.zone = get_zone(zone_name)
        self.items = list(items)

    def in_force(self, at: float) -> "Occurrence | None":
        """What answers at the UTC timestamp `at`, or None when the owner is not away."""
        best = None
        for i, item in enumerate(self.items):
            occ = item.occurrence_at(at, self.zone, i)
            if occ is not None and (best is None or occ._rank() < best._rank()):
                best = occ
        return best

    def next_change(self, at: float, horizon: float = 400 * 86400) -> "float | None":
        """The first instant after `at` at which the answer of in_force changes (another item,
        another occurrence, or nothing), or None if nothing changes within `horizon` seconds."""
        current = self.in_force(at)
        if current is not None and isinstance(current.item, Absence):
            # nothing outranks an answering dated absence until it ends
            e = current.ends_at
            return None if e is None or e > at + horizon else e
        ident = current.ident if current else None
        t = at
        while True:
            bounds = [b for item in self.items
                      if (b := item.next_boundary(t, self.zone)) is not None]
            if not bounds:
                return None
            t = min(bounds)
            if t > at + horizon:
                return None
            now = self.in_force(t)
            if (now.ident if now else None) != ident:
                return t

    def timeline(self, at: float, until: float, limit: int = 20) -> list:
        """The answers from `at` to `until` as (from, to, Occurrence | None) in order, at most
        `limit` entries; `to` is None when the last answer lasts past `until`."""
        out = []
        t = at
        while len(out) < limit:
            occ = self.in_force(t)
            nxt = self.next_change(t, horizon=max(0.0, until - t))
            out.append((t, nxt, occ))
            if nxt is None or nxt >= until:
                break
            t = nxt
        return out

    def over(self, at: float) -> bool:
        """True when nothing is in force at `at` and nothing ever will be again (every absence
        ended, every window past its `until`): postfix-map can drop the account."""
        return self.in_force(at) is None and all(
            item.next_boundary(at, self.zone) is None for item in self.items)

    def upcoming(self, at: float, within: float) -> bool:
        """True when something is in force at `at` or starts within `within` seconds (what
        postfix-map needs to list the account ahead of time)."""
        if self.in_force(at) is not None:
            return True
        t = self.next_change(at, horizon=within)
        return t is not None


# --- reading and writing windows --------------------------------------------------------------

_DAY_NAMES = {
    0: ("mon", "monday", "mondays", "seg", "segunda", "segundas"),
    1: ("tue", "tues", "tuesday", "tuesdays", "ter", "terca", "tercas"),
    2: ("wed", "wednesday", "wednesdays", "qua", "quarta", "quartas"),
    3: ("thu", "thur", "thurs", "thursday", "thursdays", "qui", "quinta", "quintas"),
    4: ("fri", "friday", "fridays", "sex", "sexta", "sextas"),
    5: ("sat", "saturday", "saturdays", "sab", "sabado", "sabados"),
    6: ("sun", "sunday", "sundays", "dom", "domingo", "domingos"),
}
_DAYS = {name: d for d, names in _DAY_NAMES.items() for name in names}
_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PT_LONG = {"segunda", "terca", "quarta", "quinta", "sexta"}  # these take "-feira"
_FROM = {"from", "since", "desde", "partir", "starting"}  # "a partir de 2027-01-01"
_UNTIL = {"until", "till", "ate"}
_CONNECT = {"to", "through", "a", "as"}  # "seg a sex", "12h as 13h", "Fri 14:00 to Mon 08:00"
_FILLER = {"every", "each", "on", "cada", "todas", "todos", "os", "as", "a", "de", "das", "do",
           "da", "the", "at", "e"}
_EVERY_DAY = {"daily", "diariamente", "dias", "days"}

SYNTAX = ("a weekly window such as 'Fri 14:00 - Mon 08:00', 'Mon-Fri 12:00-13:00', 'Sat-Sun' "
          "or 'Fri until 2027-06-30' (day names in English or Portuguese)")


def _fold(text: str) -> str:
    """Lower case without accents: 'Sáb' -> 'sab', 'Terça' -> 'terca', 'até' -> 'ate'."""
    import unicodedata

    d = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in d if not unicodedata.combining(c))


class _Tok:
    __slots__ = ("kind", "value", "text")

    def __init__(self, kind: str, value, text: str):
        self.kind = kind  # day | days | time | date | dash | comma | word
        self.value = value
        self.text = text

    def __repr__(self) -> str:
        return f"{self.kind}:{self.text}"


def _tokens(text: str) -> "list[_Tok]":
    toks: "list[_Tok]" = []
    s = _fold(text)
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
        elif c in "-\u2013\u2014":
            toks.append(_Tok("dash", None, c))
            i += 1
        elif c in ",;+&":
            toks.append(_Tok("comma", None, c))
            i += 1
        elif c.isdigit():
            j = i
            while j < n and (s[j].isalnum() or s[j] in ":./-"):
                if s[j] == "-" and not _date_dash(s, i, j):
                    break
                j += 1
            word = s[i:j]
            if word.endswith(".") and not word[:-1].endswith(("h",)):  # end of a sentence
                word = word[:-1]
            tok = _number_token(word, text)
            toks.append(tok)
            i = j
        elif c.isalpha():
            j = i
            while j < n and s[j].isalpha():
                j += 1
            word = s[i:j]
            base = word[:-1] if word.endswith("s") else word
            if (word in _PT_LONG or base in _PT_LONG) and s.startswith("-feira", j):
                j += len("-feira")  # "sexta-feira", "sextas-feiras"
                if j < n and s[j] == "s":
                    j += 1
            if j < n and s[j] == ".":  # "seg." "sex."
                j += 1
            toks.append(_word_token(word, s[i:j]))
            i = j
        else:
            # positions are in the folded text (accents dropped), so name the character
            raise ScheduleError(f"cannot read {text!r}: unexpected {c!r}; expected {SYNTAX}")
    return toks


def _date_dash(s: str, i: int, j: int) -> bool:
    """A '-' at j inside a number starting at i belongs to an ISO date (2027-06-30)."""
    k = j - i
    return (k == 4 and s[i:j].isdigit()) or (k == 7 and s[i:i + 4].isdigit()
                                                and s[i + 4] == "-" and s[i + 5:j].isdigit())


def _word_token(word: str, original: str) -> _Tok:
    if word in _DAYS:
        return _Tok("day", _DAYS[word], original)
    if word in _EVERY_DAY:
        return _Tok("days", None, original)
    return _Tok("word", word, original)


def _number_token(word: str, text: str) -> _Tok:
    d = _read_date(word)
    if d is not None:
        return _Tok("date", d, word)
    m = _read_time(word)
    if m is not None:
        return _Tok("time", m, word)
    raise ScheduleError(f"cannot read {text!r}: {word!r} is neither a time (14:00, 9:30, 14h, "
                        f"14h30, 2pm) nor a date (2027-06-30, 30/06/2027)")


def _read_date(word: str) -> "date | None":
    parts = None
    if len(word) == 10 and word[4] == "-" and word[7] == "-":
        y, m, d = word[:4], word[5:7], word[8:]
        parts = (y, m, d)
    elif word.count("/") == 2:
        d, m, y = word.split("/")
        if len(y) == 4:
            parts = (y, m, d)
    if parts is None or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    if not 1900 <= int(parts[0]) <= 2999:  # bounded: dates near year 9999 overflow datetime
        raise ScheduleError(f"cannot read {word!r}: the year must lie between 1900 and 2999")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise ScheduleError(f"cannot read {word!r}: not a date of the calendar") from None


def _read_time(word: str) -> "int | None":
    """Minutes of the day for 14:00, 9:30, 14.30, 14h, 14h30, 2pm, 12:30am; 24:00 -> 1440."""
    w = word
    half = None
    if w.endswith(("am", "pm")):
        half, w = w[-2:], w[:-2]
    h, sep, m = w, "", ""
    for c in (":", "h", "."):
        if c in w:
            h, sep, m = w.partition(c)
            break
    if not h.isdigit() or not h.isascii() or len(h) > 2 or (m and (
            not m.isdigit() or not m.isascii() or len(m) != 2)) or (sep and sep != "h"
                                                                      and not m):
        return None
    hh, mm = int(h), int(m or 0)
    if half:
        if not 1 <= hh <= 12:
            return None
        hh = hh % 12 + (12 if half == "pm" else 0)
    if mm > 59 or hh > 24 or (hh == 24 and mm):
        return None
    return hh * 60 + mm


def _clean(toks: "list[_Tok]") -> "list[_Tok]":
    """Connectors between two days or two times become dashes; filler words go."""
    out: "list[_Tok]" = []
    for k, t in enumerate(toks):
        if t.kind == "word" and t.value in _CONNECT and out and k + 1 < len(toks) \
                and out[-1].kind in ("day", "time") and toks[k + 1].kind in ("day", "time"):
            out.append(_Tok("dash", None, t.text))
        elif t.kind == "word" and t.value == "de" and k + 1 < len(toks) \
                and toks[k + 1].kind == "date":  # "de 2027-07-01 ate 2027-07-31"
            out.append(_Tok("word", "from", t.text))
        elif t.kind == "word" and t.value in _FILLER:
            continue
        else:
            out.append(t)
    return out


def parse_wall(text: str, end: bool = False) -> datetime:
    """A wall-clock date or date and time: ``2027-03-28``, ``2027-03-28 09:00``,
    ``28/03/2027 9h``. A date alone is the start of that day, or with end=True the start of the
    next (``until 2027-06-30`` includes the 30th)."""
    toks = [t for t in _tokens(text.replace("T", " ", 1) if len(text) > 10 and text[10:11] == "T"
                               else text)]
    return _wall_from(toks, text, end, "a date such as 2027-06-30 or 2027-06-30 09:00")


def _wall_from(toks: "list[_Tok]", text: str, end: bool, what: str) -> datetime:
    if not toks or toks[0].kind != "date":
        got = toks[0].text if toks else "nothing"
        raise ScheduleError(f"cannot read {text!r}: expected {what}, got {got!r}")
    d = toks[0].value
    if len(toks) == 1:
        wall = datetime(d.year, d.month, d.day)
        return wall + timedelta(days=1) if end else wall
    if len(toks) == 2 and toks[1].kind == "time":
        return datetime(d.year, d.month, d.day) + timedelta(minutes=toks[1].value)
    raise ScheduleError(f"cannot read {text!r}: expected {what}, got "
                        f"{' '.join(t.text for t in toks[1:])!r} after the date")


def parse_window(text: str, key: str = "") -> Window:
    """A Window from the documented syntax (docs/schedule.md, "Weekly windows"); ScheduleError
    naming what was expected."""
    if len(text) > 200:
        raise ScheduleError("a window is at most 200 characters")
    toks = _clean(_tokens(text))
    since = until = None
    body: "list[_Tok]" = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.kind == "word" and t.value in _FROM | _UNTIL:
            j = k + 1
            while j < len(toks) and toks[j].kind in ("date", "time") and j - k <= 2:
                j += 1
            bound = toks[k + 1:j]
            is_until = t.value in _UNTIL
            if not bound:
                got = repr(toks[j].text) if j < len(toks) else "the end"
                raise ScheduleError(f"cannot read {text!r}: expected a date after {t.text!r} "
                                    f"(2027-06-30 or 2027-06-30 18:00), got {got}")
            wall = _wall_from(bound, text, is_until, f"a date after {t.text!r} (2027-06-30 or "
                              f"2027-06-30 18:00)")
            if is_until:
                if until is not None:
                    raise ScheduleError(f"cannot read {text!r}: two 'until' bounds")
                until = wall
            else:
                if since is not None:
                    raise ScheduleError(f"cannot read {text!r}: two 'from' bounds")
                since = wall
            k = j
        else:
            body.append(t)
            k += 1
    for t in body:
        if t.kind == "word":
            raise ScheduleError(f"cannot read {text!r}: unknown word {t.text!r}; expected "
                                f"{SYNTAX}")
        if t.kind == "date":
            raise ScheduleError(f"cannot read {text!r}: a date ({t.text}) needs 'from' or "
                                f"'until' before it")
    if not body:
        raise ScheduleError(f"cannot read {text!r}: expected {SYNTAX}")
    try:
        return _window(body, text, since, until, key)
    except ScheduleError as e:
        if str(e).startswith("cannot read"):
            raise
        raise ScheduleError(f"cannot read {text!r}: {e}") from None


def _window(toks: "list[_Tok]", text: str, since, until, key: str) -> Window:
    def fail(expected: str, at: int):
        got = repr(toks[at].text) if at < len(toks) else "the end"
        raise ScheduleError(f"cannot read {text!r}: expected {expected}, got {got}")

    # The span shape: DAY TIME - DAY [TIME]
    if (len(toks) >= 4 and toks[0].kind == "day" and toks[1].kind == "time"
            and toks[2].kind == "dash" and toks[3].kind == "day"):
        end = DAY
        used = 4
        if len(toks) > 4 and toks[4].kind == "time":
            end = toks[4].value
            used = 5
        if used < len(toks):
            fail("nothing more after the span's end", used)
        start = toks[1].value
        if start >= DAY:
            fail("a start time before 24:00", 1)
        if end == 0:  # "Mon 00:00" ends where Sunday 24:00 does
            return Window({toks[0].value}, start, DAY, span=True,
                          end_day=(toks[3].value - 1) % 7, since=since, until=until, key=key)
        return Window({toks[0].value}, start, end, span=True, end_day=toks[3].value,
                      since=since, until=until, key=key)
    # The daily shape: [DAYS] [TIME - TIME]
    days: "set[int]" = set()
    k = 0
    if k < len(toks) and toks[k].kind == "days":
        days = set(range(7))
        k += 1
    else:
        while k < len(toks) and toks[k].kind == "day":
            first = toks[k].value
            if k + 2 < len(toks) and toks[k + 1].kind == "dash" and toks[k + 2].kind == "day":
                last = toks[k + 2].value
                d = first
                while True:
                    days.add(d)
                    if d == last:
                        break
                    d = (d + 1) % 7
                k += 3
            elif k + 1 < len(toks) and toks[k + 1].kind == "dash":
                fail("a day after the dash (Mon-Fri)", k + 2)
            else:
                days.add(first)
                k += 1
            if k < len(toks) and toks[k].kind == "comma":
                k += 1
                if k >= len(toks) or toks[k].kind != "day":
                    fail("a day after the comma (Mon, Wed, Fri)", k)
    if not days:
        if k < len(toks) and toks[k].kind == "time":
            days = set(range(7))  # "12:00-13:00": every day
        else:
            fail(f"a day name (Mon..Sun, seg..dom) or a time range; {SYNTAX}", k)
    if k == len(toks):
        return Window(days, 0, DAY, since=since, until=until, key=key)
    if toks[k].kind != "time":
        fail("a time range such as 12:00-13:00 after the days", k)
    if k + 1 >= len(toks) or toks[k + 1].kind != "dash":
        if len(days) == 1 and k + 1 >= len(toks):
            fail("'-' and an end: a time range (Fri 14:00-18:00) or a span "
                 "(Fri 14:00 - Mon 08:00)", k + 1)
        fail("'-' between the start and end time (12:00-13:00)", k + 1)
    if k + 2 >= len(toks) or toks[k + 2].kind != "time":
        if k + 2 < len(toks) and toks[k + 2].kind == "day" and len(days) > 1:
            fail("an end time: a span from one day to another starts on a single day "
                 "(Fri 14:00 - Mon 08:00)", k + 2)
        fail("an end time after the dash (12:00-13:00)", k + 2)
    if k + 3 < len(toks):
        fail("nothing more after the time range", k + 3)
    start, end = toks[k].value, toks[k + 2].value
    if start >= DAY:
        fail("a start time before 24:00", k)
    # an end at 00:00 is midnight at the end of the day ("Fri 20:00-00:00"; "00:00-00:00" is
    # the whole day)
    return Window(days, start, end or DAY, since=since, until=until, key=key)


def _fmt_min(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _fmt_wall(w: datetime) -> str:
    if w.hour == 0 and w.minute == 0 and w.second == 0 and w.microsecond == 0:
        return w.strftime("%Y-%m-%d")
    return w.strftime("%Y-%m-%d %H:%M")


def _fmt_days(days: "frozenset[int]") -> str:
    if len(days) == 7:
        return "Mon-Sun"
    # runs of consecutive days on the circle, starting after a day that is not in the set
    first = next(d for d in range(7) if (d - 1) % 7 not in days and d in days)
    runs: "list[list[int]]" = []
    cur: "list[int]" = []
    for step in range(7):
        x = (first + step) % 7
        if x in days:
            cur.append(x)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    runs.sort(key=lambda r: r[0])
    out = []
    for r in runs:
        if len(r) >= 2:
            out.append(f"{_SHORT[r[0]]}-{_SHORT[r[-1]]}")
        else:
            out.extend(_SHORT[x] for x in r)
    return ",".join(out)


def format_window(w: Window) -> str:
    """The canonical text of a window: parse_window(format_window(w)) == w (bar the key)."""
    if w.span:
        d = min(w.days)
        end_day, end = w.end_day, w.end
        if end == DAY:
            end_day, end = (end_day + 1) % 7, 0
        text = f"{_SHORT[d]} {_fmt_min(w.start)} - {_SHORT[end_day]} {_fmt_min(end)}"
    elif w.start == 0 and w.end == DAY:
        text = _fmt_days(w.days)
    else:
        text = f"{_fmt_days(w.days)} {_fmt_min(w.start)}-{_fmt_min(w.end)}"
    if w.since is not None:
        text += f" from {_fmt_wall(w.since)}"
    if w.until is not None:
        u = w.until
        if u.hour == 0 and u.minute == 0 and u.second == 0 and u.microsecond == 0:
            text += f" until {_fmt_wall(u - timedelta(days=1))}"
        else:
            text += f" until {_fmt_wall(u)}"
    return text


__all__ = ["Absence", "Occurrence", "Schedule", "ScheduleError", "Window", "format_window",
           "get_zone", "instant", "local_time", "parse_wall", "parse_window", "show"]
