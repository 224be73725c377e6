"""Issue 13 through the MTA's entry points, as real processes: `deliver` (Postfix's pipe:
-o is the original recipient; the reply is made in deliver's kill-safe child) and `serve`
(LMTP: the RCPT's ORCPT is the original recipient), with replies over real SMTP into a sink.
The account answers only inside a weekly window in its own zone, outsiders get their own
reply from the alias they wrote to, and group mail gets none."""

from __future__ import annotations

import time

from tests.conftest import Agent, personal
from tests.serve import lmtp_client
from tests.serve.conftest import Serve, smtp_transport

ANA = "ana@example.com"
ALIAS = "ana.silva@example.com"


def setup(agent: Agent) -> None:
    agent.admin("vacation", "enable", ANA, "--timezone", "Pacific/Auckland", "--alias", ALIAS,
                "--reply-from", "addressed", "--external-subject", "Out of office")
    agent.admin("vacation", "add-window", ANA, "Mon-Sun")  # every day, all day: always


def test_deliver_pipe(tmp_path, sink):
    a = Agent(tmp_path, timezone="Europe/Lisbon")
    a.write_config(transport=smtp_transport(sink.port), timezone="Europe/Lisbon")
    setup(a)
    r = a.deliver("bob@example.org", ALIAS, personal(to=ALIAS), "-o", ALIAS)
    assert r.returncode == 0, r.stderr
    got = sink.wait_for(1)
    assert len(got) == 1
    m = got[0].message
    assert ALIAS in m["From"] and m["Subject"] == "Out of office"
    # group mail: the original recipient is the group's address
    r = a.deliver("carl@example.net", ANA, personal("carl@example.net",
                                                    to="equipa@example.com"),
                  "-o", "equipa@example.com")
    assert r.returncode == 0
    assert "rule=not-addressed" in a.log_lines()[-1] and "group" in a.log_lines()[-1]
    # a colleague gets the internal reply, from the account's address (written to it)
    r = a.deliver("rui@example.com", ANA, personal("rui@example.com"), "-o", ANA)
    assert r.returncode == 0
    got = sink.wait_for(2)
    m = got[1].message
    assert m["Subject"] == "Auto: Lunch next week?" and ALIAS not in m["From"]


def test_serve_lmtp(tmp_path, sink):
    s = Serve(Agent(tmp_path), workers=1)
    try:
        s.configure(smtp_transport(sink.port))
        setup(s.agent)
        s.start()
        assert [x.code for x in s.deliver("bob@example.org", ALIAS, personal(to=ALIAS))] \
            == [250]
        m = sink.wait_for(1)[0].message
        assert ALIAS in m["From"] and m["Subject"] == "Out of office"
        c = lmtp_client.connect(s.address)
        try:
            assert c.reply().code == 220
            c.cmd("LHLO client.test")
            c.cmd("MAIL FROM:<carl@example.net>")
            assert c.cmd(f"RCPT TO:<{ANA}> ORCPT=rfc822;equipa@example.com").code == 250
            assert c.cmd("DATA").code == 354
            answers = c.send_data(personal("carl@example.net", to="equipa@example.com"), 1)
            assert [x.code for x in answers] == [250]
        finally:
            c.quit()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "rule=not-addressed" not in s.log():
            time.sleep(0.05)
        assert "rule=not-addressed" in s.log() and "equipa@example.com" in s.log()
        assert len(sink.messages) == 1
    finally:
        s.cleanup()
