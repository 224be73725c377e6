"""The autoreply-subject rule: auto-replies that say so only in their Subject, and the people
who write about absences (they get their reply)."""

from __future__ import annotations

import pytest
from email.header import Header
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoresponder.headerutil import REPLY_PREFIXES
from autoresponder.message import from_bytes
from autoresponder.rules.autoreply_subject import LABELS, AutoreplySubject
from tests.rules.support import assert_reply, assert_skip, mail

# Text a mail program can encode (no lone surrogates).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def encoded(text: str) -> str:
    return Header(text, "utf-8").encode()


@pytest.mark.parametrize("subject", [
    "Automatic reply: Lunch next week?",
    "Out of Office: Lunch next week?",
    "Out of Office AutoReply: Lunch next week?",
    "AutoReply: Lunch next week?",
    "Auto-Reply: Lunch next week?",
    "[EXTERNAL] Automatic reply: Lunch next week?",
    "[EXT] [SPAM?] Out of office: Lunch",
    "Réponse automatique : Déjeuner",
    "Réponse automatique\u00a0: Déjeuner",
    "Automatische Antwort: Mittagessen",
    "Abwesenheitsnotiz: Mittagessen",
    "Respuesta automática: Almuerzo",
    "Resposta automática: Almoço",
    "Risposta automatica: Pranzo",
    "Automatisch antwoord: Lunch",
    "自动回复：午餐",
    "AUTOMATIC REPLY:Lunch",
])
def test_auto_reply_labels(world, subject):
    assert_skip(world.decide(mail(subject=encoded(subject))), "autoreply-subject", "label")


def test_the_reason_quotes_the_label_and_the_subject(world):
    d = world.decide(mail(subject="Automatic reply: Minutes"))
    assert_skip(d, "autoreply-subject", "'automatic reply'", "Minutes")


@pytest.mark.parametrize("subject", [
    "Re: Out of office next week?",
    "RE: Automatic reply: Reunião de planeamento",
    "FW: Automatic reply: Contrato",
    "AW: Automatische Antwort: Angebot",
    "R: Risposta automatica: Preventivo",
    "[EXTERNAL] Re: Automatic reply: Lunch",
    "Out of office next week?",
    "Automatic reply settings for the shared mailbox",
    "Réponse automatique qui ne marche pas",
    "My out of office: did it work?",
    # a person's own announcement: words, not a machine's label
    "Out of the office: Friday 5th",
    "Fora do escritório: sexta-feira",
    "Fuori sede: venerdì",
    "Lunch next week?",
    "",
])
def test_people_writing_about_absences_get_their_reply(world, subject):
    assert_reply(world.decide(mail(subject=encoded(subject) if subject else None)))


def test_an_unknown_charset_still_reads_its_ascii_label(world):
    d = world.decide(mail(subject="=?x-unknown?q?Automatic_reply=3A?= Lunch"))
    assert_skip(d, "autoreply-subject", "automatic reply")


def test_a_broken_encoded_word_is_no_crash(world):
    assert_reply(world.decide(mail(subject="=?utf-8?b?!!not-base64?= Lunch")))


@given(label=st.sampled_from(LABELS), rest=TEXT, spaces=st.sampled_from(
    ["", " ", "  ", "\u00a0"]), colon=st.sampled_from([":", "\uff1a"]))
@FAST
def test_any_label_with_a_colon_is_a_hit_however_encoded(label, rest, spaces, colon):
    shouted = label.upper()  # mail programs' capitals, where they fold back (not Turkish ı)
    subject = (shouted if shouted.casefold() == label else label) + spaces + colon + " " + rest
    raw = encoded(subject).replace("\n", "")
    ctx = _ctx(raw)
    assert AutoreplySubject().check(ctx) is not None


@given(prefix=st.sampled_from(REPLY_PREFIXES), label=st.sampled_from(LABELS),
       rest=TEXT)
@FAST
def test_a_reply_or_forward_of_any_auto_reply_is_never_a_hit(prefix, label, rest):
    subject = f"{prefix.upper()}: {label}: {rest}"
    assert AutoreplySubject().check(_ctx(encoded(subject).replace("\n", ""))) is None


@given(label=st.sampled_from(LABELS), tail=st.text(
    alphabet=st.characters(blacklist_categories=("Cs",),
                           blacklist_characters=":\uff1a \u00a0\t\r\n"),
    min_size=1, max_size=20))
@FAST
def test_a_label_without_its_colon_is_never_a_hit(label, tail):
    """"Out of office next week?": the label followed by more words, no colon."""
    subject = f"{label} {tail}"
    assert AutoreplySubject().check(_ctx(encoded(subject).replace("\n", ""))) is None


def test_labels_are_stored_case_folded():
    assert all(label == label.casefold() for label in LABELS)


class _Ctx:
    def __init__(self, message):
        self.message = message


def _ctx(raw_subject: str) -> _Ctx:
    return _Ctx(from_bytes(mail(subject=raw_subject)))
