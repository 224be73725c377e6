"""The JMAP VacationResponse (RFC 8621 section 8) of an account, and a patch of it turned into
the store's settings. Pure functions: no I/O, no aiohttp.

Standard properties: id ("singleton"), isEnabled, fromDate, toDate (UTCDate, the start and
the exclusive end), subject, textBody (the account's own words, given to its template) and
htmlBody (always null here: the HTML part is rendered from the template and textBody, which
RFC 8621 allows; a client that sets it to text gets invalidProperties saying so).
With the project's capability (CAPABILITY) in `using`, also: interval (seconds between two
replies to one sender; null: the config's), language ("en", "pt" or null), aliases
(addresses that reach this account), fromName (display name on the reply's From),
template (a template name), and issue 13's settings (the same ones `vacation enable`,
`add-absence` and `add-window` set): timeZone, localFromDate/localToDate (the wall-clock
start and end in that zone), internalDomains, external ("reply" or "none" for outsiders),
externalSubject/externalTextBody/externalTemplate, replyFrom, answerGroupMail, and the
lists absences and windows (vacation_items.py). null always means the config's default, or
none.

fromDate and localFromDate (and toDate/localToDate) are one setting seen two ways: fromDate
is the UTC instant, localFromDate the wall-clock time in the account's zone (the stored one,
else fromDate read in the zone). A patch changes one of the pair: a new fromDate is an
instant (the wall-clock time is dropped), a new localFromDate a wall-clock time (fromDate is
worked out by schedule.instant, the delivery's own rule); a new timeZone keeps the
wall-clock times, so their instants move.
"""

from __future__ import annotations

import hashlib

from autoresponder.http import vacation_items
from autoresponder.http.jmapvalues import YEARS, SetError, invalid, localdate, \
    parse_localdate, parse_utcdate, template, text

SINGLETON = "singleton"
CAPABILITY = "urn:autoresponder:jmap:vacation"
STANDARD = ("id", "isEnabled", "fromDate", "toDate", "subject", "textBody", "htmlBody")
EXTRA = ("interval", "language", "aliases", "fromName", "template", "timeZone",
         "localFromDate", "localToDate", "internalDomains", "external", "externalSubject",
         "externalTextBody", "externalTemplate", "replyFrom", "answerGroupMail", "absences",
         "windows")
LANGUAGES = ("en", "pt")
EXTERNAL = ("reply", "none")
MAX_INTERVAL = 10 * 366 * 86400
MAX_ALIASES = 100
MAX_DOMAINS = 100
MAX_NAME = 200
MAX_ZONE = 100
# the pairs of one setting: (UTC property, wall-clock property, store prefix)
DATES = (("fromDate", "localFromDate", "start"), ("toDate", "localToDate", "end"))

class Planned(tuple):
    """What plan() found: `changes` for the store's FIELDS, `aliases` (None: keep them),
    `enabled`, and `items` for save_vacation (None: keep the absences and windows).

    It unpacks as the three values plan() gave before absences and windows were settable
    (``changes, aliases, enabled = plan(...)`` still works); a caller whose patches may hold
    `absences` or `windows` passes ``.items`` to save_vacation too."""

    def __new__(cls, changes: dict, aliases, enabled: bool, items):
        self = super().__new__(cls, (changes, aliases, enabled))
        self.items = items
        return self

    changes = property(lambda self: self[0])
    aliases = property(lambda self: self[1])
    enabled = property(lambda self: self[2])


__all__ = ["CAPABILITY", "EXTRA", "Planned", "SINGLETON", "STANDARD", "SetError", "YEARS",
           "parse_localdate", "parse_utcdate", "plan", "properties", "server_set", "state",
           "to_jmap"]


def properties(extra: bool) -> tuple:
    return STANDARD + EXTRA if extra else STANDARD


