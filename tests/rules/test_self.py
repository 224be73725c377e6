"""The self rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import ACCOUNT, ALIAS, assert_reply, assert_skip, mail


def test_self_envelope_sender_is_the_account(world):
    assert_skip(world.decide(mail(frm="Ana <ana@example.com>"), sender=ACCOUNT), "self",
                ACCOUNT)


@pytest.mark.parametrize("sender", [ALIAS, "Ana@Example.COM", "ana+notes@example.com",
                                    "ANA.SILVA+x@example.com"])
def test_self_envelope_sender_alias_detail_or_case(world, sender):
    assert_skip(world.decide(mail(frm=f"Ana <{sender}>"), sender=sender), "self")


def test_self_from_header_is_an_alias(world):
    assert_skip(world.decide(mail(frm=f"Ana Silva <{ALIAS}>"), sender="ana@relay.example.net"),
                "self", "From:")


@pytest.mark.parametrize("sender", ["anabela@example.com", "ana@example.co",
                                    "ana@mail.example.com", "silva.ana@example.com"])
def test_self_near_misses(world, sender):
    assert_reply(world.decide(mail(frm=f"Someone <{sender}>"), sender=sender))
