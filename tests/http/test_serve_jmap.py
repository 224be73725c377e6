"""A real JMAP client (jmapc, over HTTPS with requests) against a running `serve --http`:
session discovery, get, set, get again, the state moving on; the change reaches delivery at
once (the LMTP copy after the set gets the new reply, the one after isEnabled false none)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import jmapc
import pytest

from tests.conftest import personal
from tests.http.jmapc_vacation import (VacationResponseGet, VacationResponseGetExtra,
                                       VacationResponseGetResponse, VacationResponseSet,
                                       VacationResponseSetExtra)
from tests.serve.conftest import free_port, serve_factory, smtp_transport  # noqa: F401

ANA = "ana@example.com"


def make_cert(d) -> "tuple[str, str]":
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class Client(jmapc.Client):
    """jmapc's client trusting the test certificate (its requests session verifies TLS)."""

    def __init__(self, host: str, token: str, ca: str, account: "str | None" = None):
        super().__init__(host, auth=jmapc.auth.BearerAuth(token))
        self.requests_session.verify = ca
        self.requests_session.trust_env = False  # no proxy, no CA bundle from the env
        self._account = account

    @property
    def account_id(self) -> str:
        return self._account or super().account_id


@pytest.fixture
def http_served(serve_factory, sink, tmp_path):  # noqa: F811
    cert, key = make_cert(tmp_path)
    port = free_port()
    s = serve_factory(workers=1, serve_extra=(
        f'http = ["inet:127.0.0.1:{port}"]\n'
        f'[http]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'))
    s.configure(smtp_transport(sink.port))
    s.agent.admin("vacation", "enable", ANA, "--message", "Back on Monday.")
    s.start()
    wait_port(port)
    s.http_host = f"127.0.0.1:{port}"
    s.ca = cert
    return s


def new_token(served, *args) -> str:
    return served.agent.admin("token", "create", *args).stdout.decode().strip()


def test_jmapc_session_get_set_and_delivery_follows(http_served, sink):
    served = http_served
    client = Client(served.http_host, new_token(served, "--account", ANA), served.ca)
    session = client.jmap_session
    assert session.username == ANA and session.api_url == f"https://{served.http_host}/jmap/api"
    assert session.capabilities.core.max_calls_in_request == 16
    assert "urn:ietf:params:jmap:vacationresponse" in session.capabilities.urns
    assert client.account_id == ANA

    got = client.request(VacationResponseGet(ids=None))
    assert isinstance(got, VacationResponseGetResponse), got
    assert got.data[0]["isEnabled"] is True and got.data[0]["textBody"] == "Back on Monday."
    first_state = got.state

    done = client.request(VacationResponseSet(update={"singleton": {
        "textBody": "Away until the 10th: write to Rui.", "subject": "Out of office"}}))
    assert done.updated == {"singleton": None} and done.old_state == first_state
    assert done.new_state != first_state

    again = client.request(VacationResponseGet(ids=["singleton"]))
    assert again.state == done.new_state
    assert again.data[0]["textBody"] == "Away until the 10th: write to Rui."

    # the very next copy gets the new reply
    assert [r.code for r in served.deliver("bob@example.org", ANA, personal())] == [250]
    reply = sink.wait_for(1)[0].message
    assert reply["Subject"] == "Out of office"
    assert "Away until the 10th: write to Rui." in reply.get_body(("plain",)).get_content()

    off = client.request(VacationResponseSet(update={"singleton": {"isEnabled": False}}))
    assert off.updated == {"singleton": None} and off.new_state != done.new_state
    assert [r.code for r in served.deliver("carol@example.org", ANA,
                                           personal(sender="carol@example.org"))] == [250]
    time.sleep(0.5)
    assert len(sink.messages) == 1  # none for Carol: the vacation is off
    assert "disabled" in served.log()

    # extra properties: only with the project's capability
    plain = client.request(VacationResponseGet(ids=None)).data[0]
    assert "interval" not in plain
    rich = client.request(VacationResponseGetExtra(ids=None)).data[0]
    assert rich["template"] == "default" and rich["aliases"] == []
    client.request(VacationResponseSetExtra(update={"singleton": {
        "isEnabled": True, "interval": 3600, "fromName": "Ana Silva"}}))
    shown = served.agent.admin("vacation", "show", ANA, "--json").stdout.decode()
    assert '"interval_seconds": 3600' in shown and '"from_name": "Ana Silva"' in shown


