"""Sieve text: the two flavours of script, the escaping of account data, and our marker.

Account data reaches Sieve only through ``quote`` (RFC 5228 quoted strings: ``\\`` and ``"``
escaped) and ``text_block`` (``text:`` multi-line strings, dot-stuffed). Neither flavour
requires ``variables`` or ``encoded-character``, so ``${...}`` in account data stays literal.
Pigeonhole refuses NUL and a bare CR anywhere in a script, so those never reach it: header
values (subject, names) become one line, body text keeps its lines with LF endings (Pigeonhole
turns each into CRLF).

Every script we write starts with a marker comment holding, as one line of JSON, what
``uninstall`` needs: which script was active before (and whether it was a plain file).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from email.utils import formataddr

SCRIPT_NAME = "autoresponder"
PROGRAM = "autoresponder"
MARKER = "# autoresponder-state: "
FLAVOURS = ("execute", "vacation")
DAY = 86400


class ScriptError(Exception):
    """The script cannot be built from this data (the message says why)."""


def quote(value: str) -> str:
    """A Sieve quoted string whose value is exactly ``value`` (LF becomes CRLF in Pigeonhole)."""
    if "\0" in value or "\r" in value:
        raise ValueError("NUL and CR cannot appear in a Sieve string")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def string_list(values: "list[str]") -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"


def one_line(value: str) -> str:
    """A header value: line breaks and tabs become spaces, other control characters go."""
    value = value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return "".join(c for c in value if c >= " " and c != "\x7f").strip()


def body_text(value: str) -> str:
    """Body text as Sieve can hold it: LF line ends, no NUL, ending with one line break."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    return value if value.endswith("\n") else value + "\n"


def text_block(value: str) -> str:
    """A ``text:`` multi-line string (RFC 5228 §2.4.2): lines starting with "." get another."""
    lines = body_text(value).split("\n")[:-1]
    stuffed = [("." + line) if line.startswith(".") else line for line in lines]
    return "text:\n" + "".join(line + "\n" for line in stuffed) + ".\n"


@dataclass
class State:
    """What a script we installed remembers about the setup it replaced."""

    flavour: str
    account: str
    previous: "str | None" = None     # the script that was active before ours, if any
    previous_file: bool = False       # it was a plain file at the active path (local only)
    program: "str | None" = None      # execute flavour: the program named in sieve_execute_bin_dir
    version: int = 1
    previous_link: "str | None" = None  # the active link's exact text before ours (local only)

    def comment(self) -> str:
        d = asdict(self)
        if d["previous_link"] is None:  # scripts written before it existed stay up to date
            del d["previous_link"]
        # ensure_ascii: one line of ASCII whatever the names hold
        return MARKER + json.dumps(d, sort_keys=True, ensure_ascii=True) + "\n"


def parse_state(text: str) -> "State | None":
    """The marker of a script we wrote, or None (not ours, or damaged)."""
    for line in text.splitlines()[:10]:
        if line.startswith(MARKER):
            try:
                d = json.loads(line[len(MARKER):])
                return State(flavour=str(d["flavour"]), account=str(d["account"]),
                             previous=d.get("previous"),
                             previous_file=bool(d.get("previous_file", False)),
                             program=d.get("program"),
                             version=int(d.get("version", 1)),
                             previous_link=_text_or_none(d.get("previous_link")))
            except (ValueError, KeyError, TypeError):
                return None
    return None


def _text_or_none(value) -> "str | None":
    return value if isinstance(value, str) else None


def _header(state: State) -> str:
    return ("# Written by `autoresponder sieve install`; `autoresponder sieve uninstall` removes "
            "it\n# and re-activates the script that was active before. Do not edit.\n"
            + state.comment())


def _require(exts: "list[str]") -> str:
    return "require " + string_list(exts) + ";\n"


