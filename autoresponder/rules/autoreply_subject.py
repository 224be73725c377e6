"""autoreply-subject: an automatic reply that says so only in its Subject.

Outlook's client-side rules ("reply using a template", the old Out of Office Assistant), Lotus
Notes, webmail "auto-reply" filters and many small responders send their answer as the
mailbox owner, with no Auto-Submitted, Precedence or X-Auto-* field: only the label they put
before the subject, in the owner's language, says what it is. Matched at the very start of the
decoded subject (after gateway tags such as ``[EXTERNAL]``) and only when a colon follows the
label, so a colleague asking "Out of office next week?" or answering "Re: Automatic reply: ..."
gets the reply.
"""

from autoresponder.headerutil import is_reply_or_forward, starts_with_label, strip_tags, \
    subject_text
from autoresponder.rules import Rule

# The labels, case-folded; each must be followed by a colon (spaces allowed before it, as in
# French). Exchange/Outlook's own first ("Automatic reply", "Out of Office", the 2003
# "Out of Office AutoReply"), then Lotus Notes' and other responders', then translations of
# "automatic reply". Only labels that name a machine's answer: words a person could put before
# a colon themselves ("Away from the office: Friday") are left to the other rules.
LABELS = (
    # English
    "automatic reply", "auto reply", "auto-reply", "autoreply", "automatic response",
    "auto response", "auto-response", "autoresponse", "out of office autoreply",
    "out of office auto reply", "out of office reply", "out of office",
    # French
    "réponse automatique", "reponse automatique", "réponse automatique d'absence",
    # German (Outlook; Lotus Notes' "Abwesenheitsnotiz")
    "automatische antwort", "abwesenheitsnotiz", "automatische abwesenheitsnotiz",
    "automatische rückantwort",
    # Spanish, Portuguese, Italian
    "respuesta automática", "respuesta automatica", "resposta automática",
    "resposta automatica", "risposta automatica",
    # Dutch, Nordic, Finnish, Polish, Czech, Hungarian, Romanian, Turkish, Greek, Russian
    "automatisch antwoord", "automatisk svar", "autosvar", "automaattinen vastaus",
    "automatyczna odpowiedź", "automatická odpověď", "automatikus válasz", "răspuns automat",
    "raspuns automat", "otomatik yanıt", "otomatik yanit", "otomatik cevap",
    "αυτόματη απάντηση", "автоматический ответ",
    # Japanese, Chinese, Korean
    "自動応答", "自動返信", "自动回复", "自動回覆", "자동 회신", "자동 응답",
)


class AutoreplySubject(Rule):
    name = "autoreply-subject"
    description = ('an automatic reply with no header saying so: the Subject opens with '
                   '"Automatic reply:", "Out of Office:", "Out of Office AutoReply:", '
                   '"Autoreply:" or a translation ("Réponse automatique :", "Automatische '
                   'Antwort:", "Abwesenheitsnotiz:", "Respuesta automática:", "Resposta '
                   'automática:", "Risposta automatica:", and a dozen more languages), after any '
                   '[TAG]; a colon must follow the label, and Re:/Fwd: subjects are people\'s '
                   '("Out of office next week?" gets its reply)')

    def check(self, ctx):
        raw = ctx.message.get("subject")
        if not raw:
            return None
        subject = subject_text(ctx.message)
        if is_reply_or_forward(subject):
            return None
        label = starts_with_label(strip_tags(subject), LABELS)
        if label is None:
            return None
        return f"the Subject opens with the auto-reply label {label!r}: " \
               f"{raw.strip()[:80]}"


RULE = AutoreplySubject
