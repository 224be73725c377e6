"""Issue 13 wired through every entry point, on SQLite and on a real PostgreSQL: the account's
time zone, queued absences, weekly windows and their 24 h floor, audiences, the From choice,
group mail, acknowledgement mailboxes under the caps, and postfix-map's upcoming accounts.

Admin commands and `explain` run the real command line (in this process, as
tests/test_accounts.py does); deliveries run the one delivery line (``line.Line``) on the
real store with an explicit clock, so dates a year ahead and daylight-saving nights are
exact. Replies are captured by the transport ``explain`` uses.
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from autoresponder import config as config_mod
from autoresponder.envelope import Envelope
from autoresponder.line import Line
from autoresponder.message import from_bytes
from autoresponder.store import open_store
from autoresponder.transports.capture import CaptureTransport
from tests.conftest import personal
from tests.test_accounts import InProcessAgent

ANA = "ana@example.com"
ALIAS = "ana.silva@example.com"
LISBON = ZoneInfo("Europe/Lisbon")


def at(text: str, zone=LISBON) -> float:
    """A wall-clock time in Lisbon (or `zone`) as a Unix time."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


class Site(InProcessAgent):
    """The command line on one database, plus deliveries through the line at a given time."""

    def setup(self, rules: str = "", **top) -> None:
        top.setdefault("timezone", "Europe/Lisbon")
        top.setdefault("autoreply_domain", "autoreply.example.com")
        self.top, self.rules = top, rules
        self.write_config(extra=rules, **top)

    def deliver_at(self, when: float, message: bytes | None = None,
                   sender: str = "bob@example.org", recipient: str = ANA,
                   original: str = ""):
        """(Result, the captured reply or None) of one delivery at `when`."""
        config = config_mod.load(str(self.config))
        store = open_store(config)
        t = CaptureTransport()
        try:
            env = Envelope(sender, recipient, original, config.autoreply_domain,
                           config.recipient_delimiter)
            r = Line(config, store, t).run(env, from_bytes(message or personal(sender)), when)
        finally:
            store.close()
        assert len(t.sent) <= 1
        if not t.sent:
            return r, None
        return r, email.message_from_bytes(t.sent[0].data, policy=email.policy.default)

    def show(self, address: str = ANA) -> dict:
        return json.loads(self.admin("vacation", "show", address, "--json").stdout)

    def explain(self, msg: bytes, when: str, sender: str = "bob@example.org",
                *extra: str) -> dict:
        r = self.run("explain", "--json", "--sender", sender, "--recipient", ANA,
                     "--at", when, *extra, input=msg)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture(params=["sqlite", "postgres"])
def site(request, tmp_path, monkeypatch) -> Site:
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    s = Site(tmp_path)
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        s.db = cluster.url(cluster.new_database("sched"))
    s.setup()
    return s


def rule(result) -> str:
    return result.decision.rule


# --- the account's zone --------------------------------------------------------------------

def test_end_is_wall_clock_in_the_account_zone_across_dst(site):
    site.admin("vacation", "enable", ANA, "--timezone", "Europe/Lisbon", "--start",
               "2027-03-20", "--end", "2027-03-28 09:00")
    v = site.show()
    # saved in winter (+00:00), ends at 09:00 on the clock in summer time (+01:00)
    assert (v["zone"], v["end_local"], v["end_at"]) == (
        "Europe/Lisbon", "2027-03-28 09:00 WEST", "2027-03-28T08:00:00Z")
    r, reply = site.deliver_at(at("2027-03-28T08:59"))
    assert rule(r) == "reply" and reply is not None
    r, reply = site.deliver_at(at("2027-03-28T09:00"), sender="carl@example.net")
    assert rule(r) == "account" and reply is None
    assert "2027-03-28 09:00 WEST" in r.decision.reason
    # another zone: the same wall-clock times, read there (the owner moved)
    site.admin("vacation", "enable", ANA, "--timezone", "America/New_York")
    v = site.show()
    assert (v["end_local"], v["end_at"]) == ("2027-03-28 09:00 EDT", "2027-03-28T13:00:00Z")
    r, _ = site.deliver_at(at("2027-03-28T12:59", ZoneInfo("UTC")), sender="dora@example.net")
    assert rule(r) == "reply"
    # back to the config's zone
    site.admin("vacation", "enable", ANA, "--timezone", "none")
    assert site.show()["zone"] == "Europe/Lisbon"


