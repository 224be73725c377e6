"""Issue 13's settings through a real JMAP client (jmapc, over HTTPS) against a running
`serve --http`, on SQLite and on PostgreSQL: wall-clock dates across a DST change, absences
and windows with their ids (the same list set again keeps them, and a sender answered in a
window is not answered again), replyFrom/external/internalDomains reaching the very next
delivery over LMTP, bad input refused with nothing written, and a client without the
project's capability never seeing any of it."""

from __future__ import annotations

import json
import time

import pytest

from autoresponder.http import vacation
from tests.conftest import personal
from tests.http.jmapc_vacation import (EXTRA, VacationResponseGet, VacationResponseGetExtra,
                                       VacationResponseSetExtra)
from tests.http.test_serve_jmap import Client, make_cert, new_token, wait_port
from tests.serve.conftest import free_port, serve_factory, smtp_transport  # noqa: F401

ANA = "ana@example.com"
ALIAS = "ana.silva@example.com"


@pytest.fixture(params=["sqlite", "postgres"])
def xserved(request, serve_factory, sink, tmp_path):  # noqa: F811
    cert, key = make_cert(tmp_path)
    port = free_port()
    s = serve_factory(workers=1, serve_extra=(
        f'http = ["inet:127.0.0.1:{port}"]\n'
        f'[http]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'))
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        s.agent.db = cluster.url(cluster.new_database("jms"))
    s.configure(smtp_transport(sink.port), timezone="Europe/Lisbon")
    s.agent.admin("vacation", "enable", ANA, "--message", "Back on Monday.")
    s.start()
    wait_port(port)
    s.http_host = f"127.0.0.1:{port}"
    s.ca = cert
    s.client = Client(s.http_host, new_token(s, "--account", ANA), s.ca)
    return s


def get(served) -> dict:
    return served.client.request(VacationResponseGetExtra(ids=None)).data[0]


def put(served, patch: dict):
    return served.client.request(VacationResponseSetExtra(update={"singleton": patch}))


def stored(served) -> dict:
    """The account as the admin CLI reads it from the database."""
    return json.loads(served.agent.admin("vacation", "show", ANA, "--json").stdout)


def replies_after(sink, n: int, wait: float = 0.5) -> int:
    time.sleep(wait)
    return len(sink.messages)


def test_jmapc_local_dates_absences_and_windows(xserved, sink):
    served = xserved
    session = served.client.jmap_session
    assert EXTRA in session.capabilities.urns
    caps = session.to_dict()["capabilities"][EXTRA]
    assert {"timeZone", "absences", "windows", "replyFrom"} <= set(caps["properties"])
    assert (caps["maxAbsences"], caps["defaultTimeZone"]) == (50, "Europe/Lisbon")

    # wall-clock times in Lisbon around the spring change (01:30 does not exist that night)
    done = put(served, {"timeZone": "Europe/Lisbon", "localFromDate": "2027-03-28T01:30:00",
                        "localToDate": "2027-03-28T09:00:00"})
    assert done.updated == {"singleton": {"fromDate": "2027-03-28T01:00:00Z",
                                          "toDate": "2027-03-28T08:00:00Z"}}, done
    got = get(served)
    assert (got["fromDate"], got["toDate"], got["localToDate"]) == (
        "2027-03-28T01:00:00Z", "2027-03-28T08:00:00Z", "2027-03-28T09:00:00")
    row = stored(served)
    assert (row["timezone"], row["end_local"], row["end_at"]) == (
        "Europe/Lisbon", "2027-03-28 09:00 WEST", "2027-03-28T08:00:00Z")

    # no dates of its own; a window in force all week, and two queued absences
    done = put(served, {"fromDate": None, "toDate": None, "windows": [{"spec": "seg-dom"}],
                        "absences": [{"localFromDate": "2027-06-01T00:00:00",
                                      "localToDate": "2027-06-11T00:00:00"},
                                     {"localFromDate": "2027-08-01T00:00:00",
                                      "subject": "August"}]})
    got = get(served)
    (window,) = got["windows"]
    first, second = got["absences"]
    assert window["spec"] == "Mon-Sun" and second["subject"] == "August"
    assert sorted(done.updated["singleton"]) == ["absences", "localFromDate", "localToDate",
                                                 "windows"]
    keys = {i["id"]: i["key"] for i in stored(served)["items"]}
    assert sorted(keys) == sorted(int(x["id"]) for x in (window, first, second))

    # bob is answered under the window ...
    assert [r.code for r in served.deliver("bob@example.org", ANA, personal())] == [250]
    sink.wait_for(1)
    # ... the same lists again keep every item and key: bob is not answered again
    again = put(served, {"windows": got["windows"], "absences": got["absences"]})
    assert again.updated == {"singleton": None}
    assert {i["id"]: i["key"] for i in stored(served)["items"]} == keys
    assert [r.code for r in served.deliver("bob@example.org", ANA,
                                           personal(message_id="<m2@example.org>"))] == [250]
    assert replies_after(sink, 1) == 1
    assert "already" in served.log().splitlines()[-1]

    # remove one absence: the other keeps its id
    put(served, {"absences": [second]})
    got = get(served)
    assert got["absences"] == [second] and got["windows"] == [window]
    assert sorted(i["id"] for i in stored(served)["items"]) == sorted(
        int(x["id"]) for x in (window, second))


