"""null-sender: the envelope sender is null (<>), or no address at all."""

from autoresponder.rules import Rule


class NullSender(Rule):
    name = "null-sender"
    description = ("the envelope sender is <> (or not a valid RFC 5321 mailbox): bounces and "
                   "reports must never be answered")

    def check(self, ctx):
        env = ctx.envelope
        if env.null_sender:
            if env.sender_raw.strip() in ("", "<>"):
                return "the envelope sender is null (<>)"
            return (f"the envelope sender {env.sender_shown!r} is not a valid RFC 5321 "
                    f"mailbox: {env.sender_problem or 'no address'}")
        return None


RULE = NullSender