def test_bad_zones_are_refused_with_a_clear_error(site):
    r = site.run("vacation", "enable", ANA, "--timezone", "Mars/Olympus_Mons")
    assert r.returncode == 65
    assert b"--timezone" in r.stderr and b"unknown time zone 'Mars/Olympus_Mons'" in r.stderr
    site.write_config(timezone="Mars/Base")
    r = site.run("vacation", "list")
    assert r.returncode == 78
    assert str(site.config).encode() in r.stderr and b"'timezone'" in r.stderr


def test_a_time_in_the_spring_gap_happens_when_the_gap_ends(site):
    # 01:30 does not exist in Lisbon on 2027-03-28: it happens at 02:00 WEST (01:00 UTC)
    site.admin("vacation", "enable", ANA, "--start", "2027-03-28 01:30")
    assert site.show()["start_at"] == "2027-03-28T01:00:00Z"
    assert rule(site.deliver_at(at("2027-03-28T00:59:59", ZoneInfo("UTC")))[0]) == "account"
    assert rule(site.deliver_at(at("2027-03-28T01:00", ZoneInfo("UTC")))[0]) == "reply"


# --- queued absences -------------------------------------------------------------------------

def test_queued_absences_answer_in_turn_each_with_its_own_reply_and_handle(site):
    site.admin("vacation", "enable", ANA, "--message", "Away.", "--interval", "30d")
    site.admin("vacation", "add-absence", ANA, "--start", "2027-04-01", "--end", "2027-04-10",
               "--subject", "Easter holidays")
    site.admin("vacation", "add-absence", ANA, "--start", "2027-04-11", "--end",
               "2027-04-20", "--subject", "At a conference", "--message", "In Porto.")
    v = site.show()
    assert [a["what"] for a in v["absences"]] == [
        "absence from 2027-04-01 through 2027-04-10",
        "absence from 2027-04-11 through 2027-04-20"]
    first, second = (a["id"] for a in v["absences"])
    # before both: nothing answers (the account has no dates of its own)
    r, _ = site.deliver_at(at("2027-03-25T12:00"))
    assert rule(r) == "account" and "2027-04-01 00:00 WEST" in r.decision.reason
    r, reply = site.deliver_at(at("2027-04-02T12:00"))
    assert rule(r) == "reply" and reply["Subject"] == "Easter holidays"
    assert "Away." in reply.get_body(("plain",)).get_content()
    assert r.outcome.name == "reply"
    r, _ = site.deliver_at(at("2027-04-03T12:00"))
    assert r.outcome.name == "already-replied"
    # the next absence is a new handle: the same sender gets its reply, 10 days later
    # although the interval is 30 days
    r, reply = site.deliver_at(at("2027-04-12T12:00"))
    assert rule(r) == "reply" and reply["Subject"] == "At a conference"
    assert r.plan.source.id == second
    r, _ = site.deliver_at(at("2027-04-13T12:00"))
    assert r.outcome.name == "already-replied"
    # removing the first: its dates answer no more
    site.admin("vacation", "remove-absence", ANA, str(first))
    r, _ = site.deliver_at(at("2027-04-02T12:00"), sender="eve@example.net")
    assert rule(r) == "account"
    assert site.run("vacation", "remove-absence", ANA, str(first)).returncode == 65


def test_show_and_list_tell_the_current_answer_and_the_next_change(site):
    site.admin("vacation", "enable", ANA, "--start", "2026-01-01", "--end", "2027-06-30")
    site.admin("vacation", "add-absence", ANA, "--start", "2027-06-15", "--end", "2027-08-01",
               "--subject", "Summer")
    v = site.show()
    assert v["in_force"] and v["answering"]["what"] == \
        "absence from 2026-01-01 through 2027-06-30"
    # the absence that started first keeps answering; then the queued one takes over
    assert v["next_change"] == "2027-07-01 00:00 WEST"
    assert v["next"]["what"] == "absence from 2027-06-15 through 2027-08-01"
    assert v["next"]["item"] == v["absences"][0]["id"]
    rows = json.loads(site.admin("vacation", "list", "--json").stdout)
    assert rows[0]["next_change"] == "2027-07-01 00:00 WEST"
    text = site.admin("vacation", "list").stdout.decode()
    assert "NEXT CHANGE" in text and "Europe/Lisbon" in text
    text = site.admin("vacation", "show", ANA).stdout.decode()
    assert "absence #" in text and "Summer" in text and "next:" in text


