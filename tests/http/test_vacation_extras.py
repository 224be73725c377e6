"""Issue 13's settings as extra VacationResponse properties, in-process (build_app on aiohttp's
test server) on a real SQLite file and on a real PostgreSQL: the wall-clock dates across
daylight-saving changes, absences and windows keeping their ids and keys, the audience, From
and group-mail settings, and each reaching delivery at once (the one delivery line, with an
explicit clock); bad input writing nothing; a client without the capability seeing none of
it; the CLI's `vacation-response` and `vacation` commands agreeing with the API."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from autoresponder.http import vacation
from tests.conftest import personal
from tests.http.conftest import ANA, BOB, CORE, EXTRA, VAC, Site
from tests.http.conftest import request as jmap_request
from tests.http.test_jmap_api import GET, SET, api, one

LISBON = ZoneInfo("Europe/Lisbon")
ALIAS = "ana.silva@example.com"
RICH = (CORE, VAC, EXTRA)


def at(text: str, zone=LISBON) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


@pytest.fixture(params=["sqlite", "postgres"])
async def xenv(request, tmp_path, client_for):
    """(site, client, tokens) on SQLite or PostgreSQL; the config's zone is Lisbon."""
    url = None
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.url(cluster.new_database("jmx"))
    site = Site(tmp_path, database=url, top='timezone = "Europe/Lisbon"\n'
                                            'autoreply_domain = "autoreply.example.com"\n')
    site.enable(ANA, message="Ana is away.", subject="Away")
    site.enable(BOB, message="Bob is away.")
    c = await client_for(site)
    admin, _ = site.token()
    return site, c, {"ana": site.token(ANA)[0], "admin": admin}


async def vset(env, patch, using=RICH, account=ANA):
    site, c, t = env
    _, out = one(await api(c, t["ana"] if account == ANA else t["admin"],
                           jmap_request(account, (SET, {"update": {"singleton": patch}}),
                                   using=using)))
    return out


async def vget(env, using=RICH, account=ANA) -> dict:
    site, c, t = env
    _, out = one(await api(c, t["ana"] if account == ANA else t["admin"],
                           jmap_request(account, (GET, {}), using=using)))
    return out["list"][0]


def row(site, address=ANA) -> dict:
    return site.account(address).as_dict()


def deliver_at(site, when: float, message: "bytes | None" = None,
               sender: str = "bob@example.org", original: str = ""):
    """(Result, the reply or None) of one delivery through the one delivery line at `when`,
    on the site's own store."""
    from autoresponder import config as config_mod
    from autoresponder.envelope import Envelope
    from autoresponder.line import Line
    from autoresponder.message import from_bytes
    from autoresponder.store import open_store
    from autoresponder.transports.capture import CaptureTransport

    config = config_mod.load(str(site.config_path))
    t = CaptureTransport()
    with open_store(config) as store:
        env = Envelope(sender, ANA, original, config.autoreply_domain,
                       config.recipient_delimiter)
        r = Line(config, store, t).run(env, from_bytes(message or personal(sender)), when)
    if not t.sent:
        return r, None
    return r, email.message_from_bytes(t.sent[0].data, policy=email.policy.default)


# --- wall-clock dates, zones and daylight saving ---------------------------------------------

