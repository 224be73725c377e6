"""spam: a spam or virus verdict of a filter on the way in (RFC 3834 §7: never answer spam).

Trust: any of these fields can be written by the sender. Microsoft strips its
X-MS-Exchange-Organization-* fields where mail leaves an organisation, and gateways may strip
others, but nothing guarantees it before our MTA. A forged *spam* verdict only costs the
forger our reply (the safe direction), so the verdicts are honoured; a forged *clean* verdict
(SCL:-1, SFV:NSPM, rule=notspam) is never a reason to answer, since only verdicts that skip
are read.
"""

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


# Microsoft 365 / Exchange Online Protection (X-Forefront-Antispam-Report, "KEY:VALUE;" pairs):
# SFV:SPM spam, SKS marked spam by a mail flow rule, SKB and BLK the sender is blocked;
# CAT, the protection that decided: spam, high-confidence spam, phishing, malware.
FOREFRONT_SFV = ("SPM", "SKS", "SKB", "BLK")
FOREFRONT_CAT = ("SPM", "HSPM", "PHSH", "HPHSH", "HPHISH", "MALW")
SCL_SPAM = 5  # Microsoft's spam confidence level: 5-6 spam, 9 high confidence; -1 trusted
PROOFPOINT_RULES = ("spam", "phish", "malware", "virus")


def _pairs(value: str, sep: str, eq: str) -> "dict[str, str]":
    out = {}
    for token in value.replace("\t", " ").split(sep):
        k, found, v = token.strip().partition(eq)
        if found and k.strip():
            out.setdefault(k.strip().lower(), v.strip())
    return out


def _int(value: "str | None") -> "int | None":
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def platform_verdict(m) -> "str | None":
    """A spam verdict of Microsoft 365, Google or Proofpoint in the message's fields."""
    v = m.get("x-forefront-antispam-report")
    if v is not None:
        report = _pairs(v, ";", ":")
        sfv, cat = report.get("sfv", "").upper(), report.get("cat", "").upper()
        scl = _int(report.get("scl"))
        if sfv in FOREFRONT_SFV or cat in FOREFRONT_CAT or (scl is not None and scl >= SCL_SPAM):
            shown = "; ".join(f"{k.upper()}:{report[k]}" for k in ("sfv", "scl", "cat")
                              if k in report)
            return f"Microsoft 365 verdict X-Forefront-Antispam-Report: {shown}"
    for v in m.get_all("x-ms-exchange-organization-scl"):
        scl = _int(v)
        if scl is not None and scl >= SCL_SPAM:
            return f"Microsoft 365 verdict X-MS-Exchange-Organization-SCL: {scl}"
    for name, what in (("x-gm-spam", "spam"), ("x-gm-phishy", "phishing")):
        for v in m.get_all(name):
            if v.strip() == "1":
                return f"Google's {what} verdict {name.title()}: 1"
    v = m.get("x-proofpoint-spam-details")
    if v is not None:
        rule = _pairs(v, " ", "=").get("rule", "").lower()
        if rule in PROOFPOINT_RULES:
            return f"Proofpoint verdict X-Proofpoint-Spam-Details: rule={rule}"
    return None


class Spam(Rule):
    name = "spam"
    description = ("X-Spam-Flag: YES, X-Spam-Status: Yes, X-Spam: yes, Barracuda, DSPAM, rspamd "
                   "(X-Spamd-Result: default: True, X-Rspamd-Action add header / rewrite subject "
                   "/ reject), MailScanner (X-*-MailScanner-SpamCheck: spam), virus verdicts "
                   "(X-Virus-Status, X-Antivirus-Status, X-AVAS-Virus-Status: infected), Microsoft "
                   "365 (X-Forefront-Antispam-Report SFV:SPM/SKS/SKB/BLK, SCL 5 or more, CAT "
                   "spam/phishing/malware; X-MS-Exchange-Organization-SCL 5 or more), Google "
                   "(X-Gm-Spam: 1, X-Gm-Phishy: 1), Proofpoint (X-Proofpoint-Spam-Details "
                   "rule=spam/phish/malware), or a score (spam_score_header, X-Rspamd-Score, "
                   "Mimecast's X-Mimecast-Spam-Score, the X-Spamd-Result score) at or over the "
                   "threshold; forgeable, but a forged verdict only costs its forger a reply; "
                   "off with rules.spam = false")

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
        why = platform_verdict(m)
        if why:
            return why
        for name in (rules.spam_score_header, "X-Rspamd-Score", "X-Mimecast-Spam-Score",
                     "X-Spamd-Result"):
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
