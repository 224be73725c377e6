"""The JMAP VacationResponse (RFC 8621 section 8) of an account, and a patch of it turned into
the store's settings. Pure functions: no I/O, no aiohttp.

Standard properties: id ("singleton"), isEnabled, fromDate, toDate (UTCDate, the start and
the exclusive end), subject, textBody (the account's own words, given to its template) and
htmlBody (always null here: the HTML part is rendered from the template and textBody, which
RFC 8621 allows; a client that sets it to text gets invalidProperties saying so).
With the project's capability (CAPABILITY) in `using`, also: interval (seconds between two
replies to one sender; null: the config's), language ("en", "pt" or null), aliases
(addresses that reach this account), fromName (display name on the reply's From) and
template (a template name).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

SINGLETON = "singleton"
CAPABILITY = "urn:autoresponder:jmap:vacation"
STANDARD = ("id", "isEnabled", "fromDate", "toDate", "subject", "textBody", "htmlBody")
EXTRA = ("interval", "language", "aliases", "fromName", "template")
LANGUAGES = ("en", "pt")
YEARS = (1900, 2999)            # as the schedule's dates (docs/schedule.md)
MAX_INTERVAL = 10 * 366 * 86400
MAX_ALIASES = 100
MAX_NAME = 200
_UTCDATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


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


def properties(extra: bool) -> tuple:
    return STANDARD + EXTRA if extra else STANDARD


def state(account) -> str:
    """The VacationResponse state: a digest of everything stored for the account. Every
    update changes updated_at or (when the content changes) the random handle, and a
    disable changes enabled, so every update gives a new state; "0" for no account yet."""
    if account is None:
        return "0"
    d = account.as_dict()
    text = "\0".join(f"{k}={d[k]!r}" for k in sorted(d))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def to_jmap(account, extra: bool) -> dict:
    """The singleton as JMAP shows it (account None: not set up yet, disabled)."""
    a = account
    obj = {
        "id": SINGLETON,
        "isEnabled": bool(a.enabled) if a else False,
        "fromDate": a.start_at if a else None,
        "toDate": a.end_at if a else None,
        "subject": a.subject if a else None,
        "textBody": a.message if a else None,
        "htmlBody": None,
    }
    if extra:
        obj.update({
            "interval": a.interval_seconds if a else None,
            "language": a.language if a else None,
            "aliases": list(a.aliases) if a else [],
            "fromName": a.from_name if a else None,
            "template": a.template if a else "default",
        })
    return obj


def parse_utcdate(value: str) -> str:
    """A UTCDate as stored ("YYYY-MM-DDTHH:MM:SSZ"; fractions of a second dropped);
    ValueError when it is not one, or outside the years the store keeps."""
    m = _UTCDATE.fullmatch(value)
    if not m:
        raise ValueError(f"{value!r} is not a UTCDate (YYYY-MM-DDTHH:MM:SSZ)")
    year = int(m.group(1))
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"{value!r} is out of range (years {YEARS[0]}-{YEARS[1]})")
    try:
        dt = datetime(year, *(int(m.group(i)) for i in range(2, 7)))
    except ValueError:
        raise ValueError(f"{value!r} is no such date and time") from None
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value, prop: str, limit: int, one_line: bool) -> "str | None":
    if value is None:
        return None
    if not isinstance(value, str):
        raise SetError("invalidProperties", f"{prop}: expected a string or null", [prop])
    if "\0" in value:
        raise SetError("invalidProperties", f"{prop}: holds a NUL character", [prop])
    if len(value) > limit:
        raise SetError("invalidProperties", f"{prop}: longer than {limit} characters", [prop])
    if one_line:  # as the CLI stores a subject or a display name: whitespace folded
        value = " ".join(value.split())
    return value or None


def plan(account, patch, extra: bool, config, templates) -> "tuple[dict, list | None, bool]":
    """(changes for the store's FIELDS, aliases or None to keep them, enabled) for `patch`
    applied to the current singleton; SetError when any of it is refused (nothing is then
    written: a patch applies whole or not at all). `templates`: the names a template may
    take."""
    if not isinstance(patch, dict):
        raise SetError("invalidPatch", "the update is not a JSON object")
    allowed = properties(extra)
    bad = [k for k in patch if k not in allowed or k == "id"]
    paths = [k for k in bad if "/" in k and k.split("/", 1)[0] in allowed]
    if paths:
        raise SetError("invalidPatch", "only whole properties can be set here, not paths "
                       f"inside them: {', '.join(sorted(paths))}")
    if bad:
        why = "id is server-set and immutable" if bad == ["id"] else \
            "unknown properties (extra ones need the capability " + CAPABILITY + " in using)"
        raise SetError("invalidProperties", f"{', '.join(sorted(bad))}: {why}", sorted(bad))
    cur = to_jmap(account, True)
    new = {**cur, **patch}
    h = config.http
    changes: dict = {}
    if not isinstance(new["isEnabled"], bool):
        raise SetError("invalidProperties", "isEnabled: expected true or false", ["isEnabled"])
    for prop, field in (("fromDate", "start_at"), ("toDate", "end_at")):
        v = new[prop]
        if v is None:
            changes[field] = None
            continue
        if not isinstance(v, str):
            raise SetError("invalidProperties", f"{prop}: expected a UTCDate or null", [prop])
        try:
            changes[field] = parse_utcdate(v)
        except ValueError as e:
            raise SetError("invalidProperties", f"{prop}: {e}", [prop]) from None
    for field, local in (("start_at", "start_local"), ("end_at", "end_local")):
        # a new instant from the API replaces the wall-clock time the CLI or the page stored
        # (delivery reads the wall-clock time first): never leave a stale one behind
        if changes[field] != (getattr(account, field, None) if account else None):
            changes[local] = None
    if changes["start_at"] and changes["end_at"] and changes["end_at"] <= changes["start_at"]:
        raise SetError("invalidProperties", "toDate: not after fromDate",
                       ["fromDate", "toDate"])
    changes["subject"] = _text(new["subject"], "subject", 998, True)
    changes["message"] = _text(new["textBody"], "textBody", h.max_body_chars, False)
    if new["htmlBody"] is not None:
        raise SetError("invalidProperties", "htmlBody: the HTML part is made from the "
                       "account's template and textBody; set textBody (and, with "
                       f"{CAPABILITY}, template) instead", ["htmlBody"])
    aliases = None
    if "interval" in patch:
        v = patch["interval"]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                              or not 0 <= v <= MAX_INTERVAL):
            raise SetError("invalidProperties", f"interval: expected seconds from 0 to "
                           f"{MAX_INTERVAL}, or null", ["interval"])
        changes["interval_seconds"] = v
    if "language" in patch:
        v = patch["language"]
        if v is not None and v not in LANGUAGES:
            raise SetError("invalidProperties", f"language: expected one of "
                           f"{', '.join(LANGUAGES)} or null", ["language"])
        changes["language"] = v
    if "fromName" in patch:
        changes["from_name"] = _text(patch["fromName"], "fromName", MAX_NAME, True)
    if "template" in patch:
        v = patch["template"]
        if not isinstance(v, str) or v not in templates:
            raise SetError("invalidProperties", "template: expected one of "
                           f"{', '.join(sorted(templates))}", ["template"])
        changes["template"] = v
    if "aliases" in patch:
        aliases = _aliases(patch["aliases"], config)
    return changes, aliases, new["isEnabled"]


def _aliases(value, config) -> list:
    from autoresponder.accounts import normalize_account

    if not isinstance(value, list) or len(value) > MAX_ALIASES or \
            not all(isinstance(a, str) and len(a) <= 320 for a in value):
        raise SetError("invalidProperties", f"aliases: expected a list of at most "
                       f"{MAX_ALIASES} addresses", ["aliases"])
    out = []
    for a in value:
        try:
            out.append(normalize_account(a, config))
        except ValueError as e:
            raise SetError("invalidProperties", f"aliases: {e}", ["aliases"]) from None
    return out
