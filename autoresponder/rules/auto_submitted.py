"""auto-submitted: RFC 3834's own marker of automatic mail."""

from autoresponder.headerutil import keyword
from autoresponder.rules import Rule


class AutoSubmitted(Rule):
    name = "auto-submitted"
    description = ("Auto-Submitted with any value but no (parameters and comments allowed; RFC "
                   "3834 §2)")

    def check(self, ctx):
        for v in ctx.message.get_all("auto-submitted"):
            k = keyword(v)
            if k != "no":
                return f"Auto-Submitted: {v.strip()[:80]}"
        return None


RULE = AutoSubmitted
