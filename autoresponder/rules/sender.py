"""Rules about who sent the message (the envelope sender, and From:)."""

from autoresponder import addresses
from autoresponder.rules import Rule


def from_header_addresses(ctx) -> "list[str]":
    out = []
    for v in ctx.message.get_all("from"):
        out.extend(addresses.find_addresses(v))
    return out


class NullSender(Rule):
    name = "null-sender"
    description = "The envelope sender is null (<>): bounces and reports must never be answered."

    def check(self, ctx):
        env = ctx.envelope
        if env.null_sender:
            if env.sender_raw.strip() in ("", "<>"):
                return "the envelope sender is null (<>)"
            return (f"the envelope sender {env.sender_shown!r} is not a valid RFC 5321 "
                    f"mailbox: {env.sender_problem or 'no address'}")
        return None


class SystemSender(Rule):
    name = "system-sender"
    description = ("The sender is a robot: MAILER-DAEMON, postmaster, LISTSERV, majordomo, "
                   "owner-*, *-request, *-bounces, noreply and the like (whole tokens).")

    def check(self, ctx):
        why = addresses.system_address_reason(ctx.envelope.sender)
        if why:
            return f"the envelope sender {ctx.envelope.sender} is a {why}"
        if ctx.config.rules.check_from_header:
            for a in from_header_addresses(ctx):
                why = addresses.system_address_reason(a)
                if why:
                    return f"the From: address {a} is a {why}"
        return None


class SelfSender(Rule):
    name = "self"
    description = "The message comes from the account itself or one of its aliases."

    def check(self, ctx):
        ours = ctx.our_addresses()
        delims = ctx.config.recipient_delimiter
        s = addresses.strip_detail(ctx.envelope.sender, delims)
        if s in ours:
            return f"the envelope sender {ctx.envelope.sender} is the account itself"
        for a in from_header_addresses(ctx):
            if addresses.strip_detail(a, delims) in ours:
                return f"the From: address {a} is the account itself"
        return None
