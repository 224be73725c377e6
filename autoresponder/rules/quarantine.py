"""quarantine: a filtering service's notice about mail it held (a digest or a release notice).

Microsoft 365 sends its notices from ``quarantine@messaging.microsoft.com``; Proofpoint's is the
"End User Digest"; Mimecast, Barracuda, Sophos and hosters' filters send "quarantine summary"
or "digest" mails, translated. None is a person, and their senders are often addresses nobody
reads. Recognised by a sender whose local part is (or starts with) ``quarantine``, or by a
Subject that is not a Re:/Fwd: and speaks of quarantine together with a digest, summary or
held-messages word, so a person writing "Quarantine rules for the lab" gets the reply.
"""

from autoresponder import addresses
from autoresponder.headerutil import from_addresses, is_reply_or_forward, strip_tags, \
    subject_text
from autoresponder.rules import Rule

QUARANTINE_WORDS = ("quarantine", "quarantaine", "quarantäne", "quarentena", "cuarentena",
                    "quarantena", "karantén", "kwarantann", "karantæne", "karantän")
DIGEST_WORDS = ("summary", "digest", "notification", "report", "held", "you have",
                "messages", "released", "resumo", "mensagens", "notificação", "resumen",
                "mensajes", "notificación", "récapitulatif", "résumé", "zusammenfassung",
                "nachrichten", "benachrichtigung", "riepilogo", "messaggi", "notifica")
SUBJECTS = ("end user digest", "proofpoint end user digest", "spam digest",
            "mimecast digest", "held messages summary")


def _quarantine_sender(address: str) -> bool:
    local = addresses.split(address.lower())[0].strip('"')
    return local == "quarantine" or local.startswith(("quarantine-", "quarantine.",
                                                      "quarantine_", "quarantine+",
                                                      "spamquarantine", "spam-quarantine"))


class Quarantine(Rule):
    name = "quarantine"
    description = ("a spam filter's quarantine notice or digest: the sender is quarantine@... "
                   "(Microsoft 365's quarantine@messaging.microsoft.com, quarantine-*@, "
                   "spam-quarantine@), or the Subject (not a Re:/Fwd:) names a quarantine "
                   "(in six languages) with a summary/digest/messages word, or is Proofpoint's "
                   '"End User Digest"')

    def check(self, ctx):
        m = ctx.message
        if ctx.envelope.sender and _quarantine_sender(ctx.envelope.sender):
            return f"the envelope sender {ctx.envelope.sender} is a quarantine notifier"
        for a in from_addresses(m):
            if _quarantine_sender(a):
                return f"the From: address {a} is a quarantine notifier"
        if not m.get("subject"):
            return None
        subject = subject_text(m)
        if is_reply_or_forward(subject):
            return None
        s = strip_tags(subject)
        if s.startswith(SUBJECTS) or (any(w in s for w in QUARANTINE_WORDS)
                                      and any(w in s for w in DIGEST_WORDS)):
            return f"a quarantine notice: Subject {m.get('subject').strip()[:80]}"
        return None


RULE = Quarantine
