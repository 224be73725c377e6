"""auth-failure: our own MTA says the sender is forged (SPF or DMARC failed)."""

from autoresponder.headerutil import strip_comments
from autoresponder.rules import Rule


class AuthFailure(Rule):
    name = "auth-failure"
    description = ("rules.authserv_id is set and an Authentication-Results field from that id "
                   "says spf=fail or dmarc=fail (forged sender: a reply would be backscatter); "
                   "off by default, since such fields from elsewhere cannot be trusted")

    FAILING = {"spf": ("fail",), "dmarc": ("fail",)}

    def check(self, ctx):
        ours = ctx.config.rules.authserv_id.strip().lower()
        if not ours:
            return None
        for value in ctx.message.get_all("authentication-results"):
            parts = strip_comments(value).split(";")
            if not parts[0].strip() or parts[0].split()[0].lower() != ours:
                continue  # added by someone else: not to be trusted
            for resinfo in parts[1:]:
                token = resinfo.strip().split(None, 1)[0] if resinfo.strip() else ""
                method, _, result = token.partition("=")
                if result.lower() in self.FAILING.get(method.lower(), ()):
                    return f"{method.lower()}={result.lower()} in Authentication-Results " \
                           f"from {ours}: the sender is forged"
        return None


RULE = AuthFailure