# --- weekly windows ----------------------------------------------------------------------------

def test_window_occurrences_are_handles_but_never_two_replies_in_24h(site):
    site.admin("vacation", "enable", ANA, "--interval", "7d")
    site.admin("vacation", "add-window", ANA, "seg a sex das 12h às 13h", "--subject",
               "At lunch")
    assert site.show()["windows"][0]["what"] == "Mon-Fri 12:00-13:00"
    # Monday 5 April 2027
    r, reply = site.deliver_at(at("2027-04-05T12:30"))
    assert rule(r) == "reply" and reply["Subject"] == "At lunch"
    assert r.outcome.name == "reply"
    assert site.deliver_at(at("2027-04-05T12:45"))[0].outcome.name == "already-replied"
    # Tuesday's lunch is a new occurrence, but only 23 h 40 after Monday's reply
    r, _ = site.deliver_at(at("2027-04-06T12:10"))
    assert r.outcome.name == "already-replied" and "2027-04-06T11:30:00Z" in \
        r.decision.reason
    # another sender is not held back
    assert site.deliver_at(at("2027-04-06T12:10"), sender="carl@example.net")[0] \
        .outcome.name == "reply"
    # Wednesday: more than a day later, a new occurrence: answered although the interval is
    # a week
    assert site.deliver_at(at("2027-04-07T12:40"))[0].outcome.name == "reply"
    # outside the window: nothing answers
    r, _ = site.deliver_at(at("2027-04-07T14:00"), sender="dora@example.net")
    assert rule(r) == "account"


def test_weekend_window_across_the_spring_change_and_with_an_end_date(site):
    site.admin("vacation", "enable", ANA)
    site.admin("vacation", "add-window", ANA, "Fri 14:00 - Mon 08:00 until 2027-04-30")
    senders = iter(f"s{i}@example.net" for i in range(20))
    for when, expected in [("2027-03-26T13:59", "account"), ("2027-03-26T14:00", "reply"),
                           ("2027-03-28T03:00", "reply"), ("2027-03-29T07:59", "reply"),
                           ("2027-03-29T08:00", "account"), ("2027-04-30T20:00", "reply"),
                           ("2027-05-01T00:00", "account"), ("2027-05-07T15:00", "account")]:
        r, _ = site.deliver_at(at(when), sender=next(senders))
        assert rule(r) == expected, when
    r = site.run("vacation", "add-window", ANA, "Fri 14:00")
    assert r.returncode == 65 and b"expected '-' and an end" in r.stderr


def test_explain_shows_the_answering_window_in_the_account_zone(site):
    site.admin("vacation", "enable", ANA)
    site.admin("vacation", "add-window", ANA, "Fri 14:00 - Mon 08:00")
    d = site.explain(personal(), "2027-04-03 10:00")
    assert d["decision"] == "reply"
    assert d["answer"]["what"] == "Fri 14:00 - Mon 08:00"
    assert d["answer"]["timezone"] == "Europe/Lisbon" and d["answer"]["floor"] == 86400
    step = [c for c in d["checks"] if c["rule"] == "answer"][0]
    assert "from 2027-04-02 14:00 WEST until 2027-04-05 08:00 WEST" in step["reason"]
    d = site.explain(personal(), "2027-04-05 09:00")
    assert d["rule"] == "account" and "2027-04-09 14:00 WEST" in d["reason"]


# --- audiences -------------------------------------------------------------------------------

def test_outsiders_get_the_external_reply_and_colleagues_the_internal_one(site):
    site.admin("vacation", "enable", ANA, "--subject", "Fora do escritório",
               "--external-subject", "Out of office", "--external-message", "Write to "
               "info@example.com.", "--internal-domain", "partner.example")
    _, reply = site.deliver_at(at("2027-04-05T10:00"), sender="bob@example.org")
    assert reply["Subject"] == "Out of office"
    assert "info@example.com" in reply.get_body(("plain",)).get_content()
    _, reply = site.deliver_at(at("2027-04-05T10:00"), sender="joao@example.com")
    assert reply["Subject"] == "Fora do escritório"
    _, reply = site.deliver_at(at("2027-04-05T10:00"), sender="luis@partner.example")
    assert reply["Subject"] == "Fora do escritório"
    # colleagues only
    site.admin("vacation", "enable", ANA, "--external", "none")
    r, reply = site.deliver_at(at("2027-04-05T11:00"), sender="zoe@example.org")
    assert (rule(r), reply) == ("audience", None)
    d = site.explain(personal("zoe@example.org"), "2027-04-05 11:00", "zoe@example.org")
    assert (d["rule"], d["outcome"]) == ("audience", "audience")
    assert site.show()["outsiders"] == "no reply (colleagues only)"
    r = site.run("vacation", "enable", ANA, "--internal-domain", "user@example.org")
    assert r.returncode == 65 and b"is not a domain" in r.stderr


