"""``autoresponder deliver``: the MTA's entry point, one process per message.

One straight line: read -> parse -> rules -> claim in the ledger -> render -> send -> record.
Exit codes (sysexits): 0 replied or skipped, whatever the input; 75 only when a retry is safe
and useful (transport down or 4xx, database locked), after releasing the claim; 78 for a bad
config or bad arguments, except under Postfix, which bounces 78 (see exits.py): there 75.
Nothing else, ever: Postfix bounces the message on other codes, and a bounce of a copy made
for the auto-responder is backscatter.

This module is on the per-message path: it imports nothing heavy at module level. Jinja2, the
email package, smtplib and flufl.bounce load only on the paths that need them.
"""

import time

from autoresponder import exits
from autoresponder.decision import Decision, skip

_OPTS = {"--sender": "sender", "-f": "sender", "--recipient": "recipient", "-r": "recipient",
         "--original-recipient": "original", "-o": "original"}
_HELP = ("-h", "--help")  # help is `deliver --help` alone (cli.py); in an MTA's argv, an error


class UsageError(Exception):
    pass


def parse_args(argv: "list[str]") -> dict:
    """The envelope flags, parsed without argparse (which costs more than a skip may)."""
    out: "dict[str, str | None]" = {"sender": None, "recipient": None, "original": None}
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            positional.extend(argv[i + 1:])
            break
        name, eq, value = a.partition("=")
        if name in _OPTS and name.startswith("--") and eq:
            out[_OPTS[name]] = value
        elif a in _OPTS:
            if i + 1 >= len(argv) or argv[i + 1] in _HELP:
                raise UsageError(f"option {a} needs a value" +
                                 (f", not {argv[i + 1]}" if i + 1 < len(argv) else ""))
            out[_OPTS[a]] = argv[i + 1]
            i += 1
        elif a.startswith("-") and a != "-":
            raise UsageError(f"unknown option {a!r}")
        else:
            positional.append(a)
        i += 1
    if positional:
        if len(positional) > 1 or out["recipient"] is not None:
            raise UsageError(f"unexpected arguments {positional!r}")
        out["recipient"] = positional[0]
    return out


class Database:
    """The SQLite file, opened on first use (most skips never need it)."""

    def __init__(self, config, readonly: bool = False):
        self.config = config
        self.readonly = readonly
        self._conn = None
        self._opened = False

    @property
    def conn(self):
        """The connection, or None when the file does not exist: delivery never creates the
        database (no database means no account on vacation), only the admin commands do."""
        if not self._opened:
            import os

            from autoresponder import store

            self._opened = True
            if os.path.exists(self.config.database):
                self._conn = store.connect(self.config.database, self.config.busy_timeout,
                                           readonly=self.readonly)
        return self._conn

    def lookup(self, address: str):
        from autoresponder import store

        return store.find_account(self.conn, address)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def evaluate(config, envelope, message, now: float, db: Database, trace=None):
    """Run the rules (no ledger): (Decision, Context); the context holds the account found."""
    from autoresponder.engine import decide
    from autoresponder.rules import Context, all_rules

    ctx = Context(envelope, message, config, now, db.lookup)
    return decide(ctx, all_rules(), trace), ctx


def log_fields(envelope, message, decision: Decision, account=None, **extra) -> dict:
    mid = (message.get("message-id") or "").strip()[:200] if message is not None else ""
    fields = {
        "account": account.address if account is not None else (envelope.recipient or "-"),
        "sender": envelope.sender or "<>",
        "message_id": mid or "-",
        "decision": decision.action,
        "rule": decision.rule,
        "reason": decision.reason,
    }
    fields.update(extra)
    return fields


def main(argv: "list[str]", config_path: "str | None") -> int:
    """Never raises, never returns a code that would make the MTA bounce the message."""
    from autoresponder.logs import stderr_line

    try:
        return _deliver(argv, config_path)
    except BaseException as e:  # noqa: BLE001 - the last line of defence against backscatter
        if isinstance(e, SystemExit) and e.code in (0, 75):
            return int(e.code)
        import traceback

        stderr_line("internal error, message skipped without a reply: " +
                    " | ".join(traceback.format_exc().strip().splitlines()[-3:]))
        return exits.OK


def _deliver(argv: "list[str]", config_path: "str | None") -> int:
    from autoresponder import config as config_mod
    from autoresponder.logs import Log, stderr_line
    from autoresponder.message import ReadTimeout, read_message

    try:
        args = parse_args(argv)
    except UsageError as e:
        _drain()
        stderr_line(f"deliver: bad arguments: {e} (message deferred; fix the MTA's command line)")
        return exits.config_error_for_mta()
    try:
        config = config_mod.load(config_path)
    except config_mod.ConfigError as e:
        _drain()
        stderr_line(f"config error: {e}")
        return exits.config_error_for_mta()
    log = Log(config)
    from autoresponder.envelope import from_args

    try:
        message = read_message(timeout=config.read_timeout)
    except ReadTimeout as e:  # a writer that never ends the message: let the MTA retry
        envelope = from_args(args["sender"], args["recipient"], args["original"], config)
        log.write(log_fields(envelope, None, skip("tempfail", str(e))), "warning")
        return exits.TEMPFAIL

    envelope = from_args(args["sender"], args["recipient"], args["original"], config)
    now = time.time()
    db = Database(config)
    try:
        return _decide_and_reply(config, log, envelope, message, now, db)
    except _TempFail as e:
        account = getattr(e, "account", None)
        if _too_old(config, message, now):
            gave_up = skip("gave-up", f"{e}; the message is older than "
                           "transport.give_up_after, so it is not deferred again")
            log.write(log_fields(envelope, message, gave_up, account), "warning")
            return exits.OK
        log.write(log_fields(envelope, message, skip("tempfail", str(e)), account), "warning")
        return exits.TEMPFAIL
    finally:
        db.close()


