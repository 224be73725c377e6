"""The JMAP API in-process (build_app on aiohttp's test server, a real SQLite file): the
Session, get/set, who may do what for every method, and bad input getting the RFC 8620
error with nothing written."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.http.conftest import ANA, BOB, CORE, EXTRA, VAC, bearer, request

GET = "VacationResponse/get"
SET = "VacationResponse/set"


async def api(client, token, body, status=200):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    r = await client.post("/jmap/api", data=raw, headers={
        **(bearer(token) if token else {}), "Content-Type": "application/json"})
    assert r.status == status, await r.text()
    return await r.json(content_type=None)


def one(resp) -> "tuple[str, dict]":
    (name, args, _id), = resp["methodResponses"]
    return name, args


@pytest.fixture
async def env(site, client_for):
    site.enable(ANA, message="Ana is away.", subject="Away")
    site.enable(BOB, message="Bob is away.")
    c = await client_for(site)
    admin, _ = site.token()
    ana, ana_id = site.token(ANA)
    bob, _ = site.token(BOB)
    return site, c, {"admin": admin, "ana": ana, "bob": bob, "ana_id": ana_id}


def row(site, address):
    a = site.account(address)
    return a.as_dict() if a else None


# --- the Session ---------------------------------------------------------------------------

async def test_the_session_of_an_account_token_and_of_an_admin_token(env):
    site, c, t = env
    r = await c.get("/.well-known/jmap", headers=bearer(t["ana"]))
    s = await r.json()
    assert r.status == 200
    assert set(s["capabilities"]) == {CORE, VAC, EXTRA}
    core = s["capabilities"][CORE]
    assert core["maxSizeRequest"] == 1_000_000 and core["maxCallsInRequest"] == 16
    assert list(s["accounts"]) == [ANA] and s["accounts"][ANA]["isPersonal"] is True
    assert VAC in s["accounts"][ANA]["accountCapabilities"]
    assert s["primaryAccounts"][VAC] == ANA and s["username"] == ANA
    assert s["apiUrl"].endswith("/jmap/api") and s["apiUrl"].startswith("http://127.0.0.1:")
    for k in ("downloadUrl", "uploadUrl", "eventSourceUrl", "state"):
        assert isinstance(s[k], str)
    r = await c.get("/.well-known/jmap", headers=bearer(t["admin"]))
    s2 = await r.json()
    assert sorted(s2["accounts"]) == [ANA, BOB] and s2["primaryAccounts"] == {}
    assert s2["accounts"][BOB]["isPersonal"] is False and s2["state"] != s["state"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer ar_0123456789ab_nope"},
                                     {"Authorization": "Bearer "}, {"Authorization": "Digest x"},
                                     {"Authorization": "Basic !!!"}])
async def test_no_or_bad_credentials_get_401_on_every_endpoint(env, headers):
    site, c, t = env
    r = await c.get("/.well-known/jmap", headers=headers)
    assert r.status == 401 and "WWW-Authenticate" in r.headers
    assert r.headers["Content-Type"].startswith("application/problem+json")
    for body in (request(ANA, (GET, {})), request(ANA, (SET, {"update": {"singleton": {
            "isEnabled": False}}})), request(ANA, ("Core/echo", {}))):
        r = await c.post("/jmap/api", json=body, headers=headers)
        assert r.status == 401
    assert row(site, ANA)["enabled"] == 1


async def test_a_revoked_token_gets_401_at_once(env):
    site, c, t = env
    assert (await c.get("/.well-known/jmap", headers=bearer(t["ana"]))).status == 200
    with site.store() as s:
        assert s.token_revoke(t["ana_id"], 0)
    assert (await c.get("/.well-known/jmap", headers=bearer(t["ana"]))).status == 401
    await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton": {"isEnabled": False}}})),
              status=401)
    assert row(site, ANA)["enabled"] == 1
    assert "token-refused" in site.log() and t["ana"] not in site.log()


# --- who may do what, for every method ------------------------------------------------------

@pytest.mark.parametrize("method,args", [
    (GET, {}), (GET, {"ids": ["singleton"]}),
    (SET, {"update": {"singleton": {"isEnabled": False, "subject": "pwned"}}}),
    (SET, {"create": {"x": {"isEnabled": True}}}), (SET, {"destroy": ["singleton"]}),
])
async def test_an_account_token_for_a_cannot_touch_b(env, method, args):
    site, c, t = env
    before = row(site, BOB)
    for target in (BOB, "nobody@example.com", "bob+x@example.com", "BOB@example.com"):
        name, out = one(await api(c, t["ana"], request(target, (method, args))))
        assert (name, out["type"]) == ("error", "accountNotFound")
    assert row(site, BOB) == before
    assert row(site, "nobody@example.com") is None


async def test_the_admin_token_acts_on_both(env):
    site, c, t = env
    for who in (ANA, BOB):
        name, out = one(await api(c, t["admin"], request(who, (SET, {"update": {"singleton": {
            "subject": f"set by admin for {who}"}}}))))
        assert name == SET and out["updated"] == {"singleton": None}, out
        assert row(site, who)["subject"] == f"set by admin for {who}"
    # an address without an account yet: its singleton is disabled; a set creates it
    name, out = one(await api(c, t["admin"], request("carol@example.com", (GET, {}))))
    assert out["list"][0]["isEnabled"] is False and out["state"] == "0"
    one(await api(c, t["admin"], request("carol@example.com", (SET, {"update": {"singleton": {
        "textBody": "Carol is out."}}}))))
    assert row(site, "carol@example.com")["enabled"] == 0
    assert row(site, "carol@example.com")["message"] == "Carol is out."
    # ids are addresses as stored: not an alias, not an unnormalised form
    for bad in ("Carol@Example.com", "not an address", "x" * 400):
        name, out = one(await api(c, t["admin"], request(bad, (GET, {}))))
        assert out["type"] == "accountNotFound"


async def test_an_account_token_on_its_own_account(env):
    site, c, t = env
    name, out = one(await api(c, t["ana"], request(ANA, (GET, {}))))
    assert out["list"] == [{"id": "singleton", "isEnabled": True, "fromDate": None,
                            "toDate": None, "subject": "Away", "textBody": "Ana is away.",
                            "htmlBody": None}]
    name, out = one(await api(c, t["ana"], request(ANA, ("Core/echo", {"hello": [1, 2]}))))
    assert (name, out) == ("Core/echo", {"accountId": ANA, "hello": [1, 2]})


# --- get and set -----------------------------------------------------------------------------

async def test_set_then_get_and_the_state_changes_on_every_update(env):
    site, c, t = env
    states = []
    _, out = one(await api(c, t["ana"], request(ANA, (GET, {}))))
    states.append(out["state"])
    patches = [{"subject": "One"}, {"isEnabled": False}, {"isEnabled": True},
               {"fromDate": "2030-01-01T08:00:00Z", "toDate": "2030-01-10T00:00:00.000Z"},
               {"textBody": "Two"}, {"subject": None}]
    for patch in patches:
        _, out = one(await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton":
                                                                            patch}}))))
        # the server tells what it stored differently from the patch (RFC 8620 5.3)
        told = {"toDate": "2030-01-10T00:00:00Z"} if "toDate" in patch else None
        assert out["updated"] == {"singleton": told} and out["oldState"] == states[-1]
        states.append(out["newState"])
    assert len(set(states)) == len(states)
    _, out = one(await api(c, t["ana"], request(ANA, (GET, {}))))
    assert out["state"] == states[-1]
    assert out["list"][0] == {"id": "singleton", "isEnabled": True,
                              "fromDate": "2030-01-01T08:00:00Z",
                              "toDate": "2030-01-10T00:00:00Z", "subject": None,
                              "textBody": "Two", "htmlBody": None}
    r = row(site, ANA)
    assert (r["start_at"], r["end_at"], r["message"]) == ("2030-01-01T08:00:00Z",
                                                          "2030-01-10T00:00:00Z", "Two")


async def test_dates_survive_disable_and_enable(env):
    site, c, t = env
    dates = {"fromDate": "2030-01-01T00:00:00Z", "toDate": "2030-02-01T00:00:00Z"}
    for patch in (dates, {"isEnabled": False}, {"isEnabled": True}):
        one(await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton": patch}}))))
    r = row(site, ANA)
    assert (r["enabled"], r["start_at"], r["end_at"]) == (1, dates["fromDate"], dates["toDate"])


async def test_if_in_state_and_get_arguments(env):
    site, c, t = env
    _, out = one(await api(c, t["ana"], request(ANA, (GET, {"ids": ["singleton", "x", "x"],
                                                            "properties": ["subject"]}))))
    assert out["list"] == [{"id": "singleton", "subject": "Away"}] and out["notFound"] == ["x"]
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {
        "ifInState": "stale", "update": {"singleton": {"subject": "no"}}}))))
    assert out["type"] == "stateMismatch" and row(site, ANA)["subject"] == "Away"
    _, got = one(await api(c, t["ana"], request(ANA, (GET, {}))))
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {
        "ifInState": got["state"], "update": {"singleton": {"subject": "yes"}}}))))
    assert out["updated"] == {"singleton": None} and row(site, ANA)["subject"] == "yes"
    # a result reference: the ids of an earlier get
    resp = await api(c, t["ana"], {"using": [CORE, VAC], "methodCalls": [
        [GET, {"accountId": ANA}, "a"],
        [GET, {"accountId": ANA, "#ids": {"resultOf": "a", "name": GET, "path": "/list/*/id"}},
         "b"]]})
    assert resp["methodResponses"][1][1]["list"][0]["subject"] == "yes"
    resp = await api(c, t["ana"], {"using": [CORE, VAC], "methodCalls": [
        [GET, {"accountId": ANA, "#ids": {"resultOf": "zz", "name": GET, "path": "/x"}}, "b"]]})
    assert resp["methodResponses"][0][1]["type"] == "invalidResultReference"


async def test_create_and_destroy_are_refused_as_for_a_singleton(env):
    site, c, t = env
    before = row(site, ANA)
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {
        "create": {"new": {"isEnabled": False}}, "destroy": ["singleton"],
        "update": {"other": {"isEnabled": False}}}))))
    assert out["notCreated"]["new"]["type"] == "singleton"
    assert out["notDestroyed"]["singleton"]["type"] == "singleton"
    assert out["notUpdated"]["other"]["type"] == "notFound"
    assert out["oldState"] == out["newState"] and row(site, ANA) == before


async def test_extra_properties_only_with_the_project_capability(env):
    site, c, t = env
    _, out = one(await api(c, t["ana"], request(ANA, (GET, {}))))
    assert "interval" not in out["list"][0]
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton": {
        "interval": 3600}}}))))
    assert out["notUpdated"]["singleton"]["type"] == "invalidProperties"
    _, out = one(await api(c, t["ana"], request(ANA, (GET, {"properties": ["language"]}))))
    assert out["type"] == "invalidArguments"
    using = (CORE, VAC, EXTRA)
    patch = {"interval": 3600, "language": "pt", "aliases": ["Ana.Silva@Example.com"],
             "fromName": "  Ana   Silva ", "template": "default"}
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton": patch}}),
                                                using=using)))
    # what was stored otherwise than sent is told back (RFC 8620 5.3)
    assert out["updated"] == {"singleton": {"aliases": ["ana.silva@example.com"],
                                            "fromName": "Ana Silva"}}, out
    _, out = one(await api(c, t["ana"], request(ANA, (GET, {}), using=using)))
    obj = out["list"][0]
    assert (obj["interval"], obj["language"], obj["aliases"], obj["fromName"],
            obj["template"]) == (3600, "pt", ["ana.silva@example.com"], "Ana Silva", "default")
    r = row(site, ANA)
    assert (r["interval_seconds"], r["language"], r["from_name"]) == (3600, "pt", "Ana Silva")
    # Bob's address cannot become Ana's alias
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton": {
        "aliases": [BOB]}}}), using=using)))
    assert out["notUpdated"]["singleton"]["properties"] == ["aliases"]
    assert row(site, ANA)["aliases"] == ["ana.silva@example.com"]


# --- bad input: the RFC 8620 error, nothing written -----------------------------------------

BAD_PATCHES = [
    ({"isEnabled": "yes"}, "invalidProperties", ["isEnabled"]),
    ({"isEnabled": 1}, "invalidProperties", ["isEnabled"]),
    ({"subject": 5}, "invalidProperties", ["subject"]),
    ({"textBody": ["x"]}, "invalidProperties", ["textBody"]),
    ({"textBody": "a\0b"}, "invalidProperties", ["textBody"]),
    ({"htmlBody": "<p>hi</p>"}, "invalidProperties", ["htmlBody"]),
    ({"colour": "red"}, "invalidProperties", ["colour"]),
    ({"id": "singleton"}, "invalidProperties", ["id"]),
    ({"subject/0": "x"}, "invalidPatch", None),
    ({"fromDate": "2030-01-01"}, "invalidProperties", ["fromDate"]),
    ({"fromDate": "2030-01-01T00:00:00+01:00"}, "invalidProperties", ["fromDate"]),
    ({"fromDate": "2030-13-01T00:00:00Z"}, "invalidProperties", ["fromDate"]),
    ({"fromDate": "2030-02-30T00:00:00Z"}, "invalidProperties", ["fromDate"]),
    ({"toDate": "3000-01-01T00:00:00Z"}, "invalidProperties", ["toDate"]),
    ({"toDate": "1899-12-31T23:59:59Z"}, "invalidProperties", ["toDate"]),
    ({"toDate": "99999-01-01T00:00:00Z"}, "invalidProperties", ["toDate"]),
    ({"toDate": 1893456000}, "invalidProperties", ["toDate"]),
    ({"fromDate": "2030-02-01T00:00:00Z", "toDate": "2030-01-01T00:00:00Z"},
     "invalidProperties", ["fromDate", "toDate"]),
    ({"textBody": "x" * 100_001}, "invalidProperties", ["textBody"]),
]


@pytest.mark.parametrize("patch,kind,props", BAD_PATCHES)
async def test_a_bad_patch_is_refused_whole(env, patch, kind, props):
    site, c, t = env
    before = row(site, ANA)
    full = {"subject": "changed too", **patch}  # the good part must not be written either
    _, out = one(await api(c, t["ana"], request(ANA, (SET, {"update": {"singleton": full}}))))
    err = out["notUpdated"]["singleton"]
    assert err["type"] == kind and err.get("properties") == props, err
    assert out["updated"] is None and out["newState"] == out["oldState"]
    assert row(site, ANA) == before


@pytest.mark.parametrize("args,kind", [
    ({"update": ["singleton"]}, "invalidArguments"),
    ({"update": {"singleton": "x"}}, None),
    ({"destroy": "singleton"}, "invalidArguments"),
    ({"ifInState": 5}, "invalidArguments"),
    ({"bogus": 1}, "invalidArguments"),
    ({"update": {f"id{i}": {} for i in range(17)}}, "requestTooLarge"),
])
async def test_bad_set_arguments(env, args, kind):
    site, c, t = env
    before = row(site, ANA)
    name, out = one(await api(c, t["ana"], request(ANA, (SET, args))))
    if kind:
        assert (name, out["type"]) == ("error", kind)
    else:
        assert out["notUpdated"]["singleton"]["type"] == "invalidPatch"
    assert row(site, ANA) == before


async def test_method_level_errors(env):
    site, c, t = env
    resp = await api(c, t["ana"], {"using": [CORE], "methodCalls": [
        [GET, {"accountId": ANA}, "0"], ["Email/get", {"accountId": ANA}, "1"],
        [GET, {"accountId": 5}, "2"], ["Core/echo", {"x": 1}, "3"]]})
    kinds = [r[1].get("type") if r[0] == "error" else r[0] for r in resp["methodResponses"]]
    assert kinds == ["unknownMethod", "unknownMethod", "unknownMethod", "Core/echo"]
    resp = await api(c, t["ana"], {"using": [CORE, VAC], "methodCalls": [
        [GET, {"accountId": 5}, "0"], [GET, {"accountId": ANA, "ids": "singleton"}, "1"],
        [GET, {"accountId": ANA, "properties": [1]}, "2"],
        [GET, {"accountId": ANA, "ids": ["x"] * 17}, "3"]]})
    assert [r[1]["type"] for r in resp["methodResponses"]] == [
        "invalidArguments", "invalidArguments", "invalidArguments", "requestTooLarge"]
    assert [r[2] for r in resp["methodResponses"]] == ["0", "1", "2", "3"]


@pytest.mark.parametrize("body,kind", [
    (b"not json", "notJSON"),
    (b"\xff\xfe{}", "notJSON"),
    (b'{"using": [], "using": [], "methodCalls": []}', "notJSON"),
    (b"[1, 2]", "notRequest"),
    (b'{"using": "x", "methodCalls": []}', "notRequest"),
    (b'{"using": [], "methodCalls": {}}', "notRequest"),
    (b'{"using": [], "methodCalls": [["Core/echo", {}]]}', "notRequest"),
    (b'{"using": [], "methodCalls": [["Core/echo", [], "0"]]}', "notRequest"),
    (b'{"using": [], "methodCalls": [], "extra": 1}', "notRequest"),
    (b'{"using": ["urn:ietf:params:jmap:mail"], "methodCalls": []}', "unknownCapability"),
])
async def test_request_level_errors_are_problem_details(env, body, kind):
    site, c, t = env
    r = await c.post("/jmap/api", data=body, headers=bearer(t["ana"]))
    assert r.status == 400 and r.headers["Content-Type"].startswith("application/problem+json")
    p = await r.json(content_type=None)
    assert p["type"] == f"urn:ietf:params:jmap:error:{kind}" and p["status"] == 400


async def test_limits_on_calls_and_size(env):
    site, c, t = env
    before = row(site, ANA)
    calls = [[SET, {"accountId": ANA, "update": {"singleton": {"subject": f"s{i}"}}}, str(i)]
             for i in range(1000)]
    p = await api(c, t["ana"], {"using": [CORE, VAC], "methodCalls": calls}, status=400)
    assert (p["type"], p["limit"]) == ("urn:ietf:params:jmap:error:limit", "maxCallsInRequest")
    big = {"using": [CORE, VAC], "methodCalls": [[SET, {"accountId": ANA, "update": {
        "singleton": {"textBody": "x" * (10 * 1024 * 1024)}}}, "0"]]}
    p = await api(c, t["ana"], big, status=400)
    assert (p["type"], p["limit"]) == ("urn:ietf:params:jmap:error:limit", "maxSizeRequest")

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * (512 * 1024)

    r = await c.post("/jmap/api", data=chunks(), headers=bearer(t["ana"]))
    assert r.status == 400 and (await r.json(content_type=None))["limit"] == "maxSizeRequest"
    assert row(site, ANA) == before


async def test_concurrent_updates_all_apply_one_at_a_time(env):
    site, c, t = env
    outs = await asyncio.gather(*[api(c, t["admin" if i % 2 else "ana"], request(ANA, (SET, {
        "update": {"singleton": {"subject": f"s{i}"}}}))) for i in range(8)])
    results = [one(o)[1] for o in outs]
    assert [r["notUpdated"] for r in results if not r.get("updated")] == []
    assert len({r["newState"] for r in results}) == 8
    assert row(site, ANA)["subject"] in {f"s{i}" for i in range(8)}


async def test_more_concurrent_requests_than_advertised_get_the_limit_error(env):
    site, c, t = env
    gate = asyncio.Event()
    body = json.dumps(request(ANA, ("Core/echo", {}))).encode()

    async def slow():  # holds its request open until the gate opens
        yield body[:10]
        await gate.wait()
        yield body[10:]

    held = [asyncio.ensure_future(c.post("/jmap/api", data=slow(), headers=bearer(t["ana"])))
            for _ in range(4)]
    await asyncio.sleep(0.3)
    p = await api(c, t["ana"], request(ANA, ("Core/echo", {})), status=400)
    assert p["limit"] == "maxConcurrentRequests"
    await api(c, t["bob"], request(BOB, ("Core/echo", {})))  # per user: Bob is not held up
    gate.set()
    assert [r.status for r in await asyncio.gather(*held)] == [200] * 4
    await api(c, t["ana"], request(ANA, ("Core/echo", {})))


async def test_a_database_that_cannot_be_opened_is_503_never_500(site, client_for):
    (site.dir / "state" / "autoresponder.sqlite3").mkdir(parents=True)  # a directory
    c = await client_for(site)
    token = "ar_0123456789ab_" + "x" * 43
    r = await c.get("/.well-known/jmap", headers=bearer(token))
    assert r.status == 503 and "database" in (await r.json(content_type=None))["detail"]
    r = await c.post("/jmap/api", headers=bearer(token), json=request(ANA, (GET, {})))
    assert r.status == 503
    assert "event=auth-unavailable" in site.log()
