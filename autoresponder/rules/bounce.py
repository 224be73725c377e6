"""bounce: a bounce in no standard format, confirmed by a scanner.

The only rule that may parse MIME and load flufl.bounce; it runs last and only on messages
that a cheap look at the header block and the body prefix says may be a bounce, and then only
on the bounded prefix kept by autoresponder.message.
"""

from autoresponder.headerutil import is_reply_or_forward, strip_tags, subject_text
from autoresponder.rules import Rule

# A bounce says what it is in the first words of its Subject ("Undeliverable: ...",
# "Returned mail: ...") and in the opening lines of its body; a person writing about a bounce
# says it anywhere, and often in a reply or a forward. So the costly scan runs only on a
# bounce-shaped subject or opener, never on a Re:/Fwd:, and never sees "> " quoted lines.
# Subjects are matched decoded and case-folded; corporate gateways (Exchange, Domino, content
# filters) write them in the language of their installation.
SUBJECT_OPENERS = (
    "undeliverable", "undelivered mail", "undeliverable mail", "returned mail",
    "failure notice", "mail delivery failed", "mail delivery failure",
    "delivery status notification", "delivery failure", "delivery failed",
    "delivery notification", "non-delivery", "nondeliverable", "mail system error",
    "warning: message could not", "warning: could not send", "delayed mail", "message delayed",
    "delivery delayed", "returned to sender", "message blocked", "blocked message",
    # Portuguese
    "mensagem não entregue", "mensagem devolvida", "falha na entrega de mensagem",
    "não é possível entregar", "não entregue", "falha na entrega", "não foi possível entregar",
    # French
    "non remis", "non distribuable", "échec de la remise", "echec de la remise",
    "message non remis", "remise impossible", "notification d'échec de remise",
    # German
    "unzustellbar", "nicht zustellbar", "zustellung fehlgeschlagen",
    "fehler bei der zustellung", "benachrichtigung über fehlgeschlagene zustellung",
    # Spanish
    "no se puede entregar", "no entregado", "no se pudo entregar", "error de entrega",
    "error en la entrega", "mensaje no entregado", "notificación de error de entrega",
    # Italian
    "non recapitabile", "impossibile recapitare", "mancato recapito", "recapito non riuscito",
    "notifica di mancato recapito", "messaggio non recapitato")
BODY_OPENERS = (b"this is the mail system at host", b"this is the qmail-send program",
                b"i'm afraid i wasn't able to deliver", b"this message was created "
                b"automatically by mail delivery software", b"delivery to the following "
                b"recipient", b"the original message was received at", b"your message did not "
                b"reach some or all", b"delivery has failed to these recipients",
                b"this is an automatically generated delivery status notification",
                b"message you sent could not be delivered", b"could not be delivered to one "
                b"or more", b"unable to deliver your message", b"sorry, we were unable to "
                b"deliver your message")
# A gateway's notice speaks of the reader's message and says it failed, near the top:
# "Your message ... could not be delivered", "Votre message n'a pas pu être remis",
# "Die Nachricht konnte nicht zugestellt werden", "Não foi possível entregar a sua mensagem".
# Both a noun and a failure must stand in the opening of the (decoded, unquoted) text; a
# person who writes "my mail to Carl came back" uses neither.
NOTICE_NOUNS = (
    "your message", "the message you sent", "the following message", "this message",
    "your e-mail", "your email", "votre message", "le message", "ihre nachricht",
    "die nachricht", "ihre e-mail", "su mensaje", "el mensaje", "sua mensagem",
    "a mensagem", "seu e-mail", "il messaggio", "il suo messaggio", "il tuo messaggio")
