"""not-addressed: none of the account's addresses is in the recipient fields: a Bcc copy, or
mail that reached the account through a group or list address (docs/schedule.md, "Mail
through a group address")."""

from autoresponder.rules import Rule


class NotAddressed(Rule):
    name = "not-addressed"
    description = ("none of the account's addresses (or aliases, with or without a +detail) in "
                   "To/Cc/Bcc/Resent-To/Resent-Cc/Resent-Bcc: a Bcc copy, or group or list "
                   "mail (RFC 3834 §2, RFC 5230 §4.5); answered with "
                   "rules.answer_group_mail or vacation enable --answer-group-mail, off with "
                   "rules.check_recipient = false")

    def check(self, ctx):
        config = ctx.config
        if not config.rules.check_recipient:
            return None
        from autoresponder import groupmail

        env = ctx.envelope
        account = ctx.account
        own = list(account.addresses()) if account is not None else []
        if env.recipient and env.recipient not in own:
            own.append(env.recipient)  # what the MTA delivered to: the account's mailbox
        original = env.original_recipient or _x_original_to(ctx.message)
        headers = [(n, v) for n in groupmail.RECIPIENT_FIELDS for v in ctx.message.get_all(n)]
        delims = config.recipient_delimiter
        how = groupmail.addressing(headers, original, own, delims)
        if how == groupmail.PERSONAL:
            return None
        group_ok = getattr(account, "answer_group_mail", None)
        if group_ok is None:
            group_ok = config.rules.answer_group_mail
        if group_ok:
            return None
        shown = ", ".join(sorted(set(own)))
        head = f"none of the account's addresses ({shown}) is in To/Cc/Bcc/Resent-*"
        if how == groupmail.GROUP:
            via = f" (it was sent to {original})" if original else ""
            return (f"{head}{via}: mail through a group or list address gets no reply "
                    f"(--answer-group-mail or rules.answer_group_mail answers it)")
        return (f"{head}: a Bcc copy, or group mail the MTA reported as sent to the account "
                f"itself (--answer-group-mail or rules.answer_group_mail answers it)")


def _x_original_to(message) -> str:
    """The original recipient Postfix's local/virtual/pipe (flag O) delivery wrote on top of
    the message, when the envelope did not say: only the topmost field counts (ours)."""
    value = (message.get("x-original-to") or "").strip().strip("<>")
    if not value or len(value) > 320:
        return ""
    from autoresponder import addresses

    return addresses.normalize(value) or ""


RULE = NotAddressed