class _TempFail(Exception):
    pass


def _decide_and_reply(config, log, envelope, message, now, db) -> int:
    from autoresponder.errors import DatabaseBusy

    try:
        decision, ctx = evaluate(config, envelope, message, now, db)
    except DatabaseBusy as e:
        raise _TempFail(f"database busy: {e}") from None
    except _sqlite_errors() as e:
        raise _TempFail(f"database error: {e}") from None
    account = ctx.account
    if not decision.replies:
        log.write(log_fields(envelope, message, decision, account))
        return exits.OK

    from autoresponder import ledger

    limits = ledger.Limits.for_account(config, account)
    key = (account.address, envelope.sender, account.handle)  # now is the claim's token
    try:
        refusal = ledger.claim(db.conn, *key, now, limits)
    except DatabaseBusy as e:
        raise _TempFail(f"database busy: {e}") from None
    except _sqlite_errors() as e:
        raise _TempFail(f"database error: {e}") from None
    if refusal is not None:
        log.write(log_fields(envelope, message, refusal, account))
        return exits.OK

    try:
        outcome = _render_and_send(config, account, envelope, message, now, db.conn)
    except BaseException:
        _release(db, key, now)
        raise
    if outcome.action == "tempfail":
        _release(db, key, now)
        e = _TempFail(outcome.reason)
        e.account = account
        raise e
    if outcome.action in ("template-error", "error"):
        _release(db, key, now)
        log.write(log_fields(envelope, message, skip(outcome.action, outcome.reason), account),
                  "error")
        return exits.OK
    try:
        _record(db, key, now, limits.window, outcome)
    except Exception as e:  # the reply left; failing to record it must not resend it
        log.write(log_fields(envelope, message, decision, account,
                             warning=f"reply sent but not recorded: {e}"), "error")
        return exits.OK
    final = decision if outcome.action == "sent" else skip("rejected", outcome.reason)
    log.write(log_fields(envelope, message, final, account, reply_id=outcome.message_id,
                         detail=outcome.reason))
    return exits.OK


class Outcome:
    __slots__ = ("action", "reason", "message_id")

    def __init__(self, action: str, reason: str, message_id: str = ""):
        self.action, self.reason, self.message_id = action, reason, message_id


def prepare_reply(config, account, envelope, message, now: float, conn=None):
    """Render and build the reply (a reply.Reply); raises TemplateError.

    With a database connection, a rendering that depends only on the account (and its MIME
    body) is taken from, or stored in, the render memo: most replies then load neither Jinja2
    nor the bulk of the email package."""
    from autoresponder import reply
    from autoresponder.replytext import pick_language

    language = pick_language(account.language, message, config.language)
    memo_key = memo = None
    if conn is not None:
        from autoresponder import rendercache

        memo_key = rendercache.key(config, account, language)
        memo = rendercache.get(conn, memo_key)
    if memo is not None:
        rendered, body = memo
    else:
        from datetime import datetime, timezone

        from autoresponder import render

        context = render.build_context(config, account, language,
                                       envelope.reply_to or envelope.sender,
                                       reply.original_fields(message),
                                       datetime.fromtimestamp(now, timezone.utc))
        rendered = render.render(config, account, language, context)
        body = reply.mime_body(rendered.text, rendered.html)
        if memo_key is not None and rendered.cacheable:
            rendercache.put(conn, memo_key, rendered, body, now)
    return reply.build(config, account, envelope, message, rendered, now, body)


def _render_and_send(config, account, envelope, message, now, conn) -> Outcome:
    from autoresponder.replytext import TemplateError

    try:
        r = prepare_reply(config, account, envelope, message, now, conn)
    except TemplateError as e:
        return Outcome("template-error", f"the reply template failed: {e}")
    from autoresponder import transports

    try:
        detail = transports.send(config, r.mail_from, r.rcpt, r.data)
    except transports.TempFail as e:
        return Outcome("tempfail", f"sending the reply failed for now: {e}")
    except transports.PermFail as e:
        return Outcome("rejected", f"the reply was refused for good: {e}", r.message_id)
    return Outcome("sent", detail, r.message_id)


def _release(db, key, claimed_at: float) -> None:
    from autoresponder import ledger

    try:
        ledger.release(db.conn, *key, claimed_at)
    except Exception:
        pass  # the lease expires by itself


def _record(db, key, claimed_at: float, window: int, outcome) -> None:
    """Mark the claim sent. The reply has left, so a locked database is waited out well past
    the busy timeout (Postfix allows the command 1000 s): an unrecorded reply would be sent
    again once the lease passes."""
    from autoresponder import ledger
    from autoresponder.errors import DatabaseBusy

    status = "rejected" if outcome.action == "rejected" else "sent"
    deadline = time.monotonic() + 120
    pause = 0.05
    while True:
        try:
            ledger.mark_sent(db.conn, *key, time.time(), window, outcome.message_id, status,
                             outcome.reason, claimed_at)
            return
        except DatabaseBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _too_old(config, message, now: float) -> bool:
    """Has this message waited in the MTA's queue past transport.give_up_after? Read from the
    newest Received: field (added by our own MTA), so no state is needed across retries."""
    limit = config.transport.give_up_after
    if not limit:
        return False
    received = message.get("received")
    if not received or ";" not in received:
        return False
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(received.rsplit(";", 1)[1].strip()).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return now - when > limit


def _sqlite_errors():
    import sqlite3

    return (sqlite3.OperationalError, sqlite3.DatabaseError)


def _drain() -> None:
    from autoresponder.message import drain

    drain()
