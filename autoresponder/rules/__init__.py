"""The skip rules, one module each, run in the order of ORDER by autoresponder.engine.

Each rule has a ``name`` (what logs and ``explain --json`` show), a ``description`` and a
``check(ctx)`` that returns a reason (a sentence for an admin) when the message must not get
an automatic reply, or None. The rule called ``some-name`` is the class bound to ``RULE`` in
``autoresponder/rules/some_name.py``. The order puts cheap header checks first and the
database and the bounce scanner last, so that most junk is decided from the raw header block
alone, and a rule's module is imported only when the engine reaches it. Adding a rule: README,
"Adding a rule".
"""


class Rule:
    """A skip rule: ``check(ctx)`` says why a message gets no reply, or None."""

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


# The order the engine runs the rules in: cheap header checks first, the database and the
# bounce scanner last. One line per rule: its name; the rule lives in the module of that name
# (dashes as underscores), which binds its class to RULE.
ORDER = (
    "null-sender",
    "system-sender",
    "own-reply",
    "auto-submitted",
    "precedence",
    "list",
    "esp",
    "auto-response-suppress",
    "autoreply-marker",
    "vendor-autoreply",
    "helpdesk",
    "autoreply-subject",
    "spam",
    "quarantine",
    "auth-failure",
    "report",
    "account",
    "self",
    "not-addressed",
    "audience",
    "bounce",
)


def module_name(rule_name: str) -> str:
    """The module that holds the rule called `rule_name`."""
    return "autoresponder.rules." + rule_name.replace("-", "_")


def load(rule_name: str) -> Rule:
    """The rule called `rule_name`, its module imported now (once per process)."""
    module = __import__(module_name(rule_name), fromlist=("RULE",))
    return module.RULE()


class Deferred(Rule):
    """A rule known by its name, its module imported when it is first checked or described.

    The first rule that objects decides, so a bulk message stopped by ``precedence`` never
    imports the modules of the rules after it: every module costs each process, and Postfix
    starts one process per message.
    """

    def __init__(self, name: str):
        self.name = name
        self._rule: "Rule | None" = None

    @property
    def rule(self) -> Rule:
        if self._rule is None:
            self._rule = load(self.name)
        return self._rule

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.rule.description

    def check(self, ctx) -> "str | None":
        return self.rule.check(ctx)

    def __repr__(self) -> str:
        return f"<rule {self.name}>"


def all_rules() -> "list[Rule]":
    """The rules in the order the engine runs them (each module imported on first use)."""
    return [Deferred(name) for name in ORDER]