def test_jmapc_admin_and_account_tokens_across_accounts(http_served):
    served = http_served
    served.agent.admin("vacation", "enable", "bob@example.com", "--message", "Bob away.")
    admin = new_token(served, "--admin")
    ana = Client(served.http_host, new_token(served, "--account", ANA), served.ca,
                 account="bob@example.com")
    refused = ana.request(VacationResponseSet(update={"singleton": {"isEnabled": False}}))
    assert isinstance(refused, jmapc.errors.AccountNotFound), refused
    assert ana.request(VacationResponseGet(ids=None)).__class__ is jmapc.errors.AccountNotFound
    shown = served.agent.admin("vacation", "show", "bob@example.com", "--json").stdout.decode()
    assert '"enabled": 1' in shown
    for who in (ANA, "bob@example.com"):
        c = Client(served.http_host, admin, served.ca, account=who)
        assert sorted(c.jmap_session.to_dict()["primaryAccounts"]) == []
        out = c.request(VacationResponseSet(update={"singleton": {"subject": "by admin"}}))
        assert out.updated == {"singleton": None}
        assert c.request(VacationResponseGet(ids=None)).data[0]["subject"] == "by admin"
    revoked = new_token(served, "--account", ANA)
    tid = revoked.split("_")[1]
    served.agent.admin("token", "revoke", tid)
    import requests

    with pytest.raises(requests.HTTPError) as e:
        _ = Client(served.http_host, revoked, served.ca).jmap_session
    assert e.value.response.status_code == 401


def test_sighup_reloads_the_http_side_without_dropping_its_listener(http_served):
    import signal

    served = http_served
    token = new_token(served, "--account", ANA)
    assert Client(served.http_host, token, served.ca).jmap_session.capabilities.core \
        .max_calls_in_request == 16
    text = served.agent.config.read_text().replace("[http]\n", "[http]\nmax_calls = 5\n")
    served.agent.config.write_text(text)
    served.signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = Client(served.http_host, token, served.ca).jmap_session
        if got.capabilities.core.max_calls_in_request == 5:
            break
        time.sleep(0.1)
    assert got.capabilities.core.max_calls_in_request == 5
    assert any("event=http-reload" in line and "result=ok" in line
               for line in served.log().splitlines())
    assert served.stop() == 0
    assert "event=http-stopped" in served.log()


def test_serve_check_refuses_plain_http_off_loopback_and_bad_tls_files(tmp_path):
    from tests.conftest import Agent

    agent = Agent(tmp_path)
    r = agent.run("serve", "--check", "--http", "inet:0.0.0.0:8080")
    assert r.returncode == 78 and b"tls_cert is not set" in r.stderr
    assert agent.run("serve", "--check", "--http", "inet:127.0.0.1:8080").returncode == 0
    assert agent.run("serve", "--check", "--http", "bogus").returncode == 78
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    agent.write_config(extra=f'[http]\ntls_cert = "{tmp_path}/bad.pem"\n'
                             f'tls_key = "{tmp_path}/bad.pem"\n')
    r = agent.run("serve", "--check", "--http", "inet:127.0.0.1:8080")
    assert r.returncode == 78 and b"tls_cert/tls_key" in r.stderr
    agent.write_config(extra=f'[http]\ntls_cert = "{tmp_path}/bad.pem"\n')
    r = agent.run("serve", "--check")
    assert r.returncode == 78 and b"http.tls_key" in r.stderr
