"""The esp rule: marketing platforms known by their own fields, and the relays whose fields
alone decide nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoresponder.rules.esp import ses_return_path
from tests.rules.support import assert_reply, assert_skip, mail

SES = "0102019375a1b2c3-8d9e0f1a-2b3c-4d5e-6f70-8192a3b4c5d6-000000@eu-west-1.amazonses.com"


@pytest.mark.parametrize("header, vendor", [
    ("X-elqSiteID: 1748293651", "Eloqua"),
    ("X-elqPod: 0x8A31F29C4D7E10B5", "Eloqua"),
    ("X-MarketoID: 609-KQB-437:90213:54321:1234567:0", "Marketo"),
    ("X-MktMailDKIM: true", "Marketo"),
    ("X-SFMC-Stack: 11", "Salesforce Marketing Cloud"),
    ("X-HS-Cid: 1axfanp4mrbz4cmkfutffu15eigxtiailgmstc", "HubSpot"),
    ("X-MC-User: 6c3f18b0a9e2d47c1b5f0a2e9", "Mailchimp"),
    ("X-CSA-Complaints: csa-complaints@eco.de", "CSA"),
])
def test_marketing_platform_fields(world, header, vendor):
    assert_skip(world.decide(mail(header)), "esp", vendor, header.split(":")[0])


def test_ses_with_its_own_bounce_address_as_envelope_sender(world):
    d = world.decide(mail("X-SES-Outgoing: 2026.11.30-54.240.4.12"), sender=SES)
    assert_skip(d, "esp", "Amazon SES", SES)


def test_ses_through_a_custom_mail_from_domain(world):
    custom = SES.split("@")[0] + "@mail.clinica-sorriso.example"
    assert_skip(world.decide(mail("X-SES-Outgoing: 2026.11.30-54.240.4.12"), sender=custom),
                "esp", "Amazon SES")


def test_a_person_relaying_through_ses_with_their_own_envelope_gets_a_reply(world):
    """WorkMail and apps that keep the person's own return path: the relay says nothing."""
    assert_reply(world.decide(mail("X-SES-Outgoing: 2026.11.30-54.240.4.12",
                                   "Feedback-ID: 1.eu-west-1.abc=:AmazonSES")))


def test_sendgrid_field_alone_is_not_marketing(world):
    """People post to mailing lists through SendGrid's SMTP relay; its envelope sender is
    always its bounces+ address, which system-sender skips anyway."""
    assert_reply(world.decide(mail("X-SG-EID: u001.Kq3rT9wL2mN5pB8vC1xZ4yA7sD0fG3hJ6kL9qW2eR5tY8")))
    d = world.decide(mail("X-SG-EID: u001.Kq3rT9"),
                     sender="bounces+3456789-9f1c-ana=example.com@em4521.ginasio-forma.example")
    assert_skip(d, "system-sender", "bounce")


@pytest.mark.parametrize("header", [
    "X-Mailer: Microsoft Outlook 16.0",
    "Feedback-ID: 1.eu-west-1.abc=:AmazonSES",
    "X-Campaign-Notes: lunch",
    "X-MC-Unique: BTPm3sR5PMiECZguCglBvA-1",  # Mimecast's id, not Mailchimp's X-MC-User
])
def test_near_misses(world, header):
    assert_reply(world.decide(mail(header)))


@given(parts=st.tuples(*(st.text("0123456789abcdef", min_size=n, max_size=n)
                         for n in (16, 8, 4, 4, 4, 12))),
       domain=st.sampled_from(["eu-west-1.amazonses.com", "amazonses.com", "mail.shop.example"]))
def test_every_ses_message_id_return_path_is_recognised(parts, domain):
    assert ses_return_path("-".join(parts) + "-000000@" + domain)


@given(local=st.from_regex(r"[a-z][a-z0-9.\-]{0,30}", fullmatch=True))
def test_people_at_other_domains_are_not_ses(local):
    assert not ses_return_path(f"{local}@example.org") or local.endswith("-000000")
