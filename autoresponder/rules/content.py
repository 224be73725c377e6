"""Rules about what the message is: spam verdicts, delivery reports, and bounces.

The bounce rule is the only one that may parse MIME and load flufl.bounce; it runs last and
only on messages that a cheap look at the header block and the body prefix says may be a
bounce, and then only on the bounded prefix kept by autoresponder.message.
"""

from autoresponder.rules import Rule
from autoresponder.rules.headers import strip_comments, keyword


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


def _number(value: str) -> "float | None":
    token = value.strip().split(None, 1)[0].rstrip(",;") if value.strip() else ""
    try:
        return float(token)
    except ValueError:
        return None


class Report(Rule):
    name = "report"
    description = ("A delivery or disposition report: Content-Type multipart/report (DSN, MDN, "
                   "ARF), message/delivery-status, message/disposition-notification, an "
                   "Exim-style X-Failed-Recipients, a DMARC aggregate report, or a calendar "
                   "response (iTIP REPLY).")

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


# A bounce says what it is in the first words of its Subject ("Undeliverable: ...",
# "Returned mail: ...") and in the opening lines of its body; a person writing about a bounce
# says it anywhere, and often in a reply or a forward. So the costly scan runs only on a
# bounce-shaped subject or opener, never on a Re:/Fwd:, and never sees "> " quoted lines.
SUBJECT_OPENERS = ("undeliverable", "undelivered mail", "undeliverable mail", "returned mail",
                   "failure notice", "mail delivery failed", "mail delivery failure",
                   "delivery status notification", "delivery failure", "delivery failed",
                   "delivery notification", "non-delivery", "nondeliverable",
                   "mail system error", "warning: message could not", "warning: could not send",
                   "delayed mail", "message delayed", "delivery delayed", "returned to sender",
                   "mensagem não entregue", "mensagem devolvida", "falha na entrega de mensagem")
REPLY_PREFIXES = ("re:", "fwd:", "fw:", "enc:", "res:", "aw:", "wg:", "tr:", "rv:", "sv:", "vs:")
BODY_OPENERS = (b"this is the mail system at host", b"this is the qmail-send program",
                b"i'm afraid i wasn't able to deliver", b"this message was created "
                b"automatically by mail delivery software", b"delivery to the following "
                b"recipient", b"the original message was received at", b"your message did not "
                b"reach some or all", b"delivery has failed to these recipients",
                b"this is an automatically generated delivery status notification",
                b"message you sent could not be delivered", b"could not be delivered to one "
                b"or more", b"unable to deliver your message", b"sorry, we were unable to "
                b"deliver your message")
OPENER_BYTES = 1500


def _subject_says_bounce(subject: str) -> bool:
    s = subject.strip().lower()
    if s.startswith(REPLY_PREFIXES):
        return False
    return s.startswith(SUBJECT_OPENERS)


class Bounce(Rule):
    name = "bounce"
    description = ("A bounce in no standard format: a bounce-shaped Subject or body opener, "
                   "confirmed by flufl.bounce's detectors (GNU Mailman) or by a permanent "
                   "SMTP status in the opening lines. Never on a reply or forward, never on "
                   "quoted lines.")

    def check(self, ctx):
        if not ctx.config.rules.bounce_scan:
            return None
        m = ctx.message
        subject = m.get("subject") or ""
        by_subject = _subject_says_bounce(subject)
        if not by_subject and subject.strip().lower().startswith(REPLY_PREFIXES):
            return None
        body = _unquoted(m.body_prefix)
        top = body[:OPENER_BYTES].lower()
        if not (by_subject or any(h in top for h in BODY_OPENERS)):
            return None
        failed = scan_for_bounce(m.header_block + body)
        if failed:
            shown = ", ".join(sorted(failed)[:3]) + (" ..." if len(failed) > 3 else "")
            return f"flufl.bounce recognises a bounce for {shown}"
        status = _permanent_status(top)
        if by_subject and status:
            return f"Subject {subject.strip()[:60]!r} and a permanent delivery status " \
                   f"({status}) at the top of the body"
        return None


def _permanent_status(text: bytes) -> "str | None":
    """The first enhanced status code 5.x.y (RFC 3463) in text, if any."""
    i = text.find(b"5.")
    while i != -1:
        j = i + 2
        while j < len(text) and text[j:j + 1].isdigit():
            j += 1
        if j > i + 2 and text[j:j + 1] == b"." and text[j + 1:j + 2].isdigit() and \
                (i == 0 or not text[i - 1:i].isalnum() and text[i - 1:i] != b"."):
            k = j + 1
            while k < len(text) and text[k:k + 1].isdigit():
                k += 1
            return text[i:k].decode("ascii")
        i = text.find(b"5.", i + 1)
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
