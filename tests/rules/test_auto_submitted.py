"""The auto-submitted rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("value", [
    "auto-generated",
    "auto-replied",
    "Auto-Replied",
    "auto-replied (vacation)",
    "auto-notified; owner-email=\"alerts@example.net\"",
    "auto-generated (cron job) ; foo=bar",
    "(comment first) auto-replied",
])
def test_auto_submitted(world, value):
    assert_skip(world.decide(mail(f"Auto-Submitted: {value}")), "auto-submitted",
                "Auto-Submitted")


def test_auto_submitted_any_instance_counts(world):
    assert_skip(world.decide(mail("Auto-Submitted: no", "Auto-Submitted: auto-generated")),
                "auto-submitted", "auto-generated")


@pytest.mark.parametrize("value", ["no", "No", " no ", "no (a person wrote this)"])
def test_auto_submitted_no_is_a_person(world, value):
    assert_reply(world.decide(mail(f"Auto-Submitted: {value}")))
