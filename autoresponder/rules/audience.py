"""audience: the account answers colleagues only (``--external none``) and the sender is not one."""

from autoresponder.rules import Rule


class AudienceRule(Rule):
    name = "audience"
    description = ("the account answers colleagues only (vacation enable --external none) and "
                   "the envelope sender's domain is neither the account's own nor one of the "
                   "internal_domains (config or account)")

    def check(self, ctx):
        account = ctx.account
        if account is None or account.external != "none":
            return None
        from autoresponder import answer

        sender = ctx.envelope.sender
        if answer.audience_of(account, ctx.config).why_internal(sender):
            return None
        shown = sender or "<>"
        inside = answer.audience_of(account, ctx.config)
        known = ", ".join(sorted(inside.exact) + list(inside.parents))
        return (f"{shown} is an external sender (internal domains: {known}) and "
                f"{account.address} answers colleagues only (--external none)")


RULE = AudienceRule
