"""The auth-failure rule: its hits and its near misses.

It trusts only Authentication-Results from the configured authserv-id (off by default).
"""

from __future__ import annotations

import json

from tests.conftest import Agent, personal
from tests.rules.support import assert_reply, assert_skip, mail

AR = ("Authentication-Results: mx.example.com; spf=fail smtp.mailfrom=example.org;\n"
      " dmarc=fail (p=reject) header.from=example.org")


def test_auth_failure_only_with_our_authserv_id(world):
    assert_reply(world.decide(mail(AR)))
    world.configure(rules='authserv_id = "mx.example.com"')
    assert_skip(world.decide(mail(AR)), "auth-failure", "spf=fail", "mx.example.com")
    assert_reply(world.decide(mail(AR.replace("=fail", "=pass"))))


# --- end to end through `explain --json` (was tests/test_auth_rule.py)

# SPF and DMARC results to fill in
AR2 = "Authentication-Results: mx.example.com; spf={spf} smtp.mailfrom=bob@example.org;\n" \
      " dkim=none; dmarc={dmarc} (p=reject) header.from=example.org\n"


def explain(a: Agent, msg: bytes) -> dict:
    r = a.run("explain", "--json", "--sender", "bob@example.org", "--recipient",
              "ana@example.com", input=msg)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_spf_or_dmarc_failure_from_our_mta_skips(tmp_path):
    a = Agent(tmp_path)
    a.write_config(extra='[rules]\nauthserv_id = "mx.example.com"\n')
    a.admin("vacation", "enable", "ana@example.com")
    d = explain(a, personal(extra=AR2.format(spf="fail", dmarc="pass")))
    assert (d["decision"], d["rule"]) == ("skip", "auth-failure")
    assert "spf=fail" in d["reason"]
    d = explain(a, personal(extra=AR2.format(spf="pass", dmarc="fail")))
    assert d["rule"] == "auth-failure" and "dmarc=fail" in d["reason"]
    # near misses: softfail, and passes
    assert explain(a, personal(extra=AR2.format(spf="softfail", dmarc="none")))["decision"] == \
        "reply"
    assert explain(a, personal(extra=AR2.format(spf="pass", dmarc="pass")))["decision"] == "reply"


def test_results_from_another_authserv_id_or_with_the_rule_off_are_ignored(tmp_path):
    a = Agent(tmp_path)
    a.write_config(extra='[rules]\nauthserv_id = "mx.example.com"\n')
    a.admin("vacation", "enable", "ana@example.com")
    forged = AR2.format(spf="fail", dmarc="fail").replace("mx.example.com", "evil.example.net")
    assert explain(a, personal(extra=forged))["decision"] == "reply"
    (tmp_path / "off").mkdir()
    b = Agent(tmp_path / "off")
    b.admin("vacation", "enable", "ana@example.com")
    assert explain(b, personal(extra=AR2.format(spf="fail", dmarc="fail")))["decision"] == "reply"
