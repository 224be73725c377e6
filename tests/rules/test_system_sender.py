"""The system-sender rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("sender, kind", [
    ("MAILER-DAEMON@mx.example.net", "mailer daemon"),
    ("Mailer-Daemon@mx.example.net", "mailer daemon"),
    ("postmaster@example.org", "postmaster"),
    ("LISTSERV@lists.example.edu", "listserv"),
    ("majordomo@example.org", "majordomo"),
    ("owner-devel@lists.example.org", "owner"),
    ("devel-owner@lists.example.org", "owner"),
    ("devel-request@lists.example.org", "request"),
    ("devel-bounces@lists.example.org", "bounce"),
    ("devel-bounces+ana=example.com@lists.example.org", "bounce"),
    ("bounce-42-ana=example.com@mail.example.net", "bounce"),
    ("noreply@shop.example", "no-reply"),
    ("no-reply@accounts.example.com", "no-reply"),
    ("No_Reply@example.net", "no-reply"),
    ("do-not-reply@bank.example", "no-reply"),
    ("donotreply@bank.example", "no-reply"),
    ("DoNotReply@bank.example", "no-reply"),
    ("billing.noreply@shop.example", "no-reply"),
])
def test_system_sender_in_the_envelope(world, sender, kind):
    assert_skip(world.decide(mail(), sender=sender), "system-sender", "envelope sender",
                sender.lower(), kind)


@pytest.mark.parametrize("sender", ["donot-reply@bank.example", "do-notreply@bank.example",
                                    "dont-reply@shop.example", "dontreply@shop.example",
                                    "do.not.reply@shop.example", "no.replies@shop.example"])
def test_other_spellings_of_do_not_reply(world, sender):
    """Hyphenation variants of "do not reply" seen in the wild (beyond the README's four)."""
    assert_skip(world.decide(mail(), sender=sender), "system-sender", "no-reply")


@pytest.mark.parametrize("frm", [
    "Shop <noreply@shop.example>",
    "no-reply@accounts.example.com",
    '"Your Bank" <do-not-reply@bank.example>',
    "donotreply@bank.example (Bank)",
    "Mail Delivery System <MAILER-DAEMON@mx.example.net>",
])
def test_system_sender_in_from_header(world, frm):
    # the envelope is a plausible bulk-mailer return path that is not itself a robot name
    assert_skip(world.decide(mail(frm=frm), sender="shop@mailer.example.net"),
                "system-sender", "From:")


def test_from_header_check_can_be_switched_off(world):
    world.configure(rules="check_from_header = false")
    assert_reply(world.decide(mail(frm="Shop <noreply@shop.example>"),
                              sender="shop@mailer.example.net"))
    # the envelope is still checked
    assert_skip(world.decide(mail(), sender="noreply@shop.example"), "system-sender")


@pytest.mark.parametrize("sender", [
    "bouncer.smith@example.org",
    "norepublic@example.org",
    "noreplyguy.fan@example.org",
    "replyall@example.org",
    "owner@example.org",
    "requester-desk@example.org",
    "mailman.fan@example.org",
    "postmasters-guild@example.org",
    "dono.treply@example.org",
])
def test_people_whose_names_contain_robot_words_get_a_reply(world, sender):
    assert_reply(world.decide(mail(frm=f"Someone <{sender}>"), sender=sender))


def test_robot_words_in_a_display_name_are_not_an_address(world):
    frm = '"Postmaster of fun (noreply-ish)" <bob@example.org>'
    assert_reply(world.decide(mail(frm=frm)))


# --- robots behind a BATV signer or an SRS forwarder ------------------------------------------

@pytest.mark.parametrize("sender, inner", [
    ("prvs=0312a4b5c6=MAILER-DAEMON@srv12.alojamento-web.example",
     "MAILER-DAEMON@srv12.alojamento-web.example"),
    ("msprvs1=19xyzAbC=postmaster@lists.example.org", "postmaster@lists.example.org"),
    ("btv1==0123abc4567==postmaster@gw.example.net", "postmaster@gw.example.net"),
    ("SRS0=k2Pq=SX=srv7.hostbox.example=MAILER-DAEMON@fwd.correio.example",
     "MAILER-DAEMON@srv7.hostbox.example"),
    ("SRS1=Hx7a=fwd1.example==k2Pq=SX=srv7.hostbox.example=majordomo@fwd2.example",
     "majordomo@srv7.hostbox.example"),
])
def test_a_rewritten_robot_envelope_is_still_a_robot(world, sender, inner):
    """The From: check is off, so the envelope alone decides: the rewrite is unwrapped."""
    world.configure(rules="check_from_header = false")
    d = world.decide(mail(frm="Mail Delivery System <mail@srv12.example>"), sender=sender)
    assert_skip(d, "system-sender", inner.lower(), "BATV signer or an SRS forwarder")


@pytest.mark.parametrize("sender", [
    "prvs=4071a2b3c4=sandra.lima@hospital-norte.example",
    "SRS0=Xk3q=SV=example.net=fernando.reis@fwd-service.example",
    "btv1==0123abc4567==ines@example.org",
    "prvs=norobot@example.org",           # no tag: not a BATV address at all
])
def test_a_rewritten_person_gets_a_reply(world, sender):
    assert_reply(world.decide(mail(), sender=sender))
