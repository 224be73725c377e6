"""The helpdesk rule: ticket systems known by their own fields, even without Precedence."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("headers, product", [
    (["RT-Ticket: informatica-lx.example #9921"], "Request Tracker"),
    (["X-RT-Loop-Prevention: informatica-lx.example"], "Request Tracker"),
    (["Managed-BY: RT 5.0.7 (http://www.bestpractical.com/rt/)"], "Request Tracker"),
    (["X-Zendesk-From-Account-Id: 4c8e21a"], "Zendesk"),
    (["X-Mailer: Zendesk Mailer"], "Zendesk"),
    (["X-OTRS-Loop: apoio@seguradora.example"], "OTRS"),
    (["X-Powered-By: OTRS (https://otrs.com/)"], "OTRS"),
    (["X-Mailer: OTRS Mail Service (6.0.30)"], "OTRS"),
    (["X-Mailer: Open-Ticket-Request-System Mail Service (1.3.2)"], "OTRS"),
    (["X-Powered-By: Znuny (https://www.znuny.org/)"], "Znuny"),
    (["X-Mailer: osTicket Mailer"], "osTicket"),
    (["X-Mailer: osTicket v 1.6"], "osTicket"),
])
def test_ticket_systems(world, headers, product):
    assert_skip(world.decide(mail(*headers)), "helpdesk", product)


def test_rt_autoreply_is_decided_as_ticket_mail_before_its_autoreply_subject(world):
    d = world.decide(mail("RT-Ticket: x.example #1", subject="[x.example #1] AutoReply: Printer"))
    assert_skip(d, "helpdesk", "Request Tracker")


@pytest.mark.parametrize("header", [
    "X-Mailer: Microsoft Outlook 16.0",
    "X-Mailer: Apple Mail (2.3774.600.62)",
    "X-Mailer: Rtmailer 2",            # not RT: the product is "RT " followed by a version
    "X-Powered-By: PHP/8.2.12",
    "X-Ticket-Reference: 4471",        # a shop's own field, no helpdesk's
])
def test_near_misses(world, header):
    assert_reply(world.decide(mail(header)))


def test_a_person_writing_about_their_ticket_gets_a_reply(world):
    assert_reply(world.decide(mail(subject="Ticket #418223 at the music school",
                                   body="Ana, did the helpdesk (osTicket) answer you?\n")))
