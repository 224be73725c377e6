"""report: a machine's report (DSN, MDN, ARF, DMARC aggregate) or calendar answer."""

from autoresponder.headerutil import keyword
from autoresponder.rules import Rule


class Report(Rule):
    name = "report"
    description = ("multipart/report (DSN, MDN, ARF), message/delivery-status, "
                   "message/disposition-notification, message/feedback-report, "
                   "X-Failed-Recipients, a DMARC aggregate report (RFC 7489 subject), a calendar "
                   "response (iTIP method=REPLY)")

    TYPES = ("multipart/report", "message/delivery-status", "message/disposition-notification",
             "message/feedback-report")

    def check(self, ctx):
        m = ctx.message
        ct = m.get("content-type")
        if ct is not None:
            k = keyword(ct)
            if k in self.TYPES:
                return f"it is a report: Content-Type {ct.strip()[:100]}"
        v = m.get("x-failed-recipients")
        if v is not None:
            return f"it is a bounce: X-Failed-Recipients: {v.strip()[:80]}"
        subject = (m.get("subject") or "").strip().lower()
        if subject.startswith("report domain:") and "report-id:" in subject:
            return "it is a DMARC aggregate report (RFC 7489 §7.2.1.1 subject)"
        if ct is not None and (keyword(ct) == "text/calendar" or keyword(ct).startswith(
                "multipart/")) and _calendar_reply(ct, m.body_prefix):
            return "it is a calendar response (iTIP method=REPLY): a machine's answer"
        return None


def _calendar_reply(ct: str, body: bytes) -> bool:
    if keyword(ct) == "text/calendar":
        return "method=reply" in ct.lower().replace(" ", "").replace('"', "")
    low = body.lower()
    i = low.find(b"content-type: text/calendar")
    if i == -1:
        return False
    head = low[i:i + 300].replace(b" ", b"").replace(b'"', b"")
    return b"method=reply" in head


RULE = Report
