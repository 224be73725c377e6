"""The delivery line: rules -> claim -> render -> send -> record, once, for every entry point.

``deliver`` (one process per message), ``explain`` and ``template preview`` run this line;
the LMTP service runs it for each recipient. What differs between them is given, not coded
twice: the store (read-only for ``explain``, which then peeks instead of claiming) and the
transport (``explain`` captures the reply instead of sending it)::

    line = Line(config, store, transport, log)
    result = line.run(envelope, message)          # never raises for a bad message
    exit_code(result.outcome)                     # autoresponder.outcomes

Reading and parsing happen before (``message.read_message``, ``envelope.from_args``). The
store answers with what it found (Claimed, AlreadySent, Pending, OverCap); this module turns
that into an outcome. Store or transport trouble is a ``tempfail`` outcome, with our claim
released first, or ``gave-up`` for a message that waited past transport.give_up_after.

This module is on the per-message path: the email package, Jinja2 and the transports load
only on the paths that need them.
"""

import time

from autoresponder import outcomes
from autoresponder.decision import Decision, skip


class Result:
    """How a delivery ended: the outcome, the decision logged (a rule's, or the line's own
    skip), the account found, the reply built (reply.Reply, also when it was not sent:
    rejected), and a detail (the transport's, or why)."""

    __slots__ = ("outcome", "decision", "account", "reply", "detail", "plan")

    def __init__(self, outcome, decision: Decision, account=None, reply=None, detail: str = "",
                 plan=None):
        self.outcome, self.decision, self.account = outcome, decision, account
        self.reply, self.detail, self.plan = reply, detail, plan

    def __repr__(self) -> str:
        return f"Result({self.outcome.name!r}, {self.decision!r})"


class _Sent(Result):
    """A reply that left the transport (or was refused for good), still to be recorded."""

    __slots__ = ()


def evaluate(config, envelope, message, now: float, store, trace=None):
    """Run the rules (no ledger): (Decision, Context); the context holds the account found.
    The store is reached only by the rules that need an account."""
    from autoresponder.engine import decide
    from autoresponder.rules import Context, all_rules

    def lookup(address: str):
        account = store.find_account(address)
        if account is not None:  # the zone its wall-clock times are in, when it has none
            account.default_zone = config.timezone
        return account

    # looked up through the store only when a rule asks (a header skip never opens it)
    ctx = Context(envelope, message, config, now, lookup)
    return decide(ctx, all_rules(), trace), ctx


def limits_for(config, account, plan=None):
    """What a claim checks for this account: its window, the lease, the rate limits, and for
    a weekly window's occurrence the floor across its occurrences (answer.Plan)."""
    from autoresponder.derived import effective_interval
    from autoresponder.store.base import Limits

    rl = config.rate_limit
    series, floor = (plan.series, plan.floor) if plan is not None else ("", 0)
    return Limits(effective_interval(account, config), config.lease, rl.per_account,
                  getattr(rl, "global"), rl.period, series, floor)


def caps_note(config, limits) -> str:
    """What explain says of an account whose interval is 0 (an acknowledgement mailbox):
    every message is answered, but the hourly caps still hold."""
    from autoresponder.durations import format_duration

    period = format_duration(limits.period)
    caps = []
    if limits.per_account:
        caps.append(f"{limits.per_account} replies per {period} for this account "
                    f"(rate_limit.per_account)")
    if limits.global_:
        caps.append(f"{limits.global_} per {period} for all accounts (rate_limit.global)")
    if not caps:
        return ("interval 0: every message gets a reply, and no cap is set "
                "(rate_limit.per_account = 0 and rate_limit.global = 0): loops are stopped "
                "only by the header rules")
    return "interval 0: every message gets a reply, within the caps: " + "; ".join(caps)


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


