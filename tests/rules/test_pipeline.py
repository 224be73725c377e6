"""All the rules together."""

from __future__ import annotations

import pytest

from autoresponder.rules import all_rules
from tests.rules.messages import (CALENDAR_INVITE, EXCHANGE_OOF, GITHUB_NOTIFICATION,
                                  MAILMAN3_POST, POSTFIX_DSN, QMAIL_BOUNCE)
from tests.rules.support import ACCOUNT, SENDER, assert_reply, assert_skip, b, mail


def test_a_plain_personal_message_gets_a_reply(world):
    trace: list = []
    assert_reply(world.decide(mail(), trace=trace))
    assert [c["rule"] for c in trace] == [r.name for r in all_rules()]
    assert all(c["result"] == "pass" for c in trace)


def test_crlf_line_endings_read_like_lf(world):
    assert_reply(world.decide(mail(eol="\r\n")))
    assert_skip(world.decide(mail("Precedence: bulk", eol="\r\n")), "precedence", "bulk")


def test_realistic_messages_of_other_systems(world):
    assert_skip(world.decide(b(EXCHANGE_OOF), sender="carla@contoso.example"),
                "auto-submitted")
    assert_skip(world.decide(b(GITHUB_NOTIFICATION),
                             sender="noreply@github.example"), "system-sender")
    assert_skip(world.decide(b(GITHUB_NOTIFICATION),
                             sender="bounces+1234-abcd-ana=example.com@sgmail.github.example"),
                "system-sender")
    world.configure(rules="check_from_header = false")
    assert_skip(world.decide(b(GITHUB_NOTIFICATION), sender="ghmail@github.example"),
                "precedence")
    assert_skip(world.decide(b(MAILMAN3_POST.replace("Precedence: list\n", "")),
                             sender="devel-bounces+ana=example.com@lists.example.org"),
                "system-sender")
    assert_skip(world.decide(b(MAILMAN3_POST.replace("Precedence: list\n", "")),
                             sender="devel@lists.example.org"), "list", "List-Id")
    assert_reply(world.decide(b(CALENDAR_INVITE)))


@pytest.mark.parametrize("subject", [
    "Férias de Natal — almoço?",
    "=?UTF-8?Q?F=C3=A9rias_de_Natal?=",
    "=?ISO-8859-1?B?RulyaWFz?= e almoço",
    "=?utf-8?b?5pel5pys6Kqe44Gu5Lu25ZCN?=",
    "Re: Auto: your question",
    "",
])
def test_subjects_do_not_matter(world, subject):
    assert_reply(world.decide(mail(subject=subject)))


def test_no_subject_at_all(world):
    assert_reply(world.decide(mail(subject=None)))


def test_html_only_mail(world):
    assert_reply(world.decide(mail(ctype="text/html; charset=utf-8",
                                   body="<html><body><p>Lunch?</p></body></html>\n")))


def test_multipart_alternative_mail(world):
    body = ("--alt\nContent-Type: text/plain; charset=utf-8\n\nLunch?\n"
            "--alt\nContent-Type: text/html; charset=utf-8\n\n<p>Lunch?</p>\n--alt--\n")
    assert_reply(world.decide(mail(ctype='multipart/alternative; boundary="alt"', body=body)))


def test_reply_to_differs_from_from(world):
    assert_reply(world.decide(mail("Reply-To: Bob at Work <bob@work.example.net>")))


def test_8bit_latin1_headers_are_tolerated(world):
    raw = mail(subject="placeholder").replace(b"placeholder", "Férias".encode("latin-1"))
    assert_reply(world.decide(raw))


def test_explain_json_end_to_end(world):
    d = world.explain(mail())
    assert (d["decision"], d["rule"], d["account"]) == ("reply", "reply", ACCOUNT)
    assert "bob@example.org" in d["reply"]["to"] and d["reply"]["envelope_from"] == ""
    # the near misses get a reply preview too (the reply renders for them)
    for msg in (mail(ctype="text/html; charset=utf-8", body="<p>Almo\u00e7o?</p>\n"),
                mail(subject="=?UTF-8?Q?F=C3=A9rias_=E2=80=94_almo=C3=A7o=3F?="),
                mail(subject="Férias — almoço?"),
                mail("Reply-To: Bob at Work <bob@work.example.net>", "Auto-Submitted: no",
                     "Precedence: normal", "X-Auto-Response-Suppress: DR, NDR")):
        d = world.explain(msg)
        assert (d["decision"], d["rule"]) == ("reply", "reply"), d
        assert "bob@example.org" in d["reply"]["to"] and "work" not in d["reply"]["to"]
    d = world.explain(mail(subject="=?UTF-8?Q?F=C3=A9rias?="))
    assert d["reply"]["subject"] == "Auto: Férias"  # decoded, RFC 3834 §3.1.5
    d = world.explain(b(POSTFIX_DSN), "")
    assert (d["decision"], d["rule"]) == ("skip", "null-sender")
    assert d["sender"] == ""
    d = world.explain(mail(to="team@example.org"))
    assert (d["decision"], d["rule"]) == ("skip", "not-addressed")
    d = world.explain(b(QMAIL_BOUNCE), "mail@mx.oldhost.example")
    assert (d["decision"], d["rule"]) == ("skip", "bounce")
    names = [c["rule"] for c in d["checks"]]
    assert names == [r.name for r in all_rules()]
    assert d["checks"][-1]["result"] == "skip"


def test_explain_json_at_a_time_outside_the_vacation(world):
    world.enable(start_at="2026-12-20T00:00:00Z", end_at="2027-01-04T00:00:00Z")
    # (day 15: unambiguous; ISO dates with a day <= 12 are covered in test_dates.py)
    d = world.explain(mail(), SENDER, ACCOUNT, "--at", "2026-12-15")
    assert (d["decision"], d["rule"]) == ("skip", "account")
    assert d["evaluated_at"] == "2026-12-15T00:00:00Z"
    d = world.explain(mail(), SENDER, ACCOUNT, "--at", "2026-12-24 12:00")
    assert d["decision"] == "reply"
