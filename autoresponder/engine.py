"""Runs the rules in order and turns the first objection into a Decision."""

from autoresponder.decision import REPLY, Decision, skip


def decide(ctx, rules, trace: "list | None" = None) -> Decision:
    """The first rule that objects decides; if none does, the message gets a reply
    (subject to the ledger, which autoresponder.ledger checks atomically)."""
    for rule in rules:
        reason = rule.check(ctx)
        if trace is not None:
            trace.append({"rule": rule.name, "result": "skip" if reason else "pass",
                          **({"reason": reason} if reason else {})})
        if reason:
            return skip(rule.name, reason)
    return Decision(REPLY, "reply", f"a personal message to {ctx.account.address} while its "
                                    f"vacation is in force")