async def test_local_dates_across_dst_changes_and_a_new_zone(xenv):
    site = xenv[0]
    # 01:30 on 28 March 2027 does not exist in Lisbon (clocks jump 01:00 -> 02:00 UTC+1); on
    # 31 October it happens twice: the first instant the clock reads it, as delivery does
    out = await vset(xenv, {"timeZone": "Europe/Lisbon", "localFromDate": "2027-03-28T01:30:00",
                            "localToDate": "2027-10-31T01:30:00"})
    assert out["updated"] == {"singleton": {"fromDate": "2027-03-28T01:00:00Z",
                                            "toDate": "2027-10-31T00:30:00Z"}}, out
    r = row(site)
    assert (r["timezone"], r["start_local"], r["end_local"]) == (
        "Europe/Lisbon", "2027-03-28T01:30", "2027-10-31T01:30")
    out = await vset(xenv, {"localToDate": "2027-03-28T09:00:00"})  # summer time: 08:00 UTC
    assert out["updated"]["singleton"] == {"toDate": "2027-03-28T08:00:00Z"}
    # the one delivery line reads the same instants
    assert deliver_at(site, at("2027-03-28T00:59", ZoneInfo("UTC")))[0].decision.rule == "account"
    assert deliver_at(site, at("2027-03-28T07:59", ZoneInfo("UTC")),
                      sender="c1@example.net")[1] is not None
    r2, reply = deliver_at(site, at("2027-03-28T08:00", ZoneInfo("UTC")),
                           sender="c2@example.net")
    assert (r2.decision.rule, reply) == ("account", None)
    # a new zone keeps the wall-clock times: their instants move
    out = await vset(xenv, {"timeZone": "America/New_York"})
    assert out["updated"]["singleton"] == {"fromDate": "2027-03-28T05:30:00Z",
                                           "toDate": "2027-03-28T13:00:00Z"}
    got = await vget(xenv)
    assert (got["localFromDate"], got["localToDate"]) == ("2027-03-28T01:30:00",
                                                          "2027-03-28T09:00:00")
    # a new fromDate is an instant: the stored wall-clock time goes, the zone reads it
    out = await vset(xenv, {"fromDate": "2027-03-01T00:00:00Z"})
    assert out["updated"]["singleton"] == {"localFromDate": "2027-02-28T19:00:00"}
    assert (row(site)["start_local"], row(site)["start_at"]) == (None, "2027-03-01T00:00:00Z")
    # both halves of one setting in one patch: refused, nothing written
    before = row(site)
    out = await vset(xenv, {"fromDate": "2027-03-02T00:00:00Z",
                            "localFromDate": "2027-03-02T00:00:00", "subject": "no"})
    err = out["notUpdated"]["singleton"]
    assert (err["type"], err["properties"]) == ("invalidProperties",
                                                ["fromDate", "localFromDate"])
    assert row(site) == before
    # back to the config's zone (null): the wall-clock times as shown stay wall-clock
    out = await vset(xenv, {"timeZone": None})
    got = await vget(xenv)
    assert (got["timeZone"], got["localFromDate"], got["fromDate"], got["toDate"]) == (
        None, "2027-02-28T19:00:00", "2027-02-28T19:00:00Z", "2027-03-28T08:00:00Z")


# --- absences and windows --------------------------------------------------------------------

async def test_absences_and_windows_keep_their_ids_and_keys(xenv):
    site = xenv[0]
    out = await vset(xenv, {
        "interval": 7 * 86400,
        "absences": [{"localFromDate": "2027-06-01T00:00:00",
                      "localToDate": "2027-06-11T00:00:00", "subject": " June   holidays "}],
        "windows": [{"spec": "sáb-dom", "subject": "Weekend"}]})  # Portuguese day names
    told = out["updated"]["singleton"]
    (absence,), (window,) = told["absences"], told["windows"]
    assert absence["subject"] == "June holidays" and window["spec"] == "Sat-Sun"
    got = await vget(xenv)
    assert got["absences"] == [absence] and got["windows"] == [window]
    items = {i["id"]: i for i in row(site)["items"]}
    assert sorted(items) == sorted(int(x["id"]) for x in (absence, window))
    keys = {i["id"]: i["key"] for i in items.values()}
    # Saturday 9 January 2027: the window answers bob
    r, reply = deliver_at(site, at("2027-01-09T10:00"))
    assert r.outcome.name == "reply" and reply["Subject"] == "Weekend"
    # the same lists again (as get gave them): the same items, the same keys, no new reply
    out = await vset(xenv, {"absences": got["absences"], "windows": got["windows"]})
    assert out["updated"] == {"singleton": None}, out
    assert {i["id"]: i["key"] for i in row(site)["items"]} == keys
    assert deliver_at(site, at("2027-01-09T11:00"))[0].outcome.name == "already-replied"
    # an entry that names the item and changes it is a new item: a new key, answered anew
    out = await vset(xenv, {"windows": [{"id": window["id"], "subject": "Weekend!"}]})
    (new_window,) = out["updated"]["singleton"]["windows"]
    assert new_window["id"] != window["id"] and new_window["spec"] == "Sat-Sun"
    fresh = [i for i in row(site)["items"] if i["kind"] == "window"]
    assert len(fresh) == 1 and fresh[0]["key"] not in keys.values()
    r, reply = deliver_at(site, at("2027-01-09T12:00"))
    assert r.outcome.name == "reply" and reply["Subject"] == "Weekend!"
    # the absence stayed as it was (only windows were set); removing it leaves the window
    assert [i["key"] for i in row(site)["items"] if i["kind"] == "absence"] == \
        [keys[int(absence["id"])]]
    out = await vset(xenv, {"absences": []})
    assert [i["kind"] for i in row(site)["items"]] == ["window"]
    assert (await vget(xenv))["absences"] == []
    # an absence answers in June with its own subject
    await vset(xenv, {"absences": [{"localFromDate": "2027-06-01T00:00:00",
                                    "subject": "June"}]})
    r, reply = deliver_at(site, at("2027-06-02T10:00"), sender="dora@example.net")
    assert reply is not None and reply["Subject"] == "June"
    # an address without an account yet (admin): the account and its items in one go
    out = await vset(xenv, {"isEnabled": True, "timeZone": "Asia/Kolkata",
                            "windows": [{"spec": "Mon-Fri 12:00-13:00"}]},
                     account="new@example.com")
    assert out["updated"]["singleton"]["windows"][0]["spec"] == "Mon-Fri 12:00-13:00"
    made = row(site, "new@example.com")
    assert made["timezone"] == "Asia/Kolkata" and [i["kind"] for i in made["items"]] == \
        ["window"]


