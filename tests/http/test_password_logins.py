"""Mailbox owners' password logins (HTTP Basic) checked by a real Dovecot over IMAP (STARTTLS
and IMAPS, its certificate verified): the login maps to one account, failures are
rate-limited per login and per client and logged without the password, and Basic is refused
where it could cross a network in the clear."""

from __future__ import annotations

import os

import pytest

from tests.http.conftest import Site, basic, request
from tests.http.imaplab import CAROL_PASSWORD, ImapLab, imap_missing
from tests.serve.conftest import serve_factory  # noqa: F401 - fixture

GET = "VacationResponse/get"
SET = "VacationResponse/set"
ALICE = "alice@lab.test"
AWAY = "away@lab.test"


@pytest.fixture(scope="module")
def imap_lab():
    why = imap_missing()
    if why:
        pytest.skip(why)
    if os.geteuid() != 0:
        pytest.skip("the private Dovecot runs its users as nobody: the lab needs root")
    lab = ImapLab(submission_port=1)
    try:
        lab.start()
        if lab.ca is None:
            pytest.skip("openssl could not make the lab's certificate (IMAP needs TLS here)")
        yield lab
    finally:
        lab.stop()


def imap_site(tmp_path, lab, extra: str = "", security: str = "starttls",
              ca: "str | None" = None) -> Site:
    port = lab.imap_port if security == "starttls" else lab.imaps_port
    return Site(tmp_path, f'[http]\nimap_host = "127.0.0.1"\nimap_port = {port}\n'
                          f'imap_security = "{security}"\n'
                          f'imap_ca_file = "{ca if ca is not None else lab.ca}"\n{extra}')


async def session(c, headers):
    r = await c.get("/.well-known/jmap", headers=headers)
    return r.status, (await r.json(content_type=None))


@pytest.mark.parametrize("security", ["starttls", "imaps"])
async def test_a_good_password_gives_that_account_only(tmp_path, imap_lab, client_for,
                                                        security):
    site = imap_site(tmp_path, imap_lab, security=security)
    site.enable(ALICE, message="Alice away.")
    site.enable(AWAY, message="untouched")
    c = await client_for(site)
    status, s = await session(c, basic(ALICE, "secret"))
    assert status == 200, s
    assert (s["username"], list(s["accounts"])) == (ALICE, [ALICE])
    r = await c.post("/jmap/api", headers=basic(ALICE, "secret"), json=request(
        ALICE, (SET, {"update": {"singleton": {"subject": "from webmail"}}})))
    assert (await r.json())["methodResponses"][0][1]["updated"] == {"singleton": None}
    assert site.account(ALICE).subject == "from webmail"
    before = site.account(AWAY).as_dict()
    for method, args in ((GET, {}), (SET, {"update": {"singleton": {"isEnabled": False}}})):
        r = await c.post("/jmap/api", headers=basic(ALICE, "secret"),
                         json=request(AWAY, (method, args)))
        assert (await r.json())["methodResponses"][0][1]["type"] == "accountNotFound"
    assert site.account(AWAY).as_dict() == before


async def test_wrong_passwords_401_then_429_per_login_and_per_client(tmp_path, imap_lab,
                                                                   client_for):
    site = imap_site(tmp_path, imap_lab, "max_failures_login = 3\nmax_failures_client = 5\n")
    c = await client_for(site)
    for _ in range(3):
        status, p = await session(c, basic(ALICE, "guess-Xy7"))
        assert status == 401 and p["detail"] == "wrong login or password"
    r = await c.get("/.well-known/jmap", headers=basic(ALICE, "secret"))
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0  # even the right one, now
    assert (await session(c, basic(AWAY, "secret")))[0] == 200  # another login: fine
    for _ in range(2):
        assert (await session(c, basic("sam@lab.test", "guess-Xy7")))[0] == 401
    # five failures from this client address: every login from it waits
    assert (await session(c, basic("sally@lab.test", "secret")))[0] == 429
    log = site.log()
    assert log.count("event=login-failed") == 5 and "event=login-throttled" in log
    assert "guess-Xy7" not in log and "secret" not in log


async def test_a_login_maps_to_its_account_or_the_account_it_is_an_alias_of(tmp_path,
                                                                           imap_lab,
                                                                           client_for):
    site = imap_site(tmp_path, imap_lab, 'login_domain = "lab.test"\n')
    with site.store() as s:
        s.enable("team@lab.test", {"message": "team"}, [ALICE], 0)
    c = await client_for(site)
    status, s = await session(c, basic(ALICE, "secret"))
    assert list(s["accounts"]) == ["team@lab.test"] and s["username"] == ALICE
    r = await c.post("/jmap/api", headers=basic(ALICE, "secret"),
                     json=request(ALICE, (GET, {})))
    assert (await r.json())["methodResponses"][0][1]["type"] == "accountNotFound"
    # a bare login name gets login_domain; a non-ASCII password goes as AUTHENTICATE PLAIN
    status, s = await session(c, basic("carol", CAROL_PASSWORD))
    assert status == 200 and list(s["accounts"]) == ["carol@lab.test"], s
    r = await c.post("/jmap/api", headers=basic("carol", CAROL_PASSWORD), json=request(
        "carol@lab.test", (SET, {"update": {"singleton": {"textBody": "Carol out."}}})))
    assert (await r.json())["methodResponses"][0][1]["updated"] == {"singleton": None}
    acct = site.account("carol@lab.test")
    assert (acct.enabled, acct.message) == (False, "Carol out.")  # made, still disabled


async def test_no_new_accounts_when_the_admin_says_so(tmp_path, imap_lab, client_for):
    site = imap_site(tmp_path, imap_lab, "new_accounts = false\n")
    c = await client_for(site)
    status, p = await session(c, basic(AWAY, "secret"))
    assert status == 403 and "no vacation account" in p["detail"]


