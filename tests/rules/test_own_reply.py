"""The own-reply rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("extra, message_id, words", [
    (["X-Autoresponder: auto-replied"], "<m1@example.org>", ["X-Autoresponder"]),
    ([], "<autoreply.1795000000.0011223344556677@example.com>", ["Message-ID"]),
    (["In-Reply-To: <autoreply.1795000000.0011223344556677@example.com>"], "<m9@example.org>",
     ["<autoreply.1795000000.0011223344556677@example.com>", "In-Reply-To"]),
    (["References: <a@example.org>\n <autoreply.1795000000.aa@example.com> <b@example.org>"],
     "<m9@example.org>", ["<autoreply.1795000000.aa@example.com>", "References"]),
])
def test_own_reply(world, extra, message_id, words):
    assert_skip(world.decide(mail(*extra, message_id=message_id)), "own-reply", *words)


def test_own_reply_near_misses(world):
    assert_reply(world.decide(mail(message_id="<m.autoreply.1@example.org>")))
    assert_reply(world.decide(mail("In-Reply-To: <notautoreply.1@example.org>",
                                   "References: <x.autoreply.2@example.org>")))
    assert_reply(world.decide(mail("X-Autoresponder-Fan: yes")))


def test_own_reply_thread_check_can_be_switched_off(world):
    world.configure(rules="thread = false")
    assert_reply(world.decide(mail("In-Reply-To: <autoreply.1.aa@example.com>")))
    # our marker is still recognised
    assert_skip(world.decide(mail("X-Autoresponder: auto-replied")), "own-reply")