# --- audience, From and group mail -----------------------------------------------------------

GROUP = personal(sender="dora@partner.example", to="equipa@example.com")


async def test_audience_from_and_group_mail_round_trip_and_reach_delivery(xenv):
    site = xenv[0]
    patch = {"aliases": [ALIAS], "replyFrom": ALIAS, "external": "none",
             "internalDomains": ["partner.example", ".corp.example"],
             "externalSubject": "Out of office", "externalTextBody": "Write to info@example.com.",
             "externalTemplate": "default", "answerGroupMail": True}
    out = await vset(xenv, patch)
    assert out["updated"] == {"singleton": {"internalDomains": [".corp.example",
                                                                "partner.example"]}}
    got = await vget(xenv)
    assert {k: got[k] for k in patch} == {**patch, "internalDomains": [".corp.example",
                                                                       "partner.example"]}
    r = row(site)
    assert (r["reply_from"], r["external"], r["internal_domains"], r["answer_group_mail"],
            r["external_message"]) == (ALIAS, "none", ".corp.example,partner.example", True,
                                       "Write to info@example.com.")
    now = at("2027-04-05T10:00")
    # an outsider gets nothing (colleagues only)
    res, reply = deliver_at(site, now, sender="bob@example.org")
    assert (res.decision.rule, reply) == ("audience", None)
    # a colleague of a listed domain gets the reply, From the alias
    res, reply = deliver_at(site, now, sender="luis@partner.example")
    assert reply is not None and ALIAS in reply["From"] and reply["Subject"] == "Away"
    _, reply = deliver_at(site, now, sender="x@eu.corp.example")
    assert reply is not None
    # mail to a group address is answered (answerGroupMail)
    res, reply = deliver_at(site, now, GROUP, sender="dora@partner.example",
                            original="equipa@example.com")
    assert res.decision.rule == "reply" and reply is not None
    # outsiders get their own reply once external is "reply" again (null)
    out = await vset(xenv, {"external": "reply", "replyFrom": "addressed",
                            "answerGroupMail": None})
    assert out["updated"] == {"singleton": {"external": None}}
    res, reply = deliver_at(site, now, sender="zoe@example.org")
    assert reply["Subject"] == "Out of office" and "info@example.com" in \
        reply.get_body(("plain",)).get_content()
    res, _ = deliver_at(site, now, GROUP, sender="eve@partner.example",
                        original="equipa@example.com")
    assert res.decision.rule == "not-addressed"  # the config's default again
    # "account" is the default, shown as null; the account's own address is the same
    out = await vset(xenv, {"replyFrom": ANA})
    assert out["updated"] == {"singleton": {"replyFrom": None}} and \
        row(site)["reply_from"] is None


# --- bad input -------------------------------------------------------------------------------