async def test_the_mail_server_unreachable_or_untrusted_is_503_not_a_failure(tmp_path,
                                                                           imap_lab,
                                                                           client_for):
    from tests.dovecot.lab import free_port

    site = Site(tmp_path, f'[http]\nimap_host = "127.0.0.1"\nimap_port = {free_port()}\n'
                          'imap_timeout = 3\nmax_failures_login = 1\n')
    c = await client_for(site)
    for _ in range(2):
        assert (await session(c, basic(ALICE, "secret")))[0] == 503
    other = tmp_path / "other"
    other.mkdir()
    # the lab's certificate is not in the system's trust store: TLS fails, nothing is sent
    site2 = imap_site(other, imap_lab, ca="")
    c2 = await client_for(site2)
    status, p = await session(c2, basic(ALICE, "secret"))
    assert status == 503 and "login-unavailable" in site2.log()


async def test_basic_needs_tls_or_a_local_peer(tmp_path, imap_lab, client_for):
    site = imap_site(tmp_path, imap_lab, "trust_forwarded = true\n")
    site.enable(ALICE)
    c = await client_for(site)
    fwd = {"X-Forwarded-For": "203.0.113.9", **basic(ALICE, "secret")}
    r = await c.get("/.well-known/jmap", headers={**fwd, "X-Forwarded-Proto": "http"})
    assert r.status == 403 and "HTTPS" in (await r.json(content_type=None))["detail"]
    r = await c.get("/.well-known/jmap", headers={**fwd, "X-Forwarded-Proto": "https"})
    s = await r.json()
    assert r.status == 200 and s["apiUrl"].startswith("https://")
    # a wrong password through the proxy counts against the client it names
    await c.get("/.well-known/jmap", headers={"X-Forwarded-For": "203.0.113.9",
                                              "X-Forwarded-Proto": "https",
                                              **basic(ALICE, "nope-Q1")})
    assert "client=203.0.113.9" in site.log()


def test_a_peer_off_loopback_over_plain_http_may_not_send_a_password(tmp_path):
    """The rule itself, for peers the tests cannot be (they listen on loopback only)."""
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    from autoresponder.http.auth import Authenticator

    site = Site(tmp_path)
    auth = Authenticator(site.config, None, None)

    def req(peer, secure=False, headers=None):
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda k, d=None: \
            {"peername": (peer, 5000)}.get(k, d)
        return make_mocked_request("GET", "/", headers=headers or {}, transport=transport,
                                   sslcontext=mock.Mock() if secure else None)

    assert auth.secure(req("127.0.0.1")) and auth.secure(req("::1"))
    assert not auth.secure(req("203.0.113.9"))
    assert auth.secure(req("203.0.113.9", secure=True))
    # X-Forwarded-* are ignored unless trust_forwarded is set
    assert not auth.secure(req("203.0.113.9", headers={"X-Forwarded-Proto": "https"}))
    assert auth.client_address(req("127.0.0.1", headers={"X-Forwarded-For": "1.2.3.4"})) \
        == "127.0.0.1"




def test_jmapc_with_a_mail_password_against_serve(imap_lab, serve_factory, sink,  # noqa: F811
                                                  tmp_path):
    """The whole way: jmapc's Basic login over HTTPS to `serve --http`, checked by Dovecot."""
    import jmapc

    from tests.http.jmapc_vacation import VacationResponseGet, VacationResponseSet
    from tests.http.test_serve_jmap import make_cert, wait_port
    from tests.serve.conftest import free_port, smtp_transport

    cert, key = make_cert(tmp_path)
    port = free_port()
    served = serve_factory(workers=1, serve_extra=(
        f'http = ["inet:127.0.0.1:{port}"]\n[http]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
        f'imap_host = "127.0.0.1"\nimap_port = {imap_lab.imap_port}\n'
        f'imap_ca_file = "{imap_lab.ca}"\n'))
    served.configure(smtp_transport(sink.port))
    served.start()
    wait_port(port)
    client = jmapc.Client.create_with_password(f"127.0.0.1:{port}", ALICE, "secret")
    client.requests_session.verify = cert
    client.requests_session.trust_env = False
    assert client.jmap_session.username == ALICE and client.account_id == ALICE
    out = client.request(VacationResponseSet(update={"singleton": {
        "isEnabled": True, "textBody": "Set with my mail password."}}))
    assert out.updated == {"singleton": None}
    assert client.request(VacationResponseGet(ids=None)).data[0]["isEnabled"] is True
    shown = served.agent.admin("vacation", "show", ALICE, "--json").stdout.decode()
    assert "Set with my mail password." in shown
    bad = jmapc.Client.create_with_password(f"127.0.0.1:{port}", ALICE, "wrong-9z")
    bad.requests_session.verify = cert
    bad.requests_session.trust_env = False
    import requests

    with pytest.raises(requests.HTTPError) as e:
        _ = bad.jmap_session
    assert e.value.response.status_code == 401
    assert "wrong-9z" not in served.log() and "event=login-failed" in served.log()


async def test_a_burst_of_parallel_guesses_is_counted_as_it_starts(tmp_path, imap_lab,
                                                                 client_for):
    import asyncio

    site = imap_site(tmp_path, imap_lab, "max_failures_login = 3\n")
    c = await client_for(site)
    statuses = await asyncio.gather(*[session(c, basic(ALICE, f"guess-{i}")) for i in range(10)])
    codes = sorted(s for s, _ in statuses)
    assert codes == [401] * 3 + [429] * 7
    assert site.log().count("event=login-failed") == 3  # only three reached the server