def test_config_internal_domains_must_be_domains(site):
    site.setup(internal_domains=["example.org", "*.example.net", "not a domain"])
    r = site.run("vacation", "list")
    assert r.returncode == 78 and b"'internal_domains'" in r.stderr


# --- the From address ------------------------------------------------------------------------

def test_reply_from_account_addressed_or_one_own_address(site):
    site.admin("vacation", "enable", ANA, "--alias", ALIAS, "--reply-from", "addressed")
    _, reply = site.deliver_at(at("2027-04-05T10:00"), personal(to=ALIAS), recipient=ALIAS)
    assert ALIAS in reply["From"] and reply["Message-ID"].endswith("@example.com>")
    _, reply = site.deliver_at(at("2027-04-05T10:00"), personal("carl@example.net"),
                               sender="carl@example.net")
    assert f"<{ANA}>" in reply["From"] or reply["From"] == ANA
    site.admin("vacation", "enable", ANA, "--reply-from", ALIAS.upper())
    _, reply = site.deliver_at(at("2027-04-05T10:00"), personal("dora@example.net"),
                               sender="dora@example.net")
    assert ALIAS in reply["From"]
    r = site.run("vacation", "enable", ANA, "--reply-from", "boss@example.com")
    assert r.returncode == 65 and b"not one of ana@example.com's own addresses" in r.stderr
    assert site.show()["reply_from"] == ALIAS
    site.admin("vacation", "enable", ANA, "--reply-from", "account")
    _, reply = site.deliver_at(at("2027-04-05T10:00"), personal("eve@example.net"),
                               sender="eve@example.net")
    assert ALIAS not in reply["From"] and ANA in reply["From"]


# --- group mail ------------------------------------------------------------------------------

GROUP = personal(to="equipa@example.com")


def test_group_mail_gets_no_reply_by_default(site):
    site.admin("vacation", "enable", ANA)
    r, reply = site.deliver_at(at("2027-04-05T10:00"), GROUP, original="equipa@example.com")
    assert (rule(r), reply) == ("not-addressed", None)
    assert "sent to equipa@example.com" in r.decision.reason
    # Postfix's recipient_bcc_maps copy: the original recipient is the copy address itself
    copy = "ana#example.com@autoreply.example.com"
    r, _ = site.deliver_at(at("2027-04-05T10:00"), GROUP, recipient=copy, original=copy)
    assert rule(r) == "not-addressed"
    # the envelope said nothing: the topmost X-Original-To does
    r, _ = site.deliver_at(at("2027-04-05T10:00"), b"X-Original-To: equipa@example.com\n"
                           + GROUP)
    assert rule(r) == "not-addressed" and "equipa@example.com" in r.decision.reason
    # named in Cc: personal after all
    r, _ = site.deliver_at(at("2027-04-05T10:00"), personal(
        to="equipa@example.com", extra=f"Cc: {ANA}\n"), original="equipa@example.com")
    assert rule(r) == "reply"


def test_group_mail_answered_per_account_or_by_config(site):
    site.admin("vacation", "enable", ANA, "--answer-group-mail")
    r, reply = site.deliver_at(at("2027-04-05T10:00"), GROUP, original="equipa@example.com")
    assert rule(r) == "reply" and reply is not None
    site.setup(rules="[rules]\nanswer_group_mail = true\n")
    site.admin("vacation", "enable", ANA, "--no-answer-group-mail")
    r, _ = site.deliver_at(at("2027-04-05T10:00"), GROUP, sender="carl@example.net",
                           original="equipa@example.com")
    assert rule(r) == "not-addressed"
    assert site.show()["group_mail"] == "no reply"


# --- acknowledgement mailboxes -----------------------------------------------------------------

