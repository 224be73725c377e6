"""spam: a spam or virus verdict of a filter on the way in (RFC 3834 §7: never answer spam)."""

from autoresponder.headerutil import keyword
from autoresponder.rules import Rule


def _yes(value: str) -> bool:
    """``YES``, ``Yes, score=9.1 ...`` and ``yes; tests=...`` are all a yes."""
    return keyword(value).replace(",", " ").split(None, 1)[:1] == ["yes"]


def _number(value: str) -> "float | None":
    token = value.strip().split(None, 1)[0].rstrip(",;") if value.strip() else ""
    try:
        return float(token)
    except ValueError:
        return None


class Spam(Rule):
    name = "spam"
    description = ("X-Spam-Flag: YES, X-Spam-Status: Yes, X-Spam: yes, Barracuda, DSPAM, rspamd "
                   "(X-Spamd-Result: default: True, X-Rspamd-Action add header / rewrite subject "
                   "/ reject), MailScanner (X-*-MailScanner-SpamCheck: spam), virus verdicts "
                   "(X-Virus-Status, X-Antivirus-Status, X-AVAS-Virus-Status: infected), or a "
                   "score (spam_score_header, X-Rspamd-Score, the X-Spamd-Result score) at or "
                   "over the threshold; off with rules.spam = false")

    def check(self, ctx):
        rules = ctx.config.rules
        if not rules.spam:
            return None
        m = ctx.message
        for name in ("x-spam-flag", "x-spam-status", "x-spam", "x-barracuda-spam-status"):
            v = m.get(name)
            if v is not None and _yes(v):
                return f"spam verdict {name.title()}: {v.strip()[:80]}"
        v = m.get("x-spamd-result")
        if v is not None and v.strip().lower().startswith("default: true"):
            return f"spam verdict X-Spamd-Result: {v.strip()[:80]}"
        v = m.get("x-rspamd-action")
        if v is not None and v.strip().lower() in ("add header", "rewrite subject", "reject"):
            return f"spam verdict X-Rspamd-Action: {v.strip()[:80]}"
        for name in m.names():  # MailScanner names its header after the site
            if name == "x-mailscanner-spamcheck" or name.endswith("-mailscanner-spamcheck"):
                v = m.get(name) or ""
                if v.strip().lower().startswith("spam"):
                    return f"spam verdict {name}: {v.strip()[:80]}"
        v = m.get("x-dspam-result")
        if v is not None and keyword(v) in ("spam", "virus"):
            return f"spam verdict X-DSPAM-Result: {v.strip()[:80]}"
        for name in ("x-virus-status", "x-antivirus-status", "x-avas-virus-status"):
            v = m.get(name)
            if v is not None and keyword(v).startswith("infected"):
                return f"virus verdict {name.title()}: {v.strip()[:80]}"
        for name in (rules.spam_score_header, "X-Rspamd-Score", "X-Spamd-Result"):
            v = m.get(name) if name else None
            if v is None:
                continue
            if name == "X-Spamd-Result":  # "default: False [11.02 / 15.00]"
                v = v.split("[", 1)[1] if "[" in v else ""
            score = _number(v)
            if score is not None and score >= rules.spam_threshold:
                return (f"spam score {name}: {score:g} is at least the threshold "
                        f"{rules.spam_threshold:g}")
        return None


RULE = Spam