def test_jmapc_audience_and_from_reach_the_next_delivery(xserved, sink):
    served = xserved
    put(served, {"aliases": [ALIAS], "replyFrom": ALIAS})
    assert [r.code for r in served.deliver("bob@example.org", ANA, personal())] == [250]
    reply = sink.wait_for(1)[0].message
    assert ALIAS in reply["From"]

    # colleagues only: carol (outside) gets nothing
    done = put(served, {"external": "none", "replyFrom": "addressed"})
    assert done.updated == {"singleton": None}
    carol = personal(sender="carol@example.org", message_id="<c@example.org>")
    assert [r.code for r in served.deliver("carol@example.org", ANA, carol)] == [250]
    assert replies_after(sink, 1) == 1
    assert "rule=audience" in served.log().splitlines()[-1]

    # example.org counts as a colleague's domain now: dave is answered
    put(served, {"internalDomains": ["Example.ORG"]})
    assert get(served)["internalDomains"] == ["example.org"]
    dave = personal(sender="dave@example.org", message_id="<d@example.org>")
    assert [r.code for r in served.deliver("dave@example.org", ANA, dave)] == [250]
    assert len(sink.wait_for(2)) == 2
    row = stored(served)
    assert (row["external"], row["internal_domains"], row["reply_from"]) == (
        "none", ["example.com", "example.org"], "addressed")


def test_jmapc_bad_input_writes_nothing_and_plain_clients_see_no_extras(xserved):
    served = xserved
    put(served, {"windows": [{"spec": "Sat-Sun"}], "timeZone": "America/New_York"})
    before = served.agent.admin("vacation-response", "get", ANA).stdout
    for patch, prop in [({"windows": [{"id": "424242"}]}, "windows"),
                        ({"replyFrom": "bob@example.com"}, "replyFrom"),
                        ({"timeZone": "Europe/Atlantis"}, "timeZone"),
                        ({"windows": [{"spec": "Fri 14:00"}]}, "windows"),
                        ({"absences": [{}] * 51}, "absences"),
                        ({"localFromDate": "2027-01-01T09:00:30"}, "localFromDate")]:
        out = put(served, {"subject": "not written", **patch})
        err = out.not_updated["singleton"]
        assert (err.type, err.properties) == ("invalidProperties", [prop]), (patch, err)
        assert out.new_state == out.old_state
    assert served.agent.admin("vacation-response", "get", ANA).stdout == before

    plain = served.client.request(VacationResponseGet(ids=None)).data[0]
    assert set(plain) == set(vacation.STANDARD)