def test_interval_zero_answers_every_message_within_the_hourly_cap(site):
    site.setup(rules="[rate_limit]\nper_account = 3\n")
    site.admin("vacation", "enable", ANA, "--interval", "0")
    t = at("2027-04-05T10:00")
    outcomes = [site.deliver_at(t + i)[0].outcome.name for i in range(4)]
    assert outcomes == ["reply", "reply", "reply", "rate-limit"]
    d = site.explain(personal("other@example.net"), "2027-04-05 12:00", "other@example.net")
    note = [c for c in d["checks"] if c["rule"] == "interval"][0]["reason"]
    assert "every message gets a reply" in note and "3 replies per 1h" in note


# --- postfix-map -------------------------------------------------------------------------------

def test_postfix_map_lists_accounts_with_anything_upcoming(site):
    for who in ("a", "b", "c", "d"):
        site.admin("vacation", "enable", f"{who}@example.com")
    site.admin("vacation", "add-absence", "a@example.com", "--start", "2027-06-01",
               "--end", "2027-06-10")
    site.admin("vacation", "enable", "b@example.com", "--end", "2027-01-01")
    site.admin("vacation", "add-window", "c@example.com", "Fri until 2027-03-01")
    site.admin("vacation", "add-window", "d@example.com", "Sat-Sun")

    def keys(when: str) -> set:
        out = site.admin("postfix-map", "--at", str(at(when))).stdout.decode()
        return {line.split()[0] for line in out.splitlines() if not line.startswith("#")}

    assert keys("2027-02-01T12:00") == {"a@example.com", "c@example.com", "d@example.com"}
    assert keys("2027-05-01T12:00") == {"a@example.com", "d@example.com"}
    assert keys("2027-06-11T12:00") == {"d@example.com"}


# --- never a From that is not the account's (property) -----------------------------------------

from types import SimpleNamespace  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ADDR = st.sampled_from([ANA, ALIAS, "boss@example.com", "ana@example.com.evil.example",
                         "ANA.SILVA@EXAMPLE.COM", "ana+x@example.com", "eve@example.org",
                         '"ana@example.com" <eve@example.org>', "garbage <", ""])


@settings(max_examples=200, deadline=None)
@given(setting=st.one_of(st.none(), st.sampled_from(["account", "addressed"]), _ADDR),
       to=st.lists(_ADDR, max_size=3), cc=st.lists(_ADDR, max_size=2),
       original=_ADDR, recipient=_ADDR)
def test_the_reply_never_comes_from_an_address_not_the_account_s(setting, to, cc, original,
                                                                  recipient):
    from autoresponder import answer, reply
    from autoresponder.store.base import Account

    acct = Account(address=ANA, enabled=True, start_at=None, end_at=None, subject=None,
                   message=None, template="default", language=None, interval_seconds=None,
                   from_name=None, handle="h", created_at="", updated_at="",
                   aliases=[ALIAS], reply_from=setting)
    head = "".join(f"To: {t}\n" for t in to) + "".join(f"Cc: {c}\n" for c in cc)
    msg = from_bytes((head + "Subject: x\n\nbody\n").encode())
    env = Envelope("bob@example.org", recipient, original, "", "+")
    cfg = SimpleNamespace(recipient_delimiter="+")
    chosen = answer.from_address(acct, env, msg, cfg)
    assert chosen in acct.addresses()
    acct.reply_from = chosen
    assert reply.from_address(acct) in acct.addresses()
    acct.reply_from = setting  # whatever was stored, reply.build never strays either
    assert reply.from_address(acct) in acct.addresses()


def test_template_preview_shows_the_reply_delivery_would_send_now(site):
    """The preview answers as delivery would at this moment: the absence in force (an open
    one, started in the past), the sender's audience, the From choice."""
    site.admin("vacation", "enable", ANA, "--alias", ALIAS, "--reply-from", ALIAS,
               "--external-subject", "Out of office")
    site.admin("vacation", "add-absence", ANA, "--start", "2020-01-01", "--subject",
               "Parental leave")
    out = site.admin("template", "preview", ANA, "--sender", "joao@example.com").stdout
    assert b"Subject: Parental leave" in out and f"From: {ALIAS}".encode() in out
    out = site.admin("template", "preview", ANA, "--sender", "bob@example.org").stdout
    assert b"Subject: Out of office" in out
