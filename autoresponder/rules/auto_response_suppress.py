"""auto-response-suppress: Microsoft's request not to be answered (MS-OXCMAIL 2.1.3.2.20)."""

from autoresponder.rules import Rule


class SuppressHeader(Rule):
    name = "auto-response-suppress"
    description = ("X-Auto-Response-Suppress containing All, OOF or AutoReply (Microsoft's "
                   "request for no automatic replies)")

    SUPPRESS = ("all", "oof", "autoreply")

    def check(self, ctx):
        for v in ctx.message.get_all("x-auto-response-suppress"):
            for token in v.replace(";", ",").replace(" ", ",").split(","):
                if token.strip().lower() in self.SUPPRESS:
                    return f"X-Auto-Response-Suppress: {v.strip()[:80]}"
        return None


RULE = SuppressHeader
