"""The bounce rule: its hits and its near misses."""

from __future__ import annotations

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