def state(account) -> str:
    """The VacationResponse state: a digest of everything stored for the account (its
    absences and windows included), so every update that changes a setting gives a new
    state, and so does any save in another second (updated_at); "0" for no account yet."""
    if account is None:
        return "0"
    d = account.as_dict()
    flat = "\0".join(f"{k}={d[k]!r}" for k in sorted(d))
    return hashlib.sha256(flat.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def zone_of(account, default_zone: "str | None" = None) -> str:
    """The IANA zone the account's wall-clock times are in: its own, else the config's
    (`default_zone`; the Account's default_zone when not given)."""
    if account is not None and account.timezone:
        return account.timezone
    return default_zone or (account.default_zone if account is not None else None) or "UTC"


def _wall_shown(account, prefix: str, zone_name: str) -> "str | None":
    """localFromDate/localToDate: the stored wall-clock time, else the UTC instant read in
    the zone (to the second: a fromDate set with seconds shows them)."""
    stored = getattr(account, f"{prefix}_local")
    if stored:
        return localdate(stored)
    at = getattr(account, f"{prefix}_at")
    if not at:
        return None
    from autoresponder import schedule as sch
    from autoresponder.dates import from_iso

    try:
        zone = sch.get_zone(zone_name)
    except sch.ScheduleError:  # a zone the tz database no longer has: read it in UTC
        zone = sch.get_zone("UTC")
    return sch.local_time(from_iso(at).timestamp(), zone).strftime("%Y-%m-%dT%H:%M:%S")


def to_jmap(account, extra: bool, default_zone: "str | None" = None) -> dict:
    """The singleton as JMAP shows it (account None: not set up yet, disabled).
    `default_zone`: the config's timezone, the zone of an account without its own."""
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
    if not extra:
        return obj
    zone = zone_of(a, default_zone)
    obj.update({
        "interval": a.interval_seconds if a else None,
        "language": a.language if a else None,
        "aliases": list(a.aliases) if a else [],
        "fromName": a.from_name if a else None,
        "template": a.template if a else "default",
        "timeZone": a.timezone if a else None,
        "localFromDate": _wall_shown(a, "start", zone) if a else None,
        "localToDate": _wall_shown(a, "end", zone) if a else None,
        "internalDomains": [d for d in a.internal_domains.split(",") if d]
        if a and a.internal_domains else None,
        "external": a.external if a else None,
        "externalSubject": a.external_subject if a else None,
        "externalTextBody": a.external_message if a else None,
        "externalTemplate": a.external_template if a else None,
        "replyFrom": a.reply_from if a else None,
        "answerGroupMail": a.answer_group_mail if a else None,
        "absences": vacation_items.listed(a, "absences"),
        "windows": vacation_items.listed(a, "windows"),
    })
    return obj


def server_set(patch: dict, before: dict, after: dict) -> "dict | None":
    """RFC 8620 /set's `updated` value: the properties whose stored value is not what the
    patch said (folded whitespace, a canonical window text, ids of new absences) or that
    changed without being in the patch (localFromDate after a new fromDate, fromDate after a
    new timeZone), or None when everything reads back as sent. `before` and `after`: the
    object (to_jmap) the patch was planned on, and the one saved."""
    out = {k: after[k] for k in after
           if (after[k] != patch[k] if k in patch else after[k] != before.get(k, after[k]))}
    return out or None


def plan(account, patch, extra: bool, config, templates,
         address: "str | None" = None) -> Planned:
    """What the store writes for `patch` applied to the current singleton (Planned:
    changes for the store's FIELDS, aliases or None to keep them, enabled, items or None to
    keep the absences and windows); SetError when any of it is refused (nothing is then
    written: a patch applies whole or not at all). `templates`: the names a template may
    take; `address`: the account's, needed when `account` is None (not set up yet)."""
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
    from autoresponder.schedadmin import AdminError

    default_zone = getattr(config, "timezone", None) or "UTC"
    cur = to_jmap(account, True, default_zone)
    new = {**cur, **patch}
    h = config.http
    changes: dict = {}
    if not isinstance(new["isEnabled"], bool):
        raise SetError("invalidProperties", "isEnabled: expected true or false", ["isEnabled"])
    old_zone = zone_of(account, default_zone)
    zone = old_zone
    if "timeZone" in patch:
        v = patch["timeZone"]
        if v is not None:
            if not isinstance(v, str) or len(v) > MAX_ZONE:
                raise invalid("timeZone", "expected an IANA zone name (Europe/Lisbon) or null")
            try:
                from autoresponder.schedadmin import check_zone

                check_zone(v, "timeZone")
            except AdminError as e:
                raise SetError("invalidProperties", str(e), ["timeZone"]) from None
        changes["timezone"] = v
        zone = v or default_zone
    _dates(account, patch, cur, changes, zone, zone != old_zone)
    changes["subject"] = text(new["subject"], "subject", 998, True)
    changes["message"] = text(new["textBody"], "textBody", h.max_body_chars, False)
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
        changes["from_name"] = text(patch["fromName"], "fromName", MAX_NAME, True)
    if "template" in patch:
        v = patch["template"]
        if not isinstance(v, str) or v not in templates:
            raise SetError("invalidProperties", "template: expected one of "
                           f"{', '.join(sorted(templates))}", ["template"])
        changes["template"] = v
    if "aliases" in patch:
        aliases = _aliases(patch["aliases"], config)
    if "internalDomains" in patch:
        changes["internal_domains"] = _domains(patch["internalDomains"])
    if "external" in patch:
        v = patch["external"]
        if v is not None and v not in EXTERNAL:
            raise invalid("external", "expected \"reply\" (outsiders get a reply), \"none\" "
                          "(colleagues only) or null")
        changes["external"] = "none" if v == "none" else None
    if "externalSubject" in patch:
        changes["external_subject"] = text(patch["externalSubject"], "externalSubject", 998,
                                           True)
    if "externalTextBody" in patch:
        changes["external_message"] = text(patch["externalTextBody"], "externalTextBody",
                                           h.max_body_chars, False)
    if "externalTemplate" in patch:
        changes["external_template"] = template(patch["externalTemplate"], "externalTemplate",
                                                templates)
    if "answerGroupMail" in patch:
        v = patch["answerGroupMail"]
        if v is not None and not isinstance(v, bool):
            raise invalid("answerGroupMail", "expected true, false or null (the config's "
                          "rules.answer_group_mail)")
        changes["answer_group_mail"] = v
    if "replyFrom" in patch or aliases is not None:
        changes["reply_from"] = _reply_from(new["replyFrom"], "replyFrom" in patch,
                                            account.address if account else address,
                                            aliases if aliases is not None else
                                            (account.aliases if account else []), config)
    items = vacation_items.plan(account, patch, h.max_body_chars, templates)
    return Planned(changes, aliases, new["isEnabled"], items)


def _dates(account, patch: dict, cur: dict, changes: dict, zone: str,
           zone_changed: bool) -> None:
    """start_at/start_local and end_at/end_local for the patch (the module's docstring)."""
    from autoresponder import schedule as sch
    from autoresponder.derived import iso_utc

    for utc, local, prefix in DATES:
        at_f, local_f = f"{prefix}_at", f"{prefix}_local"
        stored_at = getattr(account, at_f) if account else None
        stored_local = getattr(account, local_f) if account else None
        new_at = None
        if utc in patch and patch[utc] is not None:
            v = patch[utc]
            if not isinstance(v, str):
                raise invalid(utc, "expected a UTCDate or null")
            try:
                new_at = parse_utcdate(v)
            except ValueError as e:
                raise invalid(utc, str(e)) from None
        utc_changed = utc in patch and new_at != stored_at
        local_changed = local in patch and patch[local] != cur[local]
        if utc_changed and local_changed:
            raise SetError("invalidProperties", f"{utc} and {local} are one setting (an "
                           f"instant, or a wall-clock time in timeZone): change one of them",
                           [utc, local])
        wall = stored_local
        if utc_changed:
            # a new instant replaces the wall-clock time the CLI or the page stored
            # (delivery reads the wall-clock time first): never leave a stale one behind
            changes[at_f], changes[local_f] = new_at, None
            continue
        if local_changed:
            v = patch[local]
            if v is not None and not isinstance(v, str):
                raise invalid(local, "expected a LocalDate or null")
            try:
                wall = parse_localdate(v) if v is not None else None
            except ValueError as e:
                raise invalid(local, str(e)) from None
        elif zone_changed and not wall and cur[local]:
            wall = cur[local][:16]  # an instant alone: kept as the wall-clock time it showed
        if local_changed or (zone_changed and wall):
            changes[local_f] = wall
            try:
                tz = sch.get_zone(zone)
            except sch.ScheduleError as e:  # a stored zone the tz database no longer has
                raise SetError("invalidProperties", f"timeZone: {e}: set one",
                               ["timeZone"]) from None
            changes[at_f] = iso_utc(sch.instant(_naive(wall), tz)) if wall else None
        else:  # as stored (a vacation switched back on keeps its wall-clock times)
            changes[at_f], changes[local_f] = stored_at, stored_local
    if changes["start_at"] and changes["end_at"] and changes["end_at"] <= changes["start_at"]:
        named = [p for pair in DATES for p in pair[:2] if p in patch] or ["timeZone"]
        raise SetError("invalidProperties", f"{', '.join(named)}: the end is not after the "
                       f"start ({changes['end_at']} <= {changes['start_at']})", named)


def _naive(wall: str):
    from datetime import datetime

    return datetime.fromisoformat(wall)


def _domains(value) -> "str | None":
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_DOMAINS or \
            not all(isinstance(d, str) and len(d) <= 255 for d in value):
        raise invalid("internalDomains", f"expected a list of at most {MAX_DOMAINS} domains "
                      f"(example.com, or .example.com for its subdomains) or null")
    from autoresponder.schedadmin import AdminError, join_domains

    try:
        return join_domains(value, "internalDomains")
    except AdminError as e:
        raise SetError("invalidProperties", str(e), ["internalDomains"]) from None


def _reply_from(value, given: bool, address: "str | None", aliases, config) -> "str | None":
    props = ["replyFrom"] if given else ["aliases", "replyFrom"]
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 320:
        raise SetError("invalidProperties", "replyFrom: expected \"account\", \"addressed\", "
                       "one of the account's addresses, or null", props)
    from autoresponder.schedadmin import AdminError, own_reply_from

    try:
        return own_reply_from(value, address, aliases, config, "replyFrom",
                              "set it in aliases first" if given else
                              "the new aliases leave it out: change replyFrom too")
    except AdminError as e:
        raise SetError("invalidProperties", str(e), props) from None


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
