"""list: mailing-list header fields (RFC 2369, RFC 2919, RFC 8058, and older ones)."""

from autoresponder.headerutil import field
from autoresponder.rules import Rule


class ListMail(Rule):
    name = "list"
    description = ("any List-* (RFC 2369/2919/8058), Mailing-List, X-Mailing-List, X-List*, "
                   "X-BeenThere, X-ML-Name")

    EXACT = ("mailing-list", "x-mailing-list", "x-beenthere", "x-ml-name")

    def check(self, ctx):
        for n in ctx.message.names():
            if n.startswith("list-") or n.startswith("x-list") or n in self.EXACT:
                name, value = field(ctx.message, n)
                return f"list header {name}: {value.strip()[:80]}"
        return None


RULE = ListMail
