"""The null-sender rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.messages import EXIM_BOUNCE, POSTFIX_DSN
from tests.rules.support import assert_reply, assert_skip, b, mail


@pytest.mark.parametrize("sender", ["", "<>", " <> ", None])
def test_null_sender(world, sender):
    assert_skip(world.decide(mail(), sender=sender), "null-sender", "null")


def test_a_sender_that_is_not_an_address_counts_as_null(world):
    assert_skip(world.decide(mail(), sender="bob"), "null-sender", "'bob'", "not a valid")


def test_postfix_dsn_as_delivered_is_a_null_sender(world):
    assert_skip(world.decide(b(POSTFIX_DSN), sender=""), "null-sender")


def test_exim_bounce_as_delivered(world):
    assert_skip(world.decide(b(EXIM_BOUNCE), sender=""), "null-sender")


@pytest.mark.parametrize("sender", ["<bob@example.org>", "Bob@Example.ORG", " bob@example.org ",
                                    "SRS0=HHH=TT=example.org=bob@fwd.example.net"])
def test_null_sender_near_misses(world, sender):
    """Brackets, case, stray blanks and SRS rewriting still leave a real address."""
    assert_reply(world.decide(mail(), sender=sender))
