"""The not-addressed rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import ACCOUNT, ALIAS, assert_reply, assert_skip, mail


def test_bcc_mail_is_not_addressed(world):
    d = world.decide(mail(to="Team <team@example.org>", ))
    assert_skip(d, "not-addressed", ACCOUNT, ALIAS)


def test_no_recipient_headers_at_all_is_not_addressed(world):
    assert_skip(world.decide(mail(to=None)), "not-addressed")


@pytest.mark.parametrize("to", [
    "banana@example.com",
    "ana@example.com.evil.example",
    "ana@example.community",
    "xana@example.com",
    "Ana Silva <ana-silva@example.com>",
    '"ana@example.com" <carl@example.net>',
    "=?utf-8?q?ana=40example.com?= <carl@example.net>",
    "undisclosed-recipients:;",
])
def test_lookalike_addresses_are_not_the_account(world, to):
    assert_skip(world.decide(mail(to=to)), "not-addressed")


@pytest.mark.parametrize("extra, to", [
    (["Cc: Ana Silva <ana@example.com>"], "Team <team@example.org>"),
    ([], "Ana <ana+travel@example.com>"),
    ([], f"Ana <{ALIAS}>"),
    ([], '"Silva, Ana" <ana@example.com>'),
    ([], '"Ana \\"the boss\\" Silva" <ana@example.com>, "Bob, B." <bob@example.org>'),
    ([], "=?UTF-8?Q?Ana_Sil=C3=A9va?= <ana@example.com>"),
    ([], "ANA@EXAMPLE.COM"),
    ([], '"ana"@example.com'),
    ([], "friends: carl@example.net, ana@example.com;"),
    ([], "ana@example.com (Ana Silva)"),
    ([], "Team <team@example.org>,\n Ana Silva\n <ana@example.com>"),
    # a "(" that never closes is no comment: it must not hide the address after it
    ([], "Ana Silva (Lisboa <ana@example.com>"),
    ([], "Ana :-( <ana@example.com>"),
    (["Resent-To: ana@example.com"], "Team <team@example.org>"),
    (["Resent-Cc: ana@example.com"], "Team <team@example.org>"),
    (["Bcc: ana@example.com"], "Team <team@example.org>"),
])
def test_addressed_near_misses(world, extra, to):
    assert_reply(world.decide(mail(*extra, to=to)))


def test_envelope_recipient_detail_counts_as_addressed(world):
    assert_reply(world.decide(mail(to="Ana <ana+travel@example.com>"),
                              recipient="ana+travel@example.com"))
    assert_reply(world.decide(mail(to="Ana <ANA+Travel@Example.com>"),
                              recipient="<ANA+Travel@EXAMPLE.COM>"))


def test_check_recipient_can_be_switched_off(world):
    world.configure(rules="check_recipient = false")
    assert_reply(world.decide(mail(to="Team <team@example.org>")))
