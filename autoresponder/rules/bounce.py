"""bounce: a bounce in no standard format, confirmed by a scanner.

The only rule that may parse MIME and load flufl.bounce; it runs last and only on messages
that a cheap look at the header block and the body prefix says may be a bounce, and then only
on the bounded prefix kept by autoresponder.message.
"""

from autoresponder.rules import Rule

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
    description = ('a bounce in no standard format: the Subject starts like one ("Undeliverable:", '
                   '"Returned mail:", "failure notice" ...) or the body opens like one ("This is '
                   'the mail system at host ...") and flufl.bounce\'s detectors confirm it, or the '
                   'Subject is bounce-shaped and a permanent status (5.x.y) stands at the top of '
                   'the body. Never on a Re:/Fwd:, never on >-quoted lines: people writing about '
                   'bounces get their reply')

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


RULE = Bounce
