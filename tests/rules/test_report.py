"""The report rule: its hits and its near misses."""

from __future__ import annotations

from autoresponder.envelope import Envelope
from autoresponder.message import from_bytes
from autoresponder.rules import Context
from autoresponder.rules import report as report_rule
from tests.rules.messages import ARF, CALENDAR_INVITE, EXIM_BOUNCE, MDN, POSTFIX_DSN
from tests.rules.support import ACCOUNT, NOW, SENDER, assert_reply, assert_skip, b, mail


def test_postfix_dsn_with_a_rewritten_envelope_is_still_a_report(world):
    # a forwarder that gave the bounce a return path, and From: robots not checked
    world.configure(rules="check_from_header = false")
    raw = POSTFIX_DSN.replace("Auto-Submitted: auto-replied\n", "")
    assert_skip(world.decide(b(raw), sender="fwd@relay.example.net"), "report",
                "multipart/report")


def test_report_rule_on_its_own_sees_dsn_and_exim_bounce(world):
    rule = report_rule.Report()
    for raw, words in ((POSTFIX_DSN, "delivery-status"),
                       (EXIM_BOUNCE, "X-Failed-Recipients")):
        ctx = Context(Envelope(SENDER, ACCOUNT), from_bytes(b(raw)), world.config, NOW,
                      lambda a: None)
        why = rule.check(ctx)
        assert why and words.lower() in why.lower()
    ctx = Context(Envelope(SENDER, ACCOUNT), from_bytes(mail()), world.config, NOW,
                  lambda a: None)
    assert rule.check(ctx) is None


def test_mdn_from_a_person_is_a_report(world):
    assert_skip(world.decide(b(MDN), sender=SENDER), "report", "disposition-notification")


def test_arf_feedback_report(world):
    assert_skip(world.decide(b(ARF), sender="abuse-reports@isp.example"), "report",
                "feedback-report")


def test_report_content_type_in_any_case(world):
    raw = mail(ctype='Multipart/REPORT; Report-Type="delivery-status"; boundary=b',
               body="--b\n\nx\n--b--\n")
    assert_skip(world.decide(raw), "report")


def test_single_part_delivery_status(world):
    raw = mail(ctype="message/delivery-status", body="Final-Recipient: rfc822; x@y.example\n")
    assert_skip(world.decide(raw), "report", "message/delivery-status")


def test_exim_bounce_failed_recipients_header(world):
    world.configure(rules="check_from_header = false")
    raw = EXIM_BOUNCE.replace("Auto-Submitted: auto-replied\n", "")
    assert_skip(world.decide(b(raw), sender="fwd@relay.example.net"), "report",
                "X-Failed-Recipients", "carl@example.net")


def test_report_near_misses(world):
    # an invitation (method=REQUEST) is a person's question, not a machine's answer
    assert_reply(world.decide(b(CALENDAR_INVITE)))
    # a person forwarding a message as an attachment
    fwd = ("--f\nContent-Type: text/plain\n\nSee below.\n--f\nContent-Type: message/rfc822\n\n"
           "From: carl@example.net\nSubject: Minutes\n\nHello\n--f--\n")
    assert_reply(world.decide(mail(ctype='multipart/mixed; boundary="f"', body=fwd)))
    # a person's subject that starts like a DMARC report's, without its Report-ID
    assert_reply(world.decide(mail(subject="Report domain: example.org, can you check?")))
