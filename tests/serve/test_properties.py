"""Hypothesis against one running `serve`: arbitrary bytes as message content and odd
envelopes over LMTP get 250 or 4xx, never a 5xx, and never a hung session (every read has a
deadline; a reply that does not come in time fails the example)."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Agent
from tests.serve import lmtp_client
from tests.serve.conftest import Serve

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

# Reading one answer must never take this long: a hang fails the example.
DEADLINE = 10.0


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-props")
    s = Serve(Agent(tmp), workers=1, serve_extra='idle_timeout = "20s"\n')
    s.configure({"kind": "file", "path": str(tmp / "outbox")},
                autoreply_domain="autoreply.example.com")
    s.agent.admin("vacation", "enable", "ana@example.com")
    s.start()
    yield s
    assert s.stop() == 0
    s.cleanup()


address_text = st.one_of(
    st.just(""), st.just("<>"), st.just("ana@example.com"),
    st.just("ana#example.com@autoreply.example.com"), st.just('"odd local"@example.com'),
    st.just("MAILER-DAEMON"), st.just("a@[127.0.0.1]"), st.just("@route,@x:bob@example.org"),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
            max_size=80),
)
params = st.lists(st.sampled_from(["BODY=8BITMIME", "SMTPUTF8", "SIZE=999999999", "RET=FULL",
                                   "ENVID=x+2By", "NOTIFY=NEVER", "ORCPT=rfc822;a+40b",
                                   "ORCPT=utf-8;\\x{e9}@x", "FOO=bar", "=", "X"]), max_size=3)
content = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda head, body: head + b"\r\n\r\n" + body,
              st.sampled_from([b"From: bob@example.org\r\nTo: ana@example.com\r\nSubject: hi",
                               b"Precedence: bulk\r\nList-Id: <x>", b"Subject: \xff\xfe\x00",
                               b".\r\n..\r\n. ", b"\r\n.\r\n"]),
              st.binary(max_size=2000)),
)


def _line(cmd: str, addr: str, extra: "list[str]") -> bytes:
    text = f"{cmd}<{addr}>" + "".join(" " + p for p in extra)
    return text.encode("utf-8", "surrogateescape")


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sender=address_text, rcpts=st.lists(address_text, min_size=1, max_size=3),
       mail_params=params, rcpt_params=params, data=content)
def test_any_envelope_and_content_get_250_or_4xx(service, sender, rcpts, mail_params,
                                                 rcpt_params, data):
    c = lmtp_client.connect(service.address, timeout=DEADLINE)
    try:
        assert c.reply().code == 220
        c.cmd("LHLO fuzz.test")
        mail = c.cmd(_line("MAIL FROM:", sender, mail_params))
        accepted = 0
        for r in rcpts:
            if c.cmd(_line("RCPT TO:", r, rcpt_params)).code == 250:
                accepted += 1
        if mail.code == 250 and accepted:
            d = c.cmd("DATA")
            assert d.code == 354
            answers = c.send_data(data, accepted)
            assert all(a.code in (250, 451) for a in answers), answers
        assert c.cmd("NOOP").code == 250  # the session is still alive and in sync
    except socket.timeout:
        pytest.fail("the session hung")
    finally:
        c.quit()
    assert c.seen and all(code < 500 for code in c.seen), c.seen


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(st.binary(min_size=0, max_size=600).filter(lambda b: b"\n" not in b),
                     min_size=1, max_size=6))
def test_arbitrary_command_lines_never_get_5xx(service, junk):
    c = lmtp_client.connect(service.address, timeout=DEADLINE)
    try:
        assert c.reply().code == 220
        for line in junk:
            try:
                if c.cmd(line).code == 354:
                    break  # a DATA among the junk: what follows would be the message
            except lmtp_client.Closed:
                break  # a QUIT or a 421 among the junk
    except socket.timeout:
        pytest.fail("the session hung")
    finally:
        c.close()
    assert all(code < 500 for code in c.seen), c.seen
