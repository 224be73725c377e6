"""system-sender: the envelope sender (or From:) is a robot's address."""

from autoresponder import addresses
from autoresponder.headerutil import from_addresses
from autoresponder.rules import Rule


class SystemSender(Rule):
    name = "system-sender"
    description = ("envelope sender or From: is MAILER-DAEMON, postmaster, LISTSERV, majordomo, "
                   "mailman, root, daemon, nobody, www-data, owner-*, *-owner, *-request, "
                   "*-bounces*, bounce*, noreply / no-reply / do-not-reply / donotreply / "
                   "dont-reply (whole words: bouncer.smith@ and dono.treply@ are people), or a "
                   "bounce-handling domain (...@x.bounces.google.com)")

    def check(self, ctx):
        why = addresses.system_address_reason(ctx.envelope.sender)
        if why:
            return f"the envelope sender {ctx.envelope.sender} is a {why}"
        if ctx.config.rules.check_from_header:
            for a in from_addresses(ctx.message):
                why = addresses.system_address_reason(a)
                if why:
                    return f"the From: address {a} is a {why}"
        return None


RULE = SystemSender
