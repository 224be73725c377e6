"""`sieve install --flavour vacation` for an account whose settings Sieve's vacation action cannot
follow (queued absences, weekly windows, audiences, a per-message From, group mail): refused,
naming the account and the settings and pointing at the execute flavour, unless --force, which
installs with a warning. The real command line in this process, on a real SQLite file and a
real sieve directory (sievec is not needed: --no-compile; tests/dovecot/test_sieve_script.py
compiles the scripts this flavour writes)."""

from __future__ import annotations

import json
import os

import pytest

from autoresponder.sieve import script as S
from tests.dovecot.test_sieve_local import snapshot
from tests.test_accounts import InProcessAgent

ANA = "ana@example.com"


@pytest.fixture
def agent(tmp_path):
    a = InProcessAgent(tmp_path, timezone="Europe/Lisbon")
    a.admin("vacation", "enable", ANA, "--message", "Away.", "--alias",
            "ana.silva@example.com")
    (tmp_path / "home").mkdir()
    return a


def sieve(a, *args: str):
    return a.run("sieve", *args, "--home", str(a.dir / "home"), "--no-compile")


@pytest.fixture
def home(agent):
    return agent.dir / "home"


def script(home) -> str:
    return (home / "sieve" / "autoresponder.sieve").read_text()


def test_an_account_the_flavour_can_follow_installs_without_a_word(agent, home):
    """The premise: start, end, aliases and an own From address are what the action holds."""
    agent.admin("vacation", "enable", ANA, "--timezone", "America/New_York", "--start",
                "2027-01-04", "--end", "2027-01-10 09:00", "--reply-from",
                "ana.silva@example.com")
    r = sieve(agent, "install", ANA, "--flavour", "vacation")
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode() == ""
    text = script(home)
    # wall-clock dates in New York, held as the instants delivery reads them as
    assert '"ge" "iso8601" "2027-01-04T05:00:00Z"' in text
    assert '"lt" "iso8601" "2027-01-10T14:00:00Z"' in text
    assert ':from "ana.silva@example.com"' in text


GAPS = [
    (["vacation", "add-window", ANA, "Fri 14:00 - Mon 08:00"], "1 weekly window (window Fri"),
    (["vacation", "add-absence", ANA, "--start", "2027-02-01", "--end", "2027-02-05"],
     "1 queued absence ("),
    (["vacation", "enable", ANA, "--external", "none"], "answering colleagues only"),
    (["vacation", "enable", ANA, "--external-subject", "Away (outside)"],
     "a reply of its own for outsiders"),
    (["vacation", "enable", ANA, "--reply-from", "addressed"],
     "a From address chosen per message"),
    (["vacation", "enable", ANA, "--answer-group-mail"], "answering mail that came through a "
                                                         "group or list address"),
]


@pytest.mark.parametrize("setting,named", GAPS, ids=[g[1].split(" (")[0] for g in GAPS])
def test_a_setting_the_flavour_cannot_follow_is_refused_and_nothing_changes(agent, home,
                                                                            setting, named):
    agent.admin(*setting)
    before = snapshot(home)
    for extra in ((), ("--print",)):
        r = sieve(agent, "install", ANA, "--flavour", "vacation", *extra)
        err = r.stderr.decode()
        assert r.returncode == 65 and r.stdout == b"", (r.returncode, r.stdout, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        for words in (ANA, named, "--flavour execute", "--force"):
            assert words in err, (words, err)
    assert snapshot(home) == before  # nothing written, nothing activated


def test_the_configs_group_mail_default_counts_too(tmp_path):
    a = InProcessAgent(tmp_path)
    a.write_config(extra="[rules]\nanswer_group_mail = true\n")
    a.admin("vacation", "enable", ANA, "--message", "Away.")
    (tmp_path / "home").mkdir()
    r = sieve(a, "install", ANA, "--flavour", "vacation")
    assert r.returncode == 65 and "rules.answer_group_mail" in r.stderr.decode()
    a.admin("vacation", "enable", ANA, "--no-answer-group-mail")  # the account's own says no
    assert sieve(a, "install", ANA, "--flavour", "vacation").returncode == 0


def test_force_installs_with_a_warning_and_status_keeps_saying_it(agent, home):
    agent.admin("vacation", "add-window", ANA, "Mon-Fri 18:00 - 08:00")
    agent.admin("vacation", "add-window", ANA, "Sat-Sun")
    r = sieve(agent, "install", ANA, "--flavour", "vacation", "--force")
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert err.startswith(f"warning: {ANA}: the vacation flavour ignores 2 weekly windows (")
    assert "--flavour execute" in err and "installed 'autoresponder' (vacation)" in \
        r.stdout.decode()
    assert os.readlink(home / ".dovecot.sieve") == "sieve/autoresponder.sieve"
    assert "vacation :days 1" in script(home)
    st = sieve(agent, "status", ANA, "--json")
    out = json.loads(st.stdout)
    assert out["flavour"] == "vacation" and out["up_to_date"] is True
    assert any("2 weekly windows" in w for w in out["warnings"])
    text = sieve(agent, "status", ANA)
    assert "current:   yes" in text.stdout.decode()
    assert "2 weekly windows" in text.stderr.decode()
    # --print --force shows the script on stdout, the warning on stderr
    p = sieve(agent, "install", ANA, "--flavour", "vacation", "--force", "--print")
    assert p.returncode == 0 and p.stdout.decode().startswith("# Written by")
    assert "weekly windows" in p.stderr.decode() and "weekly" not in p.stdout.decode()


def test_the_execute_flavour_is_never_refused(agent, home):
    agent.admin("vacation", "add-window", ANA, "Sat-Sun")
    agent.admin("vacation", "enable", ANA, "--external", "none")
    r = sieve(agent, "install", ANA)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert S.parse_state(script(home)).flavour == "execute"


def test_many_items_are_counted_not_all_listed(agent, home):
    for day in range(1, 7):
        agent.admin("vacation", "add-absence", ANA, "--start", f"2027-03-0{day}", "--end",
                    f"2027-03-0{day + 1}")
    err = sieve(agent, "install", ANA, "--flavour", "vacation").stderr.decode()
    assert "6 queued absences (" in err and "and 3 more" in err
