"""The auto-response-suppress rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("value", ["All", "all", "OOF", "AutoReply", "DR, OOF",
                                   "RN, NRN, AutoReply", "DR,NDR,All"])
def test_auto_response_suppress(world, value):
    assert_skip(world.decide(mail(f"X-Auto-Response-Suppress: {value}")),
                "auto-response-suppress", value)


@pytest.mark.parametrize("value", ["DR, NDR", "RN, NRN", "DR", "None"])
def test_auto_response_suppress_near_misses(world, value):
    assert_reply(world.decide(mail(f"X-Auto-Response-Suppress: {value}")))
