"""self: the message comes from the account itself (or one of its aliases)."""

from autoresponder import addresses
from autoresponder.headerutil import from_addresses
from autoresponder.rules import Rule


class SelfSender(Rule):
    name = "self"
    description = "the sender is the account or one of its aliases"

    def check(self, ctx):
        ours = ctx.our_addresses()
        delims = ctx.config.recipient_delimiter
        s = addresses.strip_detail(ctx.envelope.sender, delims)
        if s in ours:
            return f"the envelope sender {ctx.envelope.sender} is the account itself"
        for a in from_addresses(ctx.message):
            if addresses.strip_detail(a, delims) in ours:
                return f"the From: address {a} is the account itself"
        return None


RULE = SelfSender
