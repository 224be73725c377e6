"""The vendor-autoreply rule: its hits and its near misses."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autoresponder.envelope import Envelope
from autoresponder.message import from_bytes
from autoresponder.rules import Context
from autoresponder.rules.vendor_autoreply import VendorAutoreply
from tests.rules.support import ACCOUNT, NOW, SENDER, assert_reply, assert_skip, mail


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


# --- properties (hypothesis): on the rule itself, no database needed ------------------------

_ATOM = st.text(alphabet=string.ascii_letters + string.digits + "._+-", min_size=1, max_size=20)


def _check(*headers: str) -> "str | None":
    raw = mail(*headers)
    ctx = Context(Envelope(SENDER, ACCOUNT), from_bytes(raw), None, NOW, lambda a: None)
    return VendorAutoreply().check(ctx)


@settings(max_examples=200, deadline=None)
@given(local=_ATOM, domain=_ATOM)
def test_a_delivered_to_address_is_never_a_hit(local, domain):
    """Postfix, Dovecot LMTP and qmail put the recipient's address there on every message."""
    assert _check(f"Delivered-To: {local}@{domain}") is None
    assert _check(f"Delivered-To: <{local}@{domain}>") is None


@settings(max_examples=200, deadline=None)
@given(word=st.sampled_from(["Autoresponder", "autoresponder", "AUTORESPONDER", "AutoResponder"]),
       before=st.sampled_from(["", " ", "\t"]), after=st.sampled_from(["", " ", "  "]))
def test_autorespond_marker_in_any_case_and_spacing_is_a_hit(word, before, after):
    assert _check(f"Delivered-To:{before}{word}{after}")


@settings(max_examples=200, deadline=None)
@given(value=st.text(alphabet=string.ascii_letters + string.digits + " ;,=-", max_size=40))
def test_a_message_class_without_autoresponder_is_never_a_hit(value):
    assume("autoresponder" not in value.lower())
    assert _check(f"X-POST-MessageClass: {value}") is None


@settings(max_examples=200, deadline=None)
@given(number=st.integers(min_value=0, max_value=99), space=st.sampled_from(["", " ", "  "]))
def test_any_class_number_with_autoresponder_is_a_hit(number, space):
    assert _check(f"X-POST-MessageClass: {number};{space}Autoresponder")
