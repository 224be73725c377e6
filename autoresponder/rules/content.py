"""Rules about what the message is: spam verdicts, delivery reports, and bounces.

The bounce rule is the only one that may parse MIME and load flufl.bounce; it runs last and
only on messages that a cheap look at the header block and the body prefix says may be a
bounce, and then only on the bounded prefix kept by autoresponder.message.
"""

from autoresponder.rules import Rule
from autoresponder.rules.headers import keyword


def _yes(value: str) -> bool:
    """``YES``, ``Yes, score=9.1 ...`` and ``yes; tests=...`` are all a yes."""
    return keyword(value).replace(",", " ").split(None, 1)[:1] == ["yes"]


class Spam(Rule):
    name = "spam"
    description = ("A spam or virus verdict: X-Spam-Flag: YES, X-Spam-Status: Yes, X-Spam: yes, "
                   "a score header at or over the threshold (config rules.spam_score_header / "
                   "spam_threshold), rspamd's X-Spamd-Result, X-Virus-Status: Infected.")

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
        v = m.get("x-dspam-result")
        if v is not None and keyword(v) in ("spam", "virus"):
            return f"spam verdict X-DSPAM-Result: {v.strip()[:80]}"
        for name in ("x-virus-status", "x-antivirus-status", "x-avas-virus-status"):
            v = m.get(name)
            if v is not None and keyword(v).startswith("infected"):
                return f"virus verdict {name.title()}: {v.strip()[:80]}"
        if rules.spam_score_header:
            v = m.get(rules.spam_score_header)
            if v is not None:
                score = _number(v)
                if score is not None and score >= rules.spam_threshold:
                    return (f"spam score {rules.spam_score_header}: {score:g} is at least "
                            f"the threshold {rules.spam_threshold:g}")
        return None


class AuthFailure(Rule):
    name = "auth-failure"
    description = ("Our own MTA's Authentication-Results (rules.authserv_id) says SPF or DMARC "
                   "failed: the sender is forged and a reply would be backscatter.")

    FAILING = {"spf": ("fail",), "dmarc": ("fail",)}

    def check(self, ctx):
        ours = ctx.config.rules.authserv_id.strip().lower()
        if not ours:
            return None
        for value in ctx.message.get_all("authentication-results"):
            from autoresponder.rules.headers import _strip_comments

            parts = _strip_comments(value).split(";")
            if not parts[0].strip() or parts[0].split()[0].lower() != ours:
                continue  # added by someone else: not to be trusted
            for resinfo in parts[1:]:
                token = resinfo.strip().split(None, 1)[0] if resinfo.strip() else ""
                method, _, result = token.partition("=")
                if result.lower() in self.FAILING.get(method.lower(), ()):
                    return f"{method.lower()}={result.lower()} in Authentication-Results " \
                           f"from {ours}: the sender is forged"
        return None


def _number(value: str) -> "float | None":
    token = value.strip().split(None, 1)[0].rstrip(",;") if value.strip() else ""
    try:
        return float(token)
    except ValueError:
        return None


class Report(Rule):
    name = "report"
    description = ("A delivery or disposition report: Content-Type multipart/report (DSN, MDN, "
                   "ARF), message/delivery-status, message/disposition-notification, or an "
                   "Exim-style X-Failed-Recipients.")

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
        return None


# Words that make a message worth the (costly) bounce scan; all lower case.
SUBJECT_HINTS = ("undeliver", "delivery status", "delivery fail", "delivery notification",
                 "failure notice", "returned mail", "mail delivery", "could not be deliver",
                 "non-deliver", "nondeliver", "not delivered", "delivery problem",
                 "returned to sender", "mail system error", "rejected:", "warning: could not",
                 "delayed mail", "message delayed", "não entregue", "falha na entrega",
                 "mensagem devolvida")
BODY_HINTS = (b"this is the mail system at host", b"delivery to the following recipient",
              b"following address(es) failed", b"could not be delivered", b"permanent error",
              b"undeliverable", b"delivery has failed", b"returned mail", b"user unknown",
              b"mailbox unavailable", b"diagnostic-code", b"final-recipient",
              b"mailer-daemon", b"the original message was received", b"unrouteable",
              b"recipient address rejected", b"does not exist")


class Bounce(Rule):
    name = "bounce"
    description = ("A non-standard bounce recognised by flufl.bounce's detectors (GNU Mailman), "
                   "run only when the subject or the body prefix looks like one.")

    def check(self, ctx):
        if not ctx.config.rules.bounce_scan:
            return None
        m = ctx.message
        subject = (m.get("subject") or "").lower()
        hinted = any(h in subject for h in SUBJECT_HINTS)
        body = _unquoted(m.body_prefix)
        if not hinted:
            low = body[:16384].lower()
            hinted = any(h in low for h in BODY_HINTS)
        if not hinted:
            return None
        failed = scan_for_bounce(m.header_block + body)
        if failed:
            shown = ", ".join(sorted(failed)[:3]) + (" ..." if len(failed) > 3 else "")
            return f"flufl.bounce recognises a bounce for {shown}"
        return None


def _unquoted(body: bytes) -> bytes:
    """The body without "> " quoted lines: a person quoting a bounce is not a bounce, and no
    MTA's bounce quotes the failed message that way."""
    if b"\n>" not in body and not body.startswith(b">"):
        return body
    return b"\n".join(line for line in body.split(b"\n") if not line.startswith(b">"))


def scan_for_bounce(raw: bytes) -> "set[str]":
    """Failed addresses flufl.bounce finds in a (bounded) message; empty if none or on error."""
    import email
    import email.policy
    import logging

    from flufl.bounce import scan_message

    # flufl.bounce logs a detector's exception with a traceback; with no handler configured
    # Python's last-resort handler would print it on stderr, where Postfix reads our output.
    flog = logging.getLogger("flufl.bounce")
    if not flog.handlers:
        flog.addHandler(logging.NullHandler())
        flog.propagate = False

    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        found = scan_message(msg)
    except Exception:  # a detector choking on malformed MIME is not a bounce verdict
        return set()
    out = set()
    for a in found:
        if isinstance(a, bytes):
            a = a.decode("utf-8", "replace")
        out.add(str(a))
    return out
