"""The vendor-autoreply rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("header, words", [
    ("Delivered-To: Autoresponder", ["qmail", "Autoresponder"]),
    ("Delivered-To: autoresponder ", ["Autoresponder"]),
    ("X-POST-MessageClass: 9; Autoresponder", ["Mailtraq", "9; Autoresponder"]),
    ("X-POST-MessageClass: 9;Autoresponder", ["Mailtraq"]),
    ("X-FC-MachineGenerated: true", ["FirstClass"]),
    ("X-FC-MachineGenerated: TRUE", ["FirstClass"]),
    ("X-Autoresponse: yes", ["X-Autoresponse"]),
    ("X-Autoresponse: Out of office", ["X-Autoresponse"]),
])
def test_vendor_autoreply(world, header, words):
    assert_skip(world.decide(mail(header)), "vendor-autoreply", *words)


def test_any_delivered_to_field_counts(world):
    """qmail's autorespond adds its own Delivered-To on top; the MTA adds more after it."""
    d = world.decide(mail("Delivered-To: ana@example.com", "Delivered-To: Autoresponder"))
    assert_skip(d, "vendor-autoreply", "Autoresponder")


@pytest.mark.parametrize("header", [
    # every message delivered by Postfix, Dovecot LMTP or qmail has one of these
    "Delivered-To: ana@example.com",
    "Delivered-To: autoresponder@example.com",
    "Delivered-To: ana-autoresponder-test@example.com",
    "X-POST-MessageClass: 1; Normal",
    "X-POST-MessageClass: Autoresponder",  # no class number: not Mailtraq's field
    "X-FC-MachineGenerated: false",
    "X-Autoresponse: no",
    "X-Autoresponse: false",
    "X-Mailer: Autoresponder Deluxe 2.0",
])
def test_vendor_autoreply_near_misses(world, header):
    assert_reply(world.decide(mail(header)))


def test_a_person_writing_about_the_header_gets_a_reply(world):
    body = ("Hi Ana,\n\nthat shop's reply carried Delivered-To: Autoresponder, so it was their\n"
            "qmail autoresponder, not a person. I'll call them on Monday.\n\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="Re: Autoresponder at the shop")))


def test_the_earlier_header_rules_still_decide_first(world):
    d = world.decide(mail("Auto-Submitted: auto-replied", "Delivered-To: Autoresponder"))
    assert_skip(d, "auto-submitted")
