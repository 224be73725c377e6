"""`explain --at TIME` reads TIME where the account's dates are read: in the account's own zone
(vacation enable --timezone) when it has one, else in the config's (the real command line, in
this process, on a real SQLite file)."""

from __future__ import annotations

import json

from tests.conftest import personal
from tests.test_accounts import InProcessAgent

ANA = "ana@example.com"


def agent(tmp_path) -> InProcessAgent:
    a = InProcessAgent(tmp_path, timezone="Europe/Lisbon")
    # Ana lives in New York: her vacation ends at 09:00 there (14:00 UTC, 14:00 in Lisbon)
    a.admin("vacation", "enable", ANA, "--timezone", "America/New_York", "--start",
            "2027-01-04", "--end", "2027-01-10 09:00")
    a.admin("vacation", "enable", "rui@example.com")  # no zone of its own: Lisbon's
    return a


def explain(a, when: str, recipient: str = ANA, *extra: str):
    return a.run("explain", "--json", "--sender", "bob@example.org", "--recipient", recipient,
                 "--at", when, *extra, input=personal(to=recipient))


def answer(a, when: str, recipient: str = ANA) -> dict:
    r = explain(a, when, recipient)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_at_is_read_in_the_accounts_own_zone(tmp_path):
    a = agent(tmp_path)
    # 08:59 and 09:00 on New York's clock: the last minute of the vacation, then none
    last = answer(a, "2027-01-10 08:59")
    assert (last["evaluated_at"], last["at_timezone"]) == ("2027-01-10T13:59:00Z",
                                                           "America/New_York")
    assert last["decision"] == "reply"
    after = answer(a, "2027-01-10 09:00")
    assert after["evaluated_at"] == "2027-01-10T14:00:00Z"
    assert after["rule"] == "account"
    # read in Lisbon, 12:00 would be 12:00 UTC, still away; in New York it is 17:00 UTC
    noon = answer(a, "2027-01-10 12:00")
    assert noon["evaluated_at"] == "2027-01-10T17:00:00Z" and noon["rule"] == "account"
    # words are read on the account's calendar too: its start day begins at its midnight
    first = answer(a, "04/01/2027")
    assert first["evaluated_at"] == "2027-01-04T05:00:00Z" and first["decision"] == "reply"


def test_an_alias_or_the_original_recipient_finds_the_same_zone(tmp_path):
    a = agent(tmp_path)
    a.admin("vacation", "enable", ANA, "--alias", "ana.silva@example.com")
    assert answer(a, "2027-01-10 08:59", "ana.silva@example.com")["at_timezone"] == \
        "America/New_York"
    r = a.run("explain", "--json", "--sender", "bob@example.org", "--recipient",
              "ana+lists@example.com", "--original-recipient", ANA, "--at", "2027-01-10 08:59",
              input=personal())
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["at_timezone"] == "America/New_York"


def test_without_a_zone_of_its_own_the_configs_zone_reads_it(tmp_path):
    a = agent(tmp_path)
    v = answer(a, "2027-07-01 12:00", "rui@example.com")  # Lisbon summer time, +01:00
    assert (v["evaluated_at"], v["at_timezone"]) == ("2027-07-01T11:00:00Z", "Europe/Lisbon")
    nobody = answer(a, "2027-07-01 12:00", "nobody@example.com")
    assert (nobody["evaluated_at"], nobody["rule"]) == ("2027-07-01T11:00:00Z", "account")


def test_the_text_answer_names_the_zone_and_a_bad_time_is_refused(tmp_path):
    a = agent(tmp_path)
    r = a.run("explain", "--sender", "bob@example.org", "--recipient", ANA, "--at",
              "2027-01-10 08:59", input=personal())
    assert r.returncode == 0, r.stderr
    assert ("at:       2027-01-10T13:59:00Z (--at read in America/New_York, the zone of "
            "ana@example.com)") in r.stdout.decode()
    bad = explain(a, "blursday")
    assert bad.returncode != 0 and "blursday" in bad.stderr.decode()