class Line:
    """The line with its seams: a config, a store (store.base.Store), a transport
    (transports: open/send/close) and a log (logs.Log, or None to log nothing). With
    readonly=True it writes nothing: it peeks instead of claiming, uses no render memo and
    records nothing; give it a transport that does not send (transports.capture)."""

    def __init__(self, config, store, transport, log=None, readonly: bool = False):
        self.config, self.store, self.transport = config, store, transport
        self.log, self.readonly = log, readonly

    def run(self, envelope, message, now: "float | None" = None,
            trace: "list | None" = None) -> Result:
        """Decide, claim, render, send and record; log one line; never raise for a bad
        message. `trace`, a list, receives one entry per check (what `explain` prints)."""
        now = time.time() if now is None else now
        try:
            decision, ctx = evaluate(self.config, envelope, message, now, self.store, trace)
        except Exception as e:
            from autoresponder.store.base import StoreBusy, StoreError

            if not isinstance(e, StoreError):
                raise
            kind = "busy" if isinstance(e, StoreBusy) else "error"
            return self._deferred(envelope, message, now, None, f"database {kind}: {e}")
        account = ctx.account
        if not decision.replies:
            notice = self.store.notice() if decision.rule == "account" else None
            extra = {"notice": notice} if notice else {}
            return self._end(envelope, message, Result(outcomes.for_rule(decision.rule),
                                                       decision, account), **extra)
        return self._reply(envelope, message, now, trace, decision, account)

    # --- the reply path --------------------------------------------------------------------

    def _reply(self, envelope, message, now, trace, decision, account) -> Result:
        from autoresponder import answer as answers

        plan = answers.plan(account, self.config, envelope, message, now)
        limits = limits_for(self.config, account, plan)
        if trace is not None:
            trace.append({"rule": "answer", "result": "pass", "reason": plan.describe()})
            if limits.window == 0:
                trace.append({"rule": "interval", "result": "pass",
                              "reason": caps_note(self.config, limits)})
        key = (account.address, envelope.sender, plan.handle)
        account = answers.effective(account, plan)
        result = self._claim(envelope, message, now, trace, decision, account, key, limits)
        result.plan = plan
        return result

    def _claim(self, envelope, message, now, trace, decision, account, key, limits) -> Result:
        from autoresponder.store.base import Claimed, StoreBusy, StoreError

        try:
            answer = (self.store.peek if self.readonly else self.store.claim)(*key, now, limits)
        except StoreError as e:
            kind = "busy" if isinstance(e, StoreBusy) else "error"
            return self._deferred(envelope, message, now, account, f"database {kind}: {e}",
                                  trace)
        if not isinstance(answer, Claimed):
            outcome, reason = self._refusal(answer, account, envelope.sender)
            if trace is not None:
                trace.append({"rule": "ledger", "result": outcome.kind, "reason": reason})
            if outcome is outcomes.TEMPFAIL:
                return self._deferred(envelope, message, now, account, reason)
            return self._end(envelope, message,
                             Result(outcome, skip(outcome.name, reason), account))
        if trace is not None:
            trace.append({"rule": "ledger", "result": "pass"})
        return self.after_claim(envelope, message, now, decision, account, key, limits,
                                answer.token)

    def after_claim(self, envelope, message, now, decision, account, key, limits,
                    token) -> Result:
        """Render, send, record and log, with the claim ours: the part of the line a kill
        must not split (``deliver`` runs it in a child that outlives its own process)."""
        try:
            sent = self._render_and_send(envelope, message, now, decision, account, key, token)
        except BaseException:
            self._release(key, token)
            raise
        if not isinstance(sent, _Sent):
            return sent  # nothing left: the claim is released, the ending logged
        result = Result(sent.outcome, sent.decision, sent.account, sent.reply, sent.detail)
        if self.readonly:
            return self._end(envelope, message, result)
        status = "rejected" if result.outcome is outcomes.REJECTED else "sent"
        try:
            self._record(key, limits.window, result.reply.message_id, status, result.detail,
                         token, now)
        except Exception as e:  # the reply left; failing to record it must not resend it
            return self._end(envelope, message, Result(result.outcome, decision, account,
                                                       result.reply, result.detail),
                             level="error", warning=f"reply sent but not recorded: {e}")
        return self._end(envelope, message, result, reply_id=result.reply.message_id,
                         detail=result.detail)

    def _refusal(self, answer, account, sender: str):
        """The outcome and the reason for a claim the store did not give us."""
        from autoresponder.derived import iso_utc
        from autoresponder.store.base import AlreadySent, OverCap, Pending

        if isinstance(answer, AlreadySent):
            return outcomes.ALREADY_REPLIED, (
                f"{sender} already got this reply at {iso_utc(answer.sent_at)}; the next one "
                f"is possible after {iso_utc(answer.until)}")
        if isinstance(answer, Pending):
            return outcomes.TEMPFAIL, (
                f"another delivery is sending {sender} this reply right now (claim held until "
                f"{iso_utc(answer.until)}); deferred, so that a retry replies if it fails")
        if isinstance(answer, OverCap):
            from autoresponder.durations import format_duration

            period = format_duration(answer.period)
            if answer.scope == "account":
                return outcomes.RATE_LIMIT, (f"{account.address} sent {answer.count} replies "
                                             f"in the last {period} (limit {answer.limit})")
            return outcomes.RATE_LIMIT, (f"all accounts sent {answer.count} replies in the "
                                         f"last {period} (global limit {answer.limit})")
        raise TypeError(f"a store answered {answer!r} to a claim")

    def _render_and_send(self, envelope, message, now, decision, account, key, token):
        """Build the reply and hand it to the transport. A Result when the delivery ends
        here (template error, temporary failure: the claim released and the ending logged),
        else the Result to record (reply, or rejected for good), not yet logged."""
        from autoresponder import transports
        from autoresponder.replytext import TemplateError

        try:
            r = self.build_reply(account, envelope, message, now)
        except TemplateError as e:
            self._release(key, token)
            reason = f"the reply template failed: {e}"
            return self._end(envelope, message, Result(
                outcomes.TEMPLATE_ERROR, skip("template-error", reason), account,
                detail=reason), level="error")
        try:
            detail = self.transport.send(r.mail_from, r.rcpt, r.data)
        except transports.TempFail as e:
            self._release(key, token)
            return self._deferred(envelope, message, now, account,
                                  f"sending the reply failed for now: {e}")
        except transports.PermFail as e:
            detail = f"the reply was refused for good: {e}"
            return _Sent(outcomes.REJECTED, skip("rejected", detail), account, r, detail)
        return _Sent(outcomes.REPLY, decision, account, r, detail)

    def build_reply(self, account, envelope, message, now: float):
        """Render and build this account's reply (a reply.Reply); raises TemplateError.

        A rendering that depends only on the account (and its MIME body) is taken from, or
        kept in, the store's render memo: most replies then load neither Jinja2 nor the bulk
        of the email package. A read-only line renders afresh."""
        from autoresponder import reply
        from autoresponder.replytext import pick_language

        language = pick_language(account.language, message, self.config.language)
        memo_key = memo = None
        if not self.readonly:
            from autoresponder import rendercache

            memo_key = rendercache.key(self.config, account, language)
            memo = self.store.memo_get(memo_key)
        if memo is not None:
            rendered, body = memo
        else:
            from datetime import datetime, timezone

            from autoresponder import render

            context = render.build_context(self.config, account, language,
                                           envelope.reply_to or envelope.sender,
                                           reply.original_fields(message),
                                           datetime.fromtimestamp(now, timezone.utc))
            rendered = render.render(self.config, account, language, context)
            body = reply.mime_body(rendered.text, rendered.html)
            if memo_key is not None and rendered.cacheable:
                self.store.memo_put(memo_key, rendered, body, now)
        return reply.build(self.config, account, envelope, message, rendered, now, body)

    def _release(self, key, token) -> None:
        if self.readonly:
            return
        try:
            self.store.release(*key, token)
        except Exception:
            pass  # the lease expires by itself

    def _record(self, key, window: int, message_id: str, status: str, detail: str,
                token, now: float = 0.0) -> None:
        """Mark the claim sent. The reply has left, so a locked database is waited out well
        past the busy timeout (Postfix allows the command 1000 s): an unrecorded reply would
        be sent again once the lease passes."""
        from autoresponder.store.base import StoreBusy

        deadline = time.monotonic() + 120
        pause = 0.05
        while True:
            try:
                # the window starts when the reply left; a clock given to run() ahead of
                # the wall clock (a replay, a test of dates to come) stays the clock
                self.store.mark_sent(*key, max(now, time.time()), window, message_id, status,
                                     detail, token)
                return
            except StoreBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    # --- endings ---------------------------------------------------------------------------

    def _deferred(self, envelope, message, now, account, reason: str, trace=None) -> Result:
        """A temporary failure: tempfail (the MTA retries), or gave-up for a message that
        waited in the queue past transport.give_up_after."""
        if trace is not None:
            trace.append({"rule": "ledger", "result": "defer", "reason": reason})
        if too_old(self.config, message, now):
            reason = (f"{reason}; the message is older than transport.give_up_after, so it is "
                      "not deferred again")
            outcome = outcomes.GAVE_UP
        else:
            outcome = outcomes.TEMPFAIL
        return self._end(envelope, message, Result(outcome, skip(outcome.name, reason), account,
                                                   detail=reason), level="warning")

    def _end(self, envelope, message, result: Result, level: str = "info", **extra) -> Result:
        if self.log is not None:
            self.log.write(log_fields(envelope, message, result.decision, result.account,
                                      **extra), level)
        return result


def too_old(config, message, now: float) -> bool:
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