BAD = [
    ({"timeZone": "Mars/Olympus_Mons"}, ["timeZone"]),
    ({"timeZone": 1}, ["timeZone"]),
    ({"timeZone": ""}, ["timeZone"]),
    ({"timeZone": "../../etc/passwd"}, ["timeZone"]),
    ({"localFromDate": "2027-01-01T10:00:30"}, ["localFromDate"]),
    ({"localFromDate": "2027-01-01T10:00:00Z"}, ["localFromDate"]),
    ({"localToDate": "2027-01-01"}, ["localToDate"]),
    ({"localToDate": 20270101}, ["localToDate"]),
    ({"localFromDate": "2027-02-01T00:00:00", "localToDate": "2027-01-01T00:00:00"},
     ["localFromDate", "localToDate"]),
    ({"internalDomains": "example.org"}, ["internalDomains"]),
    ({"internalDomains": ["user@example.org"]}, ["internalDomains"]),
    ({"internalDomains": ["a,b.example"]}, ["internalDomains"]),
    ({"internalDomains": [f"d{i}.example" for i in range(101)]}, ["internalDomains"]),
    ({"external": "nobody"}, ["external"]),
    ({"external": False}, ["external"]),
    ({"externalSubject": 5}, ["externalSubject"]),
    ({"externalTextBody": "x" * 100_001}, ["externalTextBody"]),
    ({"externalTemplate": "no-such-template"}, ["externalTemplate"]),
    ({"replyFrom": "bob@example.com"}, ["replyFrom"]),
    ({"replyFrom": "mallory@evil.example"}, ["replyFrom"]),
    ({"replyFrom": "not an address"}, ["replyFrom"]),
    ({"replyFrom": ["account"]}, ["replyFrom"]),
    ({"answerGroupMail": "yes"}, ["answerGroupMail"]),
    ({"answerGroupMail": 1}, ["answerGroupMail"]),
    ({"absences": {}}, ["absences"]),
    ({"absences": [{}] * 51}, ["absences"]),
    ({"absences": [{"id": "999999"}]}, ["absences"]),
    ({"absences": ["2027-06-01"]}, ["absences"]),
    ({"absences": [{"localFromDate": "2027-06-01T00:00:00", "colour": "red"}]}, ["absences"]),
    ({"absences": [{"localFromDate": "2027-06-10T00:00:00",
                    "localToDate": "2027-06-01T00:00:00"}]}, ["absences"]),
    ({"absences": [{"localFromDate": "2027-06-01"}]}, ["absences"]),
    ({"absences": [{"localFromDate": "2027-06-01T00:00:00", "template": "nope"}]}, ["absences"]),
    ({"absences": [{"localFromDate": "2027-06-01T00:00:00", "subject": "ok"},
                   {"localFromDate": "2027-06-01T00:00:00", "textBody": 7}]}, ["absences"]),
    ({"absences": [{"subject": "open-ended"}]}, ["absences"]),  # no start: as the CLI
    ({"windows": [{"spec": "Fri 14:00"}]}, ["windows"]),
    ({"windows": [{"spec": "blah"}]}, ["windows"]),
    ({"windows": [{"subject": "no spec"}]}, ["windows"]),
    ({"windows": [{"spec": "Sat-Sun" + " " * 300}]}, ["windows"]),
    ({"windows": [{"spec": "Sat-Sun"}] * 51}, ["windows"]),
]


async def test_bad_input_for_each_new_property_writes_nothing(xenv):
    site = xenv[0]
    await vset(xenv, {"windows": [{"spec": "Sat-Sun"}],
                      "absences": [{"localFromDate": "2027-06-01T00:00:00"}]})
    got = await vget(xenv)
    window_id = got["windows"][0]["id"]
    cases = BAD + [
        ({"absences": [{"id": window_id}]}, ["absences"]),  # a window's id is no absence's
        ({"windows": [{"id": window_id}, {"id": window_id}]}, ["windows"]),
        ({"windows": [{"id": int(window_id)}]}, ["windows"]),
        # aliases that drop the replyFrom address
        ({"aliases": [ALIAS], "replyFrom": ALIAS}, None),
        ({"aliases": []}, ["aliases", "replyFrom"]),
    ]
    for patch, props in cases:
        before = row(site)
        # the good parts of the patch are not written either
        out = await vset(xenv, {"subject": "changed too", "textBody": "also", **patch})
        if props is None:  # a good patch that sets up the next case
            assert out["updated"], out
            continue
        err = (out["notUpdated"] or {}).get("singleton")
        assert err and err["type"] == "invalidProperties" and err["properties"] == props, \
            (patch if len(str(patch)) < 300 else list(patch), out)
        assert out["newState"] == out["oldState"] and row(site) == before, patch


# --- without the capability ------------------------------------------------------------------

async def test_a_client_without_the_capability_never_sees_the_new_properties(xenv):
    site = xenv[0]
    await vset(xenv, {"timeZone": "Europe/Lisbon", "windows": [{"spec": "Sat-Sun"}],
                      "external": "none", "localToDate": "2027-06-01T00:00:00"})
    plain = await vget(xenv, using=(CORE, VAC))
    assert set(plain) == set(vacation.STANDARD)
    assert plain["toDate"] == "2027-05-31T23:00:00Z"  # the instant, as RFC 8621 has it
    _, c, t = xenv
    for props in (["timeZone"], ["windows"], ["absences", "subject"]):
        _, out = one(await api(c, t["ana"], jmap_request(ANA, (GET, {"properties": props}))))
        assert out["type"] == "invalidArguments", out
    before = row(site)
    for name in vacation.EXTRA:
        out = await vset(xenv, {name: None}, using=(CORE, VAC))
        assert out["notUpdated"]["singleton"]["properties"] == [name]
    assert row(site) == before
    # a plain client's update keeps every extra setting
    out = await vset(xenv, {"subject": "Plain"}, using=(CORE, VAC))
    assert out["updated"] == {"singleton": None}
    after = row(site)
    assert after["subject"] == "Plain" and after["items"] == before["items"]
    assert (after["timezone"], after["external"], after["end_local"]) == (
        "Europe/Lisbon", "none", "2027-06-01T00:00")


