"""The smtp transport against a submission-style aiosmtpd: STARTTLS required, AUTH PLAIN over
TLS only, certificate verified against the CA file the config names."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

from tests.conftest import Agent, personal
from tests.support.sink import Handler, Sink, free_port


@pytest.fixture
def tls_sink(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult

    sink = Sink(port=free_port(), enable_dsn=False)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"ana", b"s3cret")
        logins.append((mechanism, auth_data.login, ok))
        return AuthResult(success=ok, handled=False)

    class _Controller(Controller):
        def factory(self):
            return SMTP(self.handler, tls_context=ctx, require_starttls=True,
                        auth_require_tls=True, authenticator=authenticator,
                        hostname="submission.test")

    sink.controller = _Controller(Handler(sink), hostname="127.0.0.1", port=sink.port)
    sink.controller.start()
    sink.cert = cert
    sink.logins = logins
    try:
        yield sink
    finally:
        sink.stop()


def test_starttls_and_auth_with_a_verified_certificate(tmp_path, tls_sink):
    pw = tmp_path / "password"
    pw.write_text("s3cret\n")
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": tls_sink.port,
                              "starttls": True, "username": "ana",
                              "password_file": str(pw), "ca_file": str(tls_sink.cert)})
    a.admin("vacation", "enable", "ana@example.com")
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0, r.stderr
    [got] = tls_sink.wait_for(1)
    assert got.message["Auto-Submitted"] == "auto-replied"
    assert tls_sink.logins and tls_sink.logins[-1][2] is True


def test_wrong_password_or_untrusted_certificate_is_not_a_reply(tmp_path, tls_sink):
    a = Agent(tmp_path)
    a.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": tls_sink.port,
                              "starttls": True, "username": "ana", "password": "wrong",
                              "ca_file": str(tls_sink.cert)})
    a.admin("vacation", "enable", "ana@example.com")
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    # a wrong password is our config's fault, not this reply's: defer until it is fixed
    assert r.returncode == 75
    assert "AUTH refused" in a.log_lines()[-1] and "rule=tempfail" in a.log_lines()[-1]
    # no CA file: the self-signed certificate is not trusted, a temporary failure
    (tmp_path / "b").mkdir()
    b = Agent(tmp_path / "b")
    b.write_config(transport={"kind": "smtp", "host": "127.0.0.1", "port": tls_sink.port,
                              "starttls": True, "username": "ana", "password": "s3cret"})
    b.admin("vacation", "enable", "ana@example.com")
    r = b.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 75
    assert "CERTIFICATE_VERIFY_FAILED" in b.log_lines()[-1]
    assert tls_sink.messages == []
