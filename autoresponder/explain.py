"""``autoresponder explain``: what delivery would do with a message right now, and why.

It runs the delivery line itself (``autoresponder.line``), with the database opened
read-only (the ledger is peeked at, never claimed) and a transport that captures the reply
instead of sending it, then prints the trace the line hands back: it claims nothing, sends
nothing, writes nothing. With ``--json`` it prints exactly one JSON object and exits 0 for
any message.
"""

import json
import os
import sys
import time

from autoresponder.outcomes import Exit


def run(args, config) -> int:
    from autoresponder import outcomes
    from autoresponder.decision import skip
    from autoresponder.derived import iso_utc
    from autoresponder.envelope import from_args
    from autoresponder.line import Line, Result
    from autoresponder.message import read_message
    from autoresponder.store import open_store
    from autoresponder.transports.capture import CaptureTransport

    now = time.time()
    if args.at:  # read before the message, so a typo costs no wait on stdin
        from autoresponder.dates import DateError, parse_when

        try:
            parse_when(args.at, config.timezone, config.dayfirst)
        except DateError as e:
            print(f"autoresponder: --at: {e}", file=sys.stderr)
            return Exit.USAGE
    message = read_message(sys.stdin.buffer, config.read_timeout)
    sender = args.sender
    if sender is None and "SENDER" not in os.environ and "RECIPIENT" not in os.environ:
        # A saved message on a terminal: its Return-Path is the envelope it was delivered
        # with. (Never in `deliver`: there the MTA's envelope is the only truth.)
        rp = message.get("return-path")
        if rp is not None:
            sender = rp.strip()
    envelope = from_args(sender, args.recipient, args.original_recipient, config)
    store = open_store(config, readonly=True)
    at_zone = None
    if args.at:
        # the account's own zone when it has one, as `vacation enable` reads its dates
        at_zone, whose = _at_zone(config, store, envelope)
        try:
            now = parse_when(args.at, at_zone, config.dayfirst).timestamp()
        except DateError as e:
            store.close()
            print(f"autoresponder: --at: {e} (read in {at_zone}, {whose})", file=sys.stderr)
            return Exit.USAGE
    trace: list = []
    try:
        result = Line(config, store, CaptureTransport(), readonly=True).run(
            envelope, message, now, trace)
    except Exception as e:  # explain answers for any message; an error is an answer too
        why = f"{type(e).__name__}: {e}"
        result = Result(outcomes.INTERNAL_ERROR, skip(outcomes.INTERNAL_ERROR.name, why))
    finally:
        store.close()
    decision, account = result.decision, result.account
    out = {
        "decision": decision.action,
        "rule": decision.rule,
        "reason": decision.reason,
        "outcome": result.outcome.name,
        "exit_code": outcomes.exit_code(result.outcome),
        "account": account.address if account is not None else None,
        "sender": envelope.sender,
        "recipient": envelope.recipient,
        "original_recipient": envelope.original_recipient or None,
        "message_id": (message.get("message-id") or "").strip() or None,
        "message_size": message.size,
        "checks": trace,
        "evaluated_at": iso_utc(now),
    }
    if at_zone is not None:
        out["at_timezone"] = at_zone
    notice = store.notice() if decision.rule == "account" else None
    if notice:
        out["notice"] = notice
    plan = getattr(result, "plan", None)
    if plan is not None:
        out["answer"] = plan.as_dict()
    if result.reply is not None and result.outcome is outcomes.REPLY:
        out["reply"] = _reply_view(result.reply)
    from autoresponder.logs import escape_controls, escape_json_controls

    def say(text: str) -> None:  # header text must not drive the admin's terminal
        print(escape_controls(text))

    if args.json:
        print(escape_json_controls(json.dumps(out, ensure_ascii=False)))
        return Exit.OK
    say(f"decision: {out['decision']}")
    say(f"rule:     {out['rule']}")
    say(f"reason:   {out['reason']}")
    say(f"outcome:  {out['outcome']} (exit {out['exit_code']})")
    say(f"account:  {out['account'] or '-'}")
    say(f"sender:   {out['sender'] or '<>'}")
    if at_zone is not None:
        say(f"at:       {out['evaluated_at']} (--at read in {at_zone}, {whose})")
    if notice:
        say(f"notice:   {notice}")
    say("checks:")
    for c in trace:
        line = f"  {c['rule']:<24} {c['result']}"
        if c.get("reason"):
            line += f"  ({c['reason']})"
        say(line)
    if "reply" in out:
        r = out["reply"]
        say(f"reply:    to {r['to']} from {r['from']} (envelope {r['envelope_from'] or '<>'})")
        say(f"          subject {r['subject']!r}, language {r['language']}")
    return Exit.OK


def _at_zone(config, store, envelope) -> "tuple[str, str]":
    """(zone, whose) in which --at is read: the zone of the account the message is for (found
    as the account rule finds it: the recipient, else the original recipient) when it has one
    of its own, else the config's. A lookup that fails leaves the config's zone: the line
    reports the store's trouble itself."""
    from autoresponder.store.base import StoreError

    for address in (envelope.recipient, envelope.original_recipient):
        if not address:
            continue
        try:
            account = store.find_account(address)
        except StoreError:
            break
        if account is not None:
            if account.timezone:
                return account.timezone, f"the zone of {account.address}"
            break
    return config.timezone, "the config's timezone"


def _reply_view(r) -> dict:
    """What explain shows of the reply the line built (and the capture kept)."""
    import email
    import email.policy

    m = email.message_from_bytes(r.data, policy=email.policy.default)
    return {
        "to": str(m["To"]), "from": str(m["From"]), "subject": str(m["Subject"]),
        "envelope_from": r.mail_from, "language": str(m["Content-Language"]),
        "html": m.is_multipart(),
    }
