"""The bounce rule: its hits and its near misses."""

from __future__ import annotations

import base64
from email.header import Header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoresponder.rules.bounce import NOTICE_FAILURES, NOTICE_NOUNS, notice_phrase
from tests.rules.messages import OLD_TEXT_BOUNCE, QMAIL_BOUNCE
from tests.rules.support import assert_reply, assert_skip, b, mail


def test_qmail_bounce_is_recognised_by_the_bounce_scanner(world):
    d = world.decide(b(QMAIL_BOUNCE), sender="mail@mx.oldhost.example")
    assert_skip(d, "bounce", "dora@oldhost.example")


def test_old_text_bounce_is_recognised_by_the_bounce_scanner(world):
    d = world.decide(b(OLD_TEXT_BOUNCE), sender="postoffice@mail.example.net")
    assert_skip(d, "bounce", "erik@example.net")


def test_bounce_scan_can_be_switched_off(world):
    world.configure(rules="bounce_scan = false")
    assert_reply(world.decide(b(QMAIL_BOUNCE), sender="mail@mx.oldhost.example"))


def test_a_personal_message_about_a_bounce_gets_a_reply(world):
    body = ("Hi Ana,\n\nmy mail to Carl came back undeliverable, it said 'user unknown' and\n"
            "'recipient address rejected'. Do you have his new address?\n\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="Undeliverable mail to Carl?")))


def test_a_personal_message_quoting_a_bounce_gets_a_reply(world):
    """A person asking for help with a bounce they got: From, envelope and To are people, the
    bounce text is quoted with "> ". It is not itself a bounce."""
    body = ("Hi Ana,\n\nmy mail to Carl came back with this, do you know his new address?\n\n"
            "> This message was created automatically by mail delivery software.\n>\n"
            "> A message that you sent could not be delivered to one or more of its\n"
            "> recipients. This is a permanent error. The following address(es) failed:\n>\n"
            ">   <carl@example.net>\n>     550 5.1.1 User unknown\n\n---\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="Fwd: my mail to Carl bounced?")))


# --- gateways' notices: other languages, person-like senders, no scanner needed --------------

NOTICES = [
    ("Delivery failure notification",
     "Your message\n\n  Subject: Faturas\n\ncould not be delivered because the attachment "
     "contains a blocked file type.\n"),
    ("Non remis : Facture novembre",
     "Votre message n'a pas pu être remis aux destinataires suivants :\n\n  compta@x.example\n"),
    ("Unzustellbar: Angebot",
     "Ihre Nachricht an einkauf@x.example konnte nicht zugestellt werden.\n"),
    ("No se puede entregar: Presupuesto",
     "No se pudo entregar su mensaje a los siguientes destinatarios:\n\n  almacen@x.example\n"),
    ("Não é possível entregar: Orçamento",
     "Não foi possível entregar a sua mensagem aos seguintes destinatários:\n  obras@x.example\n"),
    ("Non recapitabile: Preventivo",
     "Il messaggio non è stato recapitato ai seguenti destinatari:\n\n  acquisti@x.example\n"),
    ("Mail delivery failed: returning message to sender",
     "This message was created automatically by mail delivery software.\n\nA message that you "
     "sent could not be delivered to one or more of its recipients. Your message was not "
     "delivered.\n"),
]


@pytest.mark.parametrize("subject, body", NOTICES, ids=[s.split(":")[0] for s, _ in NOTICES])
def test_gateway_notices_from_person_like_senders(world, subject, body):
    d = world.decide(mail(subject=Header(subject, "utf-8").encode(), body=body,
                          frm="Seguranca Email <seguranca.email@x.example>"),
                     sender="seguranca.email@x.example")
    assert_skip(d, "bounce", "non-delivery notice")


def test_the_notice_is_read_from_a_base64_html_part(world):
    html = ("<html><body><p>Your message to <b>compras@x.example</b> was blocked by the "
            "content filter.</p></body></html>")
    body = base64.encodebytes(html.encode()).decode()
    d = world.decide(mail("Content-Transfer-Encoding: base64", ctype="text/html; charset=utf-8",
                          subject="Delivery Failure Notification: Encomenda", body=body))
    assert_skip(d, "bounce", "'your message'", "'was blocked'")


@pytest.mark.parametrize("subject, body", [
    # a bounce-shaped subject, but the person speaks of their own mail, not "your message"
    ("Undeliverable mail to Carl?", "Hi Ana, my mail to Carl came back undeliverable.\n"),
    ("Não entregue: encomenda PT-2026-4471",
     "Olá Ana, a encomenda ainda não chegou; a transportadora diz que a morada estava "
     "incompleta.\n"),
    # the notice quoted by a person, under a subject of their own
    ("Unzustellbar: was tun?",
     "Hallo Ana,\n\nich bekam das hier:\n\n> Ihre Nachricht konnte nicht zugestellt werden.\n"),
    # a notice's words, but in a reply or a forward
    ("AW: Unzustellbar: Angebot", "Ihre Nachricht konnte nicht zugestellt werden, sorry!\n"),
    ("R: Non recapitabile: Preventivo", "Il messaggio non è stato recapitato, scusa.\n"),
    ("RE : Non remis : Facture", "Votre message n'a pas pu être remis, je corrige.\n"),
    # the words without a bounce-shaped subject
    ("the delivery failure you mentioned",
     "Your message could not be delivered to Jorge: his mailbox was full.\n"),
])
def test_people_writing_about_non_delivery_get_their_reply(world, subject, body):
    assert_reply(world.decide(mail(subject=Header(subject, "utf-8").encode(), body=body)))


@given(noun=st.sampled_from(NOTICE_NOUNS), failure=st.sampled_from(NOTICE_FAILURES),
       filler=st.text(alphabet="abcdefghij ", max_size=40))
@settings(max_examples=150, deadline=None)
def test_any_noun_and_failure_in_the_opening_make_a_notice(noun, failure, filler):
    assert notice_phrase(f"{noun} {filler} {failure}") == (noun, failure)


@given(text=st.text(max_size=200))
@settings(max_examples=150, deadline=None)
def test_no_notice_without_both_parts(text):
    found = notice_phrase(text)
    if found is not None:
        assert found[0] in text and found[1] in text
    if not any(n in text for n in NOTICE_NOUNS):
        assert found is None