NOTICE_FAILURES = (
    "could not be delivered", "couldn't be delivered", "was not delivered",
    "wasn't delivered", "has not been delivered", "was blocked", "has been blocked",
    "was rejected", "has been rejected", "was quarantined", "has been quarantined",
    "n'a pas pu être remis", "n'a pas été remis", "n'a pas pu être distribué",
    "a été bloqué", "a été rejeté",
    "konnte nicht zugestellt werden", "wurde nicht zugestellt", "wurde blockiert",
    "wurde abgewiesen", "no se pudo entregar", "no se ha podido entregar",
    "no pudo ser entregado", "no ha podido ser entregado", "no se ha entregado",
    "fue bloqueado", "ha sido bloqueado", "fue rechazado", "não pôde ser entregue",
    "não foi entregue", "não foi possível entregar", "não pode ser entregue", "foi bloqueada",
    "foi rejeitada", "non è stato possibile recapitare", "non è stato recapitato",
    "non può essere recapitato", "impossibile recapitare", "è stato bloccato",
    "è stato rifiutato")
NOTICE_CHARS = 600
OPENER_BYTES = 1500


def _subject_says_bounce(subject: str) -> bool:
    """`subject` (decoded, case-folded) opens like a non-delivery notice's, after any [TAG]."""
    return not is_reply_or_forward(subject) and strip_tags(subject).startswith(SUBJECT_OPENERS)


class Bounce(Rule):
    name = "bounce"
    description = ('a bounce in no standard format: the Subject starts like one ("Undeliverable:", '
                   '"Returned mail:", "failure notice", "Mail delivery failed", "Delivery failure '
                   'notification", or a gateway\'s in French, German, Spanish, Portuguese or '
                   'Italian: "Non remis :", "Unzustellbar:", "No se puede entregar:", "Não é '
                   'possível entregar:", "Non recapitabile:" ...) or the body opens like one '
                   '("This is the mail system at host ...") and flufl.bounce\'s detectors confirm '
                   'it, or the Subject is bounce-shaped and the top of the body holds a permanent '
                   'status (5.x.y) or says the reader\'s message failed ("Your message ... could '
                   'not be delivered", "Ihre Nachricht konnte nicht zugestellt werden" ...). Never '
                   'on a Re:/Fwd:, never on >-quoted lines: people writing about bounces get their '
                   'reply')

    def check(self, ctx):
        if not ctx.config.rules.bounce_scan:
            return None
        m = ctx.message
        subject = m.get("subject") or ""
        text = subject_text(m) if subject else ""
        if is_reply_or_forward(text):
            return None
        by_subject = _subject_says_bounce(text)
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
        if by_subject:
            said = notice_phrase(opening_text(m))
            if said:
                return f"Subject {subject.strip()[:60]!r} and a non-delivery notice at the " \
                       f"top of the body ({said[0]!r} ... {said[1]!r})"
        return None


def notice_phrase(opening: str) -> "tuple[str, str] | None":
    """(noun, failure) when the opening text speaks of the reader's message failing."""
    noun = next((n for n in NOTICE_NOUNS if n in opening), None)
    if noun is None:
        return None
    failure = next((f for f in NOTICE_FAILURES if f in opening), None)
    return (noun, failure) if failure else None


def opening_text(m) -> str:
    """The first NOTICE_CHARS characters of the message's first text part, decoded (transfer
    encoding, charset, HTML tags), without "> " quoted lines, spaces collapsed, case-folded.
    Only for messages whose Subject already looks like a bounce: it parses MIME."""
    import email
    import email.policy

    try:
        msg = email.message_from_bytes(m.header_block + b"\n" + m.body_prefix,
                                       policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        text = part.get_content()
        if not isinstance(text, str):
            return ""
        if part.get_content_subtype() == "html":
            text = _html_text(text)
    except Exception:  # malformed MIME or an unknown charset: no notice to read
        return ""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:NOTICE_CHARS].casefold().replace("\u2019", "'")


def _html_text(html: str) -> str:
    """The text of an HTML body, roughly: tags dropped, entities decoded."""
    import html as html_mod

    out, inside = [], False
    for ch in html[:20000]:
        if ch == "<":
            inside = True
            out.append(" ")
        elif ch == ">":
            inside = False
        elif not inside:
            out.append(ch)
    return html_mod.unescape("".join(out))


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
