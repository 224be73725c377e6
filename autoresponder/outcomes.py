"""Every way a delivery can end, as data, and the one place that turns an ending into a code.

An ``Outcome`` has a name (what logs and ``explain --json`` show), a kind and a description:

- ``reply``: a reply left;
- ``skip``: no reply, and none is owed later (a rule's skip, already-replied, rate-limit,
  template-error, rejected, gave-up, internal-error): the MTA delivers the message normally;
- ``defer``: no reply yet, but one may be owed: the MTA keeps the message and retries
  (tempfail);
- ``config``: the agent cannot work as configured (config-error).

``exit_code(outcome)`` is the only mapping from an outcome to a process exit code, and
``Exit`` the only place that spells one: 0, 75 and 78 are all ``deliver`` ever returns,
because Postfix bounces the message on any other code and a bounce of the copy made for the
auto-responder is backscatter. The LMTP service maps outcomes to reply codes next to it.

This module is on the per-message path: it imports nothing at module level.
"""


class Exit:
    """Process exit codes (sysexits.h, the language MTAs speak). ``deliver`` returns only
    OK, TEMPFAIL and CONFIG, through exit_code(); the others are the admin commands'."""

    OK = 0
    USAGE = 64  # admin commands: bad command line
    DATAERR = 65  # admin commands: bad input (an address, a date, a template)
    SOFTWARE = 70  # admin commands: a tool they run failed
    CANTCREAT = 73  # admin commands: an output file could not be written
    TEMPFAIL = 75  # the MTA defers the message and retries later
    CONFIG = 78  # a bad config (75 under Postfix: see exit_code)
    INTERRUPTED = 130  # an admin command stopped with ^C, as a shell reports it


class Outcome:
    """One named way a delivery can end. Frozen: outcomes are compared by identity."""

    __slots__ = ("name", "kind", "description")
    KINDS = ("reply", "skip", "defer", "config")

    def __init__(self, name: str, kind: str, description: str):
        if kind not in self.KINDS:
            raise ValueError(f"unknown outcome kind {kind!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "description", description)

    def __setattr__(self, name, value):
        raise AttributeError("an Outcome is frozen")

    def __repr__(self) -> str:
        return f"Outcome({self.name!r}, {self.kind!r})"


REPLY = Outcome("reply", "reply", "A personal message to an account whose vacation is in "
                "force, and no reply to this sender in the window yet: the reply was sent.")
ALREADY_REPLIED = Outcome("already-replied", "skip", "This sender already got this reply "
                          "within the interval (the reply ledger; RFC 5230 :days).")
RATE_LIMIT = Outcome("rate-limit", "skip", "The account, or all accounts together, sent as "
                     "many replies in the rate-limit period as allowed (rate_limit.*).")
TEMPLATE_ERROR = Outcome("template-error", "skip", "The reply template failed to render: no "
                         "reply (never half a reply); `template check` names the error.")
REJECTED = Outcome("rejected", "skip", "The reply was refused for good by the mail server "
                   "(5xx); recorded, so it is not tried again in the window.")
TEMPFAIL = Outcome("tempfail", "defer", "The reply could not be sent or recorded for now "
                   "(transport down or 4xx, database busy or unreachable, another delivery "
                   "holding the claim): the message is deferred (75) and retried.")
GAVE_UP = Outcome("gave-up", "skip", "A temporary failure on a message older than "
                  "transport.give_up_after: no reply, and not deferred again.")
CONFIG_ERROR = Outcome("config-error", "config", "The config or the MTA's command line is "
                       "wrong: the message is deferred (78, or 75 under Postfix) until the "
                       "admin fixes it.")
INTERNAL_ERROR = Outcome("internal-error", "skip", "A bug: the message is delivered without a "
                         "reply, never bounced; the log has the traceback's last lines.")

_FIXED = (REPLY, ALREADY_REPLIED, RATE_LIMIT, TEMPLATE_ERROR, REJECTED, TEMPFAIL, GAVE_UP,
          CONFIG_ERROR, INTERNAL_ERROR)
_BY_RULE: "dict[str, Outcome]" = {}


def for_rule(name: str) -> Outcome:
    """The skip outcome of the rule called `name`. Only that rule's module is read: a skip
    must not import the rules after the one that decided (one process per message)."""
    outcome = _BY_RULE.get(name)
    if outcome is None:
        from autoresponder.rules import ORDER, load

        if name not in ORDER:
            raise KeyError(name)
        outcome = _BY_RULE[name] = Outcome(name, "skip", load(name).description)
    return outcome


def registry() -> "list[Outcome]":
    """Every outcome: reply, each rule's skip in the rules' order, then the line's own."""
    from autoresponder.rules import ORDER

    return [REPLY, *(for_rule(n) for n in ORDER), *_FIXED[1:]]


def by_name(name: str) -> Outcome:
    for o in registry():
        if o.name == name:
            return o
    raise KeyError(name)


def exit_code(outcome: Outcome) -> int:
    """The process exit code for an outcome: 0 (reply or skip), 75 (defer) or 78 (config).

    EX_CONFIG (78) is the honest code for a bad config, but Postfix 3.7's pipe(8) maps it to
    5.3.5 and *bounces* the message (measured, tests/postfix), and Exim's pipe transport
    treats every code outside temp_errors (75:73 by default) as permanent. Under Postfix,
    recognised by the MAIL_CONFIG variable its pipe(8) always exports, we answer 75 instead:
    the copy waits in the queue until the admin fixes the config. Elsewhere (Dovecot ignores
    the code; a shell; Exim with temp_errors = 73:75:78 as contrib documents) it stays 78.
    """
    if outcome.kind == "defer":
        return Exit.TEMPFAIL
    if outcome.kind == "config":
        import os

        return Exit.TEMPFAIL if "MAIL_CONFIG" in os.environ else Exit.CONFIG
    return Exit.OK


def lmtp_reply(outcome: Outcome, detail: str = "") -> "tuple[int, str]":
    """The LMTP answer for one recipient (`serve`): (code, enhanced status and text).

    The counterpart of exit_code: 250 for a reply or a skip (the copy is done), 451 when a
    retry is safe and wanted (defer), 451 4.3.5 for a config the admin must fix (the copy
    waits, as 75 does under Postfix). Never a 5xx: Postfix's lmtp client bounces the copy on
    one, and a bounce of a copy made for the auto-responder is backscatter. `detail` (the
    reason of a deferral) is added in printable ASCII, at most 200 characters.
    """
    if outcome.kind in ("reply", "skip"):
        return 250, f"2.0.0 {outcome.name}"
    clean = "".join(c if " " <= c <= "~" else "?" for c in detail)[:200]
    if outcome.kind == "config":
        return 451, f"4.3.5 {outcome.name}" + (f": {clean}" if clean else "")
    return 451, f"4.3.0 {outcome.name}" + (f": {clean}" if clean else "")
