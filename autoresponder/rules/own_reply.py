"""own-reply: one of our own automatic replies, or an answer to one (the loop breaker)."""

from autoresponder.headerutil import OWN_MARKER, OWN_MSGID_PREFIX
from autoresponder.rules import Rule


class OwnReply(Rule):
    name = "own-reply"
    description = ("our own marker (X-Autoresponder), one of our Message-IDs, or "
                   "In-Reply-To/References naming one (replies to our replies): the loop breaker")

    def check(self, ctx):
        m = ctx.message
        if m.get(OWN_MARKER) is not None:
            return f"it carries our own marker {OWN_MARKER}: {m.get(OWN_MARKER)}"
        mid = (m.get("message-id") or "").strip()
        if mid.startswith(OWN_MSGID_PREFIX):
            return f"its Message-ID {mid} is one we generated"
        if ctx.config.rules.thread:
            for name in ("in-reply-to", "references"):
                for v in m.get_all(name):
                    i = v.find(OWN_MSGID_PREFIX)
                    if i != -1:
                        ref = v[i:v.find(">", i) + 1 or None]
                        return f"it answers our automatic reply {ref} ({name.title()})"
        return None


RULE = OwnReply
