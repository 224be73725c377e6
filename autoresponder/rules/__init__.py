"""The skip rules, one small class each, run in a fixed order by autoresponder.engine.

Each rule has a ``name`` (what logs and ``explain --json`` show), a ``description`` and a
``check(ctx)`` that returns a reason (a sentence for an admin) when the message must not get
an automatic reply, or None. The order puts cheap header checks first and the database and
the bounce scanner last, so that most junk is decided from the raw header block alone.
"""


class Rule:
    name = ""
    description = ""

    def check(self, ctx) -> "str | None":  # pragma: no cover - interface
        raise NotImplementedError


class Context:
    """What the rules may look at: the envelope, the message, the config, the account."""

    __slots__ = ("envelope", "message", "config", "now", "lookup", "account")

    def __init__(self, envelope, message, config, now: float, lookup):
        self.envelope = envelope
        self.message = message
        self.config = config
        self.now = now
        self.lookup = lookup  # address -> Account | None (the database, opened lazily)
        self.account = None

    def our_addresses(self) -> "set[str]":
        """Every address that means the account: its own, aliases, and the envelope's."""
        out = set()
        if self.account is not None:
            out.update(self.account.addresses())
        for a in (self.envelope.recipient, self.envelope.original_recipient):
            if a:
                out.add(a)
        return out


def all_rules() -> "list[Rule]":
    """The rules in the order the engine runs them."""
    from autoresponder.rules import account, content, headers, sender

    return [
        sender.NullSender(),
        sender.SystemSender(),
        headers.OwnReply(),
        headers.AutoSubmitted(),
        headers.Precedence(),
        headers.ListMail(),
        headers.SuppressHeader(),
        headers.AutoreplyMarker(),
        content.Spam(),
        content.AuthFailure(),
        content.Report(),
        account.AccountRule(),
        sender.SelfSender(),
        account.NotAddressed(),
        content.Bounce(),
    ]