def _include(state: State) -> str:
    if not state.previous:
        return ""
    return ("# The filters that were active before keep working:\n"
            f"include :personal {quote(state.previous)};\n")


def execute_script(state: State, program: str = PROGRAM) -> str:
    """Hand every message to the agent through vnd.dovecot.execute, then the user's filters.

    ``execute`` is used as a test: if the agent fails (exit 75, crash, missing) the test is
    false and the script goes on, so the user's filters and the implicit keep still file the
    message. As a plain command, a failing program would abort the script instead.
    """
    exts = ["vnd.dovecot.execute"] + (["include"] if state.previous else [])
    return (_header(state) + _require(exts)
            + "# The agent reads the envelope from SENDER/RECIPIENT/ORIG_RECIPIENT and the\n"
              "# message from stdin; it decides, replies and records. It never files anything.\n"
            + f"if execute :pipe {quote(program)} {{\n}}\n"
            + _include(state))


@dataclass
class Vacation:
    """The account's reply as RFC 5230 vacation arguments (already rendered)."""

    address: str
    subject: str
    text: str
    html: "str | None" = None
    from_name: str = ""
    aliases: "list[str]" = field(default_factory=list)
    interval: int = 7 * DAY
    start_at: "str | None" = None
    end_at: "str | None" = None
    handle: str = ""
    from_address: str = ""  # the reply's From when not `address` (one of the account's own)


def vacation_from_account(config, account) -> Vacation:
    """Render the account's template without a particular message (render.render_static).
    Wall-clock start and end (a zone of the account's) become the instants delivery reads
    them as (schedule.instant, today's tz rules): Sieve's date test knows fixed offsets only."""
    from autoresponder import render

    subject, text, html = render.render_static(config, account)
    from autoresponder.derived import effective_interval

    interval = effective_interval(account, config)
    start_at, end_at = account.start_at, account.end_at
    if account.start_local or account.end_local:
        start_at, end_at = _instants(account)
    chosen = account.reply_from
    from_address = chosen if chosen in account.addresses() else ""
    return Vacation(address=account.address, subject=subject, text=text, html=html,
                    from_name=account.from_name or "", aliases=list(account.aliases),
                    interval=int(interval), start_at=start_at, end_at=end_at,
                    handle=account.handle or "", from_address=from_address)


def _instants(account) -> "tuple[str | None, str | None]":
    from autoresponder import answer
    from autoresponder import schedule as sch
    from autoresponder.derived import iso_utc

    zone = sch.get_zone(account.zone_name())

    def one(local, stored):
        return iso_utc(sch.instant(answer.wall(local), zone)) if local else stored

    return one(account.start_local, account.start_at), one(account.end_local, account.end_at)


MAX_SHOWN = 3  # items named in a gap; the rest counted


def native_gaps(config, account) -> "list[str]":
    """What of the account's settings Sieve's vacation action cannot follow, as phrases for
    the admin ([] when the script answers as delivery would). The script holds one vacation
    action between the account's start and end, for every sender addressed in the header;
    it cannot hold queued absences or weekly windows, tell colleagues from outsiders, choose
    the From per message, or answer group mail (RFC 5230 §4.5 forbids it)."""
    gaps = []
    for kind, label in (("absence", "queued absence"), ("window", "weekly window")):
        items = [i for i in account.items if i.kind == kind]
        if items:
            from autoresponder import answer

            shown = [answer.describe_item(i) for i in items[:MAX_SHOWN]]
            more = f" and {len(items) - MAX_SHOWN} more" if len(items) > MAX_SHOWN else ""
            plural = "s" if len(items) > 1 else ""
            gaps.append(f"{len(items)} {label}{plural} ({'; '.join(shown)}{more})")
    if account.external == "none":
        gaps.append("answering colleagues only (--external none)")
    if any(getattr(account, f) is not None for f in ("external_subject", "external_message",
                                                     "external_template")):
        gaps.append("a reply of its own for outsiders (--external-subject/-message/-template)")
    if account.reply_from == "addressed":
        gaps.append("a From address chosen per message (--reply-from addressed)")
    group = account.answer_group_mail
    if group is None:
        group = config.rules.answer_group_mail
    if group:
        gaps.append("answering mail that came through a group or list address "
                    "(--answer-group-mail or rules.answer_group_mail)")
    return gaps


