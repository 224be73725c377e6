"""The spam rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("header", [
    "X-Spam-Flag: YES",
    "X-Spam-Flag: yes",
    "X-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99,URIBL_BLACK",
    "X-Spam-Status: Yes; score=9.1",
    "X-Spam: yes",
    "X-Barracuda-Spam-Status: Yes, SCORE=8.2 using global scores",
    "X-DSPAM-Result: Spam",
    "X-Spamd-Result: default: True [15.20 / 15.00]",
    "X-Virus-Status: Infected (Eicar-Test-Signature)",
    "X-Spam-Score: 7.3",
    "X-Spam-Score: 5",
    "X-Spam-Score: 5.0 (+++++)",
])
def test_spam(world, header):
    assert_skip(world.decide(mail(header)), "spam")


@pytest.mark.parametrize("header", [
    "X-Spam-Flag: NO",
    "X-Spam-Status: No, score=1.2 required=5.0 tests=ALL_TRUSTED",
    "X-Spam-Score: 4.9",
    "X-Spam-Score: -2.3",
    "X-Spam-Score: ****",
    "X-Spam-Level: *******",
    "X-DSPAM-Result: Innocent",
    "X-Virus-Status: Clean",
    "X-Spamd-Result: default: False [1.20 / 15.00]",
])
def test_spam_near_misses(world, header):
    assert_reply(world.decide(mail(header)))


def test_spam_score_reason_names_score_and_threshold(world):
    assert_skip(world.decide(mail("X-Spam-Score: 7.3")), "spam", "X-Spam-Score", "7.3", "5")


def test_spam_rule_can_be_switched_off(world):
    world.configure(rules="spam = false")
    assert_reply(world.decide(mail("X-Spam-Flag: YES", "X-Spam-Score: 99")))


def test_spam_score_header_and_threshold_are_configurable(world):
    world.configure(rules='spam_score_header = "X-Rspamd-Score"\nspam_threshold = 10.0')
    assert_reply(world.decide(mail("X-Rspamd-Score: 9.9", "X-Spam-Score: 50")))
    assert_skip(world.decide(mail("X-Rspamd-Score: 10.5")), "spam", "X-Rspamd-Score", "10")
