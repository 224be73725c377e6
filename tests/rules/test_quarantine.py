"""The quarantine rule: spam filters' quarantine notices and digests."""

from __future__ import annotations

from email.header import Header

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


def test_microsoft_365_quarantine_sender(world):
    d = world.decide(mail(frm="Microsoft 365 security <quarantine@messaging.microsoft.com>",
                          subject="Microsoft 365 security: You have messages in quarantine"),
                     sender="quarantine@messaging.microsoft.com")
    assert_skip(d, "quarantine", "quarantine@messaging.microsoft.com")


def test_quarantine_from_header_with_another_envelope(world):
    d = world.decide(mail(frm="Spam Filter <spam-quarantine@filter.example>",
                          subject="Held mail"), sender="filter@filter.example")
    assert_skip(d, "quarantine", "spam-quarantine@filter.example")


@pytest.mark.parametrize("subject", [
    "End User Digest: 3 New Messages",
    "Spam Quarantine Summary for ana@example.com",
    "You have 4 messages in quarantine",
    "[SPAM] Quarantine digest",
    "Resumo da quarentena de spam: 4 mensagens retidas",
    "Résumé de la quarantaine : 2 messages",
    "Quarantäne-Zusammenfassung: 5 Nachrichten",
    "Resumen de cuarentena: 3 mensajes",
    "Riepilogo quarantena: 2 messaggi",
])
def test_quarantine_digests(world, subject):
    d = world.decide(mail(frm="Filtro <filtro@hosting.example>",
                          subject=Header(subject, "utf-8").encode()),
                     sender="filtro@hosting.example")
    assert_skip(d, "quarantine", "quarantine notice")


@pytest.mark.parametrize("subject", [
    "Quarentena dos animais novos",
    "Quarantine rules for the lab",
    "Re: Spam quarantine summary - why is my invoice there?",
    "Fwd: End User Digest: 3 New Messages",
    "Messages from the conference",
])
def test_people_writing_about_quarantine_get_their_reply(world, subject):
    assert_reply(world.decide(mail(subject=Header(subject, "utf-8").encode())))


def test_a_person_called_quarantino_is_not_a_notifier(world):
    assert_reply(world.decide(mail(frm="Q <quarantino@example.org>"),
                              sender="quarantino@example.org"))
