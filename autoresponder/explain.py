"""``autoresponder explain``: what delivery would do with a message right now, and why.

It runs the same rules and the same ledger checks as ``deliver``, read-only: it opens the
database read-only, claims nothing, sends nothing, writes nothing. With ``--json`` it prints
exactly one JSON object and exits 0 for any message.
"""

import json
import os
import sys
import time

from autoresponder import exits
from autoresponder.decision import skip


def run(args, config) -> int:
    from autoresponder.deliver import Database, evaluate
    from autoresponder.envelope import from_args
    from autoresponder.message import read_message

    now = time.time()
    if args.at:
        from autoresponder.dates import DateError, parse_when

        try:
            now = parse_when(args.at, config.timezone, config.dayfirst).timestamp()
        except DateError as e:
            print(f"autoresponder: --at: {e}", file=sys.stderr)
            return exits.USAGE
    message = read_message(sys.stdin.buffer, config.read_timeout)
    sender = args.sender
    if sender is None and "SENDER" not in os.environ and "RECIPIENT" not in os.environ:
        # A saved message on a terminal: its Return-Path is the envelope it was delivered
        # with. (Never in `deliver`: there the MTA's envelope is the only truth.)
        rp = message.get("return-path")
        if rp is not None:
            sender = rp.strip()
    envelope = from_args(sender, args.recipient, args.original_recipient, config)
    db = Database(config, readonly=True)
    trace: list = []
    result: dict = {}
    try:
        decision, ctx = evaluate(config, envelope, message, now, db, trace)
        account = ctx.account
        if decision.replies:
            from autoresponder import ledger

            limits = ledger.Limits.for_account(config, account)
            refusal = ledger.peek(db.conn, account.address, envelope.sender, account.handle,
                                  now, limits)
            trace.append({"rule": "ledger", "result": "skip" if refusal else "pass",
                          **({"reason": refusal.reason} if refusal else {})})
            if refusal is not None:
                decision = refusal
            else:
                reply, decision = _preview(config, account, envelope, message, now, decision)
                if reply:
                    result["reply"] = reply
    except Exception as e:  # explain answers for any message; an error is an answer too
        decision = skip("error", f"{type(e).__name__}: {e}")
        account = None
    finally:
        db.close()
    out = {
        "decision": decision.action,
        "rule": decision.rule,
        "reason": decision.reason,
        "account": account.address if account is not None else None,
        "sender": envelope.sender,
        "recipient": envelope.recipient,
        "original_recipient": envelope.original_recipient or None,
        "message_id": (message.get("message-id") or "").strip() or None,
        "message_size": message.size,
        "checks": trace,
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        **result,
    }
    from autoresponder.logs import escape_controls, escape_json_controls

    def say(text: str) -> None:  # header text must not drive the admin's terminal
        print(escape_controls(text))

    if args.json:
        print(escape_json_controls(json.dumps(out, ensure_ascii=False)))
        return exits.OK
    say(f"decision: {out['decision']}")
    say(f"rule:     {out['rule']}")
    say(f"reason:   {out['reason']}")
    say(f"account:  {out['account'] or '-'}")
    say(f"sender:   {out['sender'] or '<>'}")
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
    return exits.OK


def _preview(config, account, envelope, message, now, decision):
    from autoresponder.deliver import prepare_reply
    from autoresponder.render import TemplateError

    try:
        r = prepare_reply(config, account, envelope, message, now)
    except TemplateError as e:
        return None, skip("template-error", f"the reply template failed: {e}")
    import email
    import email.policy

    m = email.message_from_bytes(r.data, policy=email.policy.default)
    return {
        "to": str(m["To"]), "from": str(m["From"]), "subject": str(m["Subject"]),
        "envelope_from": r.mail_from, "language": str(m["Content-Language"]),
        "html": m.is_multipart(),
    }, decision
