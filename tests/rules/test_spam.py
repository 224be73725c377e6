"""The spam rule: its hits and its near misses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the platforms most of our senders' mail passes through ----------------------------------

FOREFRONT = "X-Forefront-Antispam-Report: CIP:203.0.113.45;CTRY:XX;LANG:pt;{};SRV:;IPV:NLI;" \
            "H:mail.x.example;PTR:;SFS:(13230040);DIR:INB;"


@pytest.mark.parametrize("verdict, shown", [
    ("SCL:5;SFV:SPM", "SFV:SPM"),
    ("SCL:1;SFV:SKS", "SFV:SKS"),
    ("SCL:6;SFV:SKB", "SFV:SKB"),
    ("SFV:BLK", "SFV:BLK"),
    ("SCL:9;SFV:NSPM", "SCL:9"),
    ("SCL:1;SFV:NSPM;CAT:PHSH", "CAT:PHSH"),
    ("SCL:1;SFV:NSPM;CAT:HPHSH", "CAT:HPHSH"),
    ("SCL:1;SFV:NSPM;CAT:MALW", "CAT:MALW"),
])
def test_microsoft_365_forefront_verdicts(world, verdict, shown):
    assert_skip(world.decide(mail(FOREFRONT.format(verdict))), "spam", "Microsoft 365", shown)


@pytest.mark.parametrize("verdict", ["SCL:1;SFV:NSPM;CAT:NONE", "SCL:-1;SFV:SKN",
                                     "SCL:4;SFV:NSPM", "SFV:SFE;SCL:1", "SCL:junk;SFV:x"])
def test_microsoft_365_clean_verdicts(world, verdict):
    assert_reply(world.decide(mail(FOREFRONT.format(verdict))))


@pytest.mark.parametrize("scl, spam", [("-1", False), ("0", False), ("4", False), ("5", True),
                                       ("6", True), ("9", True), ("x", False)])
def test_exchange_organization_scl(world, scl, spam):
    d = world.decide(mail(f"X-MS-Exchange-Organization-SCL: {scl}"))
    if spam:
        assert_skip(d, "spam", "X-MS-Exchange-Organization-SCL", scl)
    else:
        assert_reply(d)


def test_a_forged_clean_verdict_never_overrides_a_spam_flag(world):
    """Clean verdicts are never read: a sender writing SCL:-1 gains nothing."""
    d = world.decide(mail("X-MS-Exchange-Organization-SCL: -1", "X-Spam-Flag: YES"))
    assert_skip(d, "spam", "X-Spam-Flag")


@pytest.mark.parametrize("header, spam", [
    ("X-Gm-Spam: 1", True), ("X-Gm-Phishy: 1", True), ("X-Gm-Spam: 0", False),
    ("X-Gm-Phishy: 0", False),
    ("X-Proofpoint-Spam-Details: rule=spam policy=default score=100 spamscore=100", True),
    ("X-Proofpoint-Spam-Details: rule=phish policy=default score=90", True),
    ("X-Proofpoint-Spam-Details: rule=notspam policy=default score=0 spamscore=0", False),
    ("X-Proofpoint-Spam-Details: rule=spam_outbound_notspam policy=spam_outbound score=0",
     False),
    ("X-Mimecast-Spam-Score: 18", True), ("X-Mimecast-Spam-Score: 5", True),
    ("X-Mimecast-Spam-Score: 0", False), ("X-Mimecast-Spam-Score: 0.003", False),
])
def test_google_proofpoint_mimecast(world, header, spam):
    d = world.decide(mail(header))
    if spam:
        assert_skip(d, "spam", header.split(":")[0])
    else:
        assert_reply(d)


@given(tokens=st.lists(st.tuples(st.sampled_from(["CIP", "CTRY", "LANG", "SCL", "SRV", "IPV",
                                                  "SFV", "H", "PTR", "CAT", "SFS", "DIR"]),
                                 st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                                blacklist_characters=";\r\n"),
                                         max_size=12)), max_size=12))
@settings(max_examples=200, deadline=None)
def test_forefront_parsing_matches_a_reference_reading(tokens):
    """Any report: a verdict exactly when the first SFV, SCL or CAT says spam."""
    from autoresponder.message import from_bytes
    from autoresponder.rules.spam import platform_verdict

    value = ";".join(f"{k}:{v}" for k, v in tokens) + ";"
    first = {}
    for k, v in tokens:
        first.setdefault(k, v.strip())
    scl = first.get("SCL", "")
    try:
        scl_spam = int(scl) >= 5
    except ValueError:
        scl_spam = False
    want = (first.get("SFV", "").upper() in ("SPM", "SKS", "SKB", "BLK")
            or first.get("CAT", "").upper() in ("SPM", "HSPM", "PHSH", "HPHSH", "HPHISH", "MALW")
            or scl_spam)
    got = platform_verdict(from_bytes(mail(f"X-Forefront-Antispam-Report: {value}")))
    assert (got is not None) == want, (value, got)
