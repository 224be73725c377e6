"""system-sender: the envelope sender (or From:) is a robot's address."""

from autoresponder import addresses
from autoresponder.headerutil import from_addresses, unwrap_sender
from autoresponder.rules import Rule


class SystemSender(Rule):
    name = "system-sender"
    description = ("envelope sender or From: is MAILER-DAEMON, postmaster, LISTSERV, majordomo, "
                   "mailman, root, daemon, nobody, www-data, owner-*, *-owner, *-request, "
                   "*-bounces*, bounce*, noreply / no-reply / do-not-reply / donotreply / "
                   "dont-reply (whole words: bouncer.smith@ and dono.treply@ are people), or a "
                   "bounce-handling domain (...@x.bounces.google.com), also inside a BATV "
                   "(prvs=TAG=MAILER-DAEMON@...) or SRS (SRS0=...=domain=postmaster@...) rewrite")

    def check(self, ctx):
        sender = ctx.envelope.sender
        why = addresses.system_address_reason(sender)
        if why:
            return f"the envelope sender {sender} is a {why}"
        inner = unwrap_sender(sender) if sender else sender
        if inner != sender:
            why = addresses.system_address_reason(inner)
            if why:
                return f"the envelope sender {sender} is a {why} ({inner}, rewritten by a " \
                       f"BATV signer or an SRS forwarder)"
        if ctx.config.rules.check_from_header:
            for a in from_addresses(ctx.message):
                why = addresses.system_address_reason(a)
                if why:
                    return f"the From: address {a} is a {why}"
        return None


RULE = SystemSender
