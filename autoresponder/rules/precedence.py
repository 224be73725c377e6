"""precedence: the old, still common marker of bulk and list mail."""

from autoresponder.headerutil import keyword
from autoresponder.rules import Rule


class Precedence(Rule):
    name = "precedence"
    description = "Precedence: bulk, list, junk (or auto_reply)"

    BULK = ("bulk", "list", "junk", "auto_reply")

    def check(self, ctx):
        for v in ctx.message.get_all("precedence"):
            if keyword(v) in self.BULK:
                return f"Precedence: {v.strip()[:80]}"
        return None


RULE = Precedence