def period(interval: int, seconds_ok: bool) -> "tuple[str, str | None]":
    """(":days N" or ":seconds N", a warning or None) for an interval in seconds."""
    if interval > 0 and interval % DAY == 0:
        return f":days {interval // DAY}", None
    if seconds_ok:
        return f":seconds {interval}", None
    days = max(1, -(-interval // DAY))
    return f":days {days}", (f"the server lacks vacation-seconds: interval of {interval} s "
                             f"rounded up to {days} day(s)")


def mime_entity(text: str, html: str) -> str:
    """A multipart/alternative entity for ``:mime`` (its own headers, no MIME-Version)."""
    from email.message import EmailMessage
    from email.policy import SMTP

    m = EmailMessage(policy=SMTP.clone(linesep="\n"))
    m.set_content(body_text(text))
    m.add_alternative(body_text(html), subtype="html")
    for part in m.walk():
        del part["MIME-Version"]  # Pigeonhole writes the message's own MIME-Version
    # A boundary derived from the content: the same settings give the same script, so
    # `sieve status` can tell whether the installed one is current.
    digest = hashlib.sha256((text + "\0" + html).encode("utf-8", "surrogatepass")).hexdigest()
    m.set_boundary("=_autoresponder_" + digest[:32])
    return m.as_string()


def format_from(name: str, address: str) -> str:
    """``:from`` value: a quoted or RFC 2047-encoded display name and the address."""
    name = one_line(name)
    return formataddr((name, address)) if name else address


def vacation_script(state: State, v: Vacation, seconds_ok: bool = False) -> "tuple[str, list[str]]":
    """Pigeonhole's own vacation action from the account's settings; (text, warnings)."""
    warnings = []
    exts = ["vacation"]
    when, warn = period(v.interval, seconds_ok)
    if warn:
        warnings.append(warn)
    if when.startswith(":seconds"):
        exts.append("vacation-seconds")
    # Pigeonhole's iso8601 date part in zone +0000 reads "2026-11-29T03:22:15Z", the very
    # form the database keeps, so plain string comparison orders them.
    now = 'currentdate :zone "+0000" :value'
    tests = []
    if v.start_at:
        tests.append(f'{now} "ge" "iso8601" {quote(one_line(v.start_at))}')
    if v.end_at:
        tests.append(f'{now} "lt" "iso8601" {quote(one_line(v.end_at))}')
    if tests:
        exts += ["date", "relational"]
    if state.previous:
        exts.append("include")
    subject = one_line(v.subject)
    args = [when]
    if subject:
        args.append(f":subject {quote(subject)}")
    args.append(f":from {quote(format_from(v.from_name, v.from_address or v.address))}")
    # The account's own address too: the Dovecot user (the envelope recipient Pigeonhole
    # knows) need not be spelled like the account.
    own = [v.address] + [a for a in v.aliases if a != v.address]
    args.append(f":addresses {string_list([one_line(a) for a in own])}")
    if v.handle:
        args.append(f":handle {quote('autoresponder-' + one_line(v.handle))}")
    if v.html is not None:
        args.append(":mime")
        reason = text_block(mime_entity(v.text, v.html))
    else:
        reason = text_block(v.text)
    action = "vacation " + " ".join(args) + " " + reason + ";\n"
    if tests:
        cond = tests[0] if len(tests) == 1 else "allof(" + ", ".join(tests) + ")"
        action = f"if {cond} {{\n" + action + "}\n"
    return _header(state) + _require(exts) + action + _include(state), warnings