# --- the command line agrees -----------------------------------------------------------------

def test_cli_vacation_response_and_the_vacation_commands_agree(tmp_path):
    from tests.conftest import Agent

    agent = Agent(tmp_path, timezone="Europe/Lisbon")
    agent.admin("vacation", "enable", ANA, "--alias", ALIAS)
    agent.admin("vacation", "add-window", ANA, "seg a sex das 12h às 13h", "--subject", "Lunch")
    got = json.loads(agent.admin("vacation-response", "get", ANA).stdout)
    (window,) = got["windows"]
    assert (window["spec"], window["subject"]) == ("Mon-Fri 12:00-13:00", "Lunch")
    patch = {"timeZone": "America/New_York", "replyFrom": ALIAS, "windows": got["windows"],
             "absences": [{"localFromDate": "2027-06-01T09:00:00"}],
             "internalDomains": ["partner.example"], "answerGroupMail": False}
    out = json.loads(agent.admin("vacation-response", "set", ANA, json.dumps(patch)).stdout)
    assert out["windows"] == [window] and out["absences"][0]["localFromDate"] == \
        "2027-06-01T09:00:00"
    shown = json.loads(agent.admin("vacation", "show", ANA, "--json").stdout)
    assert shown["zone"] == "America/New_York" and shown["reply_from"] == ALIAS
    assert shown["windows"][0]["id"] == int(window["id"])
    assert shown["absences"][0]["what"].startswith("absence from 2027-06-01 09:00")
    assert shown["internal_domains"] == ["example.com", "partner.example"]
    assert shown["group_mail"] == "no reply"
    # what the CLI removes, the API no longer shows; a bad list is refused by both
    agent.admin("vacation", "remove-window", ANA, window["id"])
    assert json.loads(agent.admin("vacation-response", "get", ANA).stdout)["windows"] == []
    r = agent.run("vacation-response", "set", ANA,
                  json.dumps({"absences": [{"localFromDate": "2027-06-01T00:00:00"}] * 51}))
    assert r.returncode == 65 and b"invalidProperties (absences)" in r.stderr
    agent.admin("vacation-response", "set", ANA,
                json.dumps({"windows": [{"spec": "Sat-Sun"}] * 50}))
    r = agent.run("vacation", "add-window", ANA, "Sat-Sun")
    assert r.returncode == 65 and b"50 windows already" in r.stderr


# --- the store: items in save_vacation's one transaction ---------------------------------------

async def test_save_vacation_applies_items_whole_or_not_at_all(xenv):
    site = xenv[0]
    now = 1_800_000_000.0
    with site.store() as s:
        mine = s.add_item(ANA, {"kind": "window", "key": "wkeep", "spec": "Sat-Sun"}, now)
        gone = s.add_item(ANA, {"kind": "absence", "key": "agone",
                                "start_local": "2027-06-01T00:00"}, now)
        bobs = s.add_item(BOB, {"kind": "window", "key": "wbob", "spec": "Wed"}, now)
        new = {"kind": "absence", "key": "anew", "start_local": "2027-08-01T00:00",
               "subject": "August"}
        saved = s.save_vacation(ANA, {"subject": "Kept"}, None, True, now, None,
                                [{"id": mine.id}, new])
        assert [(i.id, i.key) for i in saved.items][0] == (mine.id, "wkeep")
        assert [i.key for i in saved.items] == ["wkeep", "anew"]
        assert all(i.id != gone.id for i in saved.items)
        before = s.find_account(ANA).as_dict()
        for bad in ([{"id": 987654}], [{"id": mine.id}, {"id": mine.id}],
                    [{"id": bobs.id}]):  # none of ana's; twice; another account's
            with pytest.raises(ValueError):
                s.save_vacation(ANA, {"subject": "not written"}, None, False, now + 1, None,
                                [*bad, new])
            assert s.find_account(ANA).as_dict() == before
        assert [i.key for i in s.find_account(BOB).items] == ["wbob"]
        # None keeps them all
        again = s.save_vacation(ANA, {"subject": "Again"}, None, True, now + 2)
        assert [(i.id, i.key) for i in again.items] == [(i.id, i.key) for i in saved.items]
