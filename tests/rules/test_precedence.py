"""The precedence rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import ROOT, assert_reply, assert_skip, mail


@pytest.mark.parametrize("value", ["bulk", "list", "junk", "BULK", "Junk (spam)", "auto_reply"])
def test_precedence(world, value):
    assert_skip(world.decide(mail(f"Precedence: {value}")), "precedence", "Precedence")


@pytest.mark.parametrize("value", ["normal", "first-class", "urgent"])
def test_precedence_near_misses(world, value):
    assert_reply(world.decide(mail(f"Precedence: {value}")))


def test_shipped_newsletter_example_is_bulk(world):
    raw = (ROOT / "examples" / "newsletter.eml").read_bytes()
    d = world.decide(raw, sender="bounces+123@news.example.net")
    assert d.action == "skip"
    d = world.decide(raw, sender="news@example.net")
    assert_skip(d, "precedence")
