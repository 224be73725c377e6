"""account: is there a vacation in force for the recipient (the first rule that needs the store)."""

from autoresponder.rules import Rule


class AccountRule(Rule):
    name = "account"
    description = "no enabled vacation for the recipient or an alias, or outside its start/end"

    def check(self, ctx):
        env = ctx.envelope
        if not env.recipient:
            return "no envelope recipient was given"
        account = ctx.lookup(env.recipient)
        if account is None and env.original_recipient:
            account = ctx.lookup(env.original_recipient)
        if account is None:
            return f"{env.recipient} has no vacation set up"
        ctx.account = account
        why = account.active_at(ctx.now)
        if why:
            return f"{account.address}: {why}"
        return None


RULE = AccountRule
