"""Decisions as data: what to do with a message, which rule said so, and why."""

REPLY = "reply"
SKIP = "skip"


class Decision:
    __slots__ = ("action", "rule", "reason")

    def __init__(self, action: str, rule: str, reason: str):
        self.action = action
        self.rule = rule
        self.reason = reason

    def __repr__(self) -> str:
        return f"Decision({self.action!r}, {self.rule!r}, {self.reason!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Decision) and (self.action, self.rule, self.reason) == (
            other.action, other.rule, other.reason)

    @property
    def replies(self) -> bool:
        return self.action == REPLY


def skip(rule: str, reason: str) -> Decision:
    return Decision(SKIP, rule, reason)
