"""Against a running private Dovecot: the installed scripts deliver, reply, keep the user's
filters, and uninstall puts back exactly what was there."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import pytest

from tests.dovecot.lab import NOBODY, PASSWORD

pytestmark = pytest.mark.usefixtures("dovecot_available")


def message(sender: str, to: str, subject: str = "Lunch?", extra: str = "",
            msgid: str = "<m1@example.org>", body: str = "Hi,\r\nlunch on Tuesday?\r\n") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: {msgid}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n"
            + body).encode()


def settle(sink, count: int, wait: float = 0.5) -> list:
    """LMTP answers after Sieve (and the agent) finished; allow stragglers, then count."""
    time.sleep(wait)
    return sink.wait_for(count, timeout=0.1)


def user_filter(lab, user: str, plain: bool = False) -> "tuple[Path, bytes]":
    """Give `user` an active `fileinto "Work"` script (a link, or a plain file) and the folder."""
    home = lab.reset_home(user)
    text = b'# my filters\r\nrequire "fileinto";\r\nfileinto "Work";\r\n'
    for sub in ("cur", "new", "tmp"):
        (home / "Maildir" / ".Work" / sub).mkdir(parents=True)
    if plain:
        (home / ".dovecot.sieve").write_bytes(text)
        path = home / ".dovecot.sieve"
    else:
        (home / "sieve").mkdir()
        path = home / "sieve" / "work.sieve"
        path.write_bytes(text)
        os.symlink("sieve/work.sieve", home / ".dovecot.sieve")
    for dirpath, dirs, files in os.walk(home):
        for n in [dirpath] + [os.path.join(dirpath, f) for f in dirs + files]:
            os.lchown(n, NOBODY, NOBODY)
    return path, text


def test_execute_script_delivers_and_the_agent_replies_once(lab, agent, sink):
    user, addr = "away", lab.address("away")
    lab.reset_home(user)
    agent.cli("vacation", "enable", addr, "--message", "Back on Monday.",
              "--from-name", "Away Person")
    # no --home: the installer asks the running Dovecot for the user's home
    r = agent.cli("sieve", "install", addr, "--dovecot-config", str(lab.conf))
    assert "activated" in r.stdout
    home = lab.home(user)
    assert os.readlink(home / ".dovecot.sieve") == "sieve/autoresponder.sieve"
    assert (home / "sieve" / "autoresponder.svbin").exists()  # sievec compiled it

    lab.lmtp("bob@example.org", user, message("Bob <bob@example.org>", addr))
    assert len(lab.mailbox(user)) == 1
    got = settle(sink, 1)
    assert len(got) == 1, lab.log_text()[-3000:]
    reply = got[0]
    assert reply.mail_from == "<>"
    assert reply.rcpt_tos == ["bob@example.org"]
    m = reply.message
    assert m["Auto-Submitted"] == "auto-replied"
    assert m["From"].addresses[0].addr_spec == addr
    assert "Back on Monday." in m.get_body(("plain",)).get_content()
    # the agent saw Pigeonhole's envelope: its log line names account and sender
    assert any(f"account={addr}" in ln and "sender=bob@example.org" in ln
               for ln in agent.log_lines())

    # same sender again: delivered, no second reply
    lab.lmtp("bob@example.org", user, message("Bob <bob@example.org>", addr,
                                              msgid="<m2@example.org>"))
    assert len(lab.mailbox(user)) == 2
    # list mail: delivered, no reply
    lab.lmtp("owner-news@lists.example.net", user,
             message("News <news@lists.example.net>", addr, msgid="<m3@example.org>",
                     extra="List-Id: <news.lists.example.net>\r\nPrecedence: list\r\n"))
    # null envelope sender (Pigeonhole leaves SENDER unset) but an ordinary From: no reply
    lab.lmtp("", user, message("Carol <carol@example.org>", addr, msgid="<m4@example.org>"))
    assert len(lab.mailbox(user)) == 4
    assert len(settle(sink, 2)) == 1
    assert "rule=null-sender" in agent.log_lines()[-1]


def test_a_failing_agent_never_loses_mail_nor_the_users_filter(lab, agent, sink):
    user, addr = "sam", lab.address("sam")
    user_filter(lab, user)
    agent.cli("vacation", "enable", addr, "--message", "Away.")
    # a wrapper whose agent cannot start (the config is missing): the agent exits 78
    broken = lab.bin / "autoresponder-broken"
    broken.write_text((lab.bin / "autoresponder").read_text().replace(
        str(agent.config), str(agent.dir / "missing.toml")))
    os.chmod(broken, 0o755)
    agent.cli("sieve", "install", addr, "--home", str(lab.home(user)),
              "--program", "autoresponder-broken", "--dovecot-config", str(lab.conf))
    lab.lmtp("bob@example.org", user, message("bob@example.org", addr))
    assert len(lab.mailbox(user, "Work")) == 1 and lab.mailbox(user) == []
    assert settle(sink, 1) == []
    assert "autoresponder-broken" in lab.log_text()  # Pigeonhole logged the failed program


def test_vacation_flavour_gives_pigeonholes_own_reply(lab, agent, sink):
    user, addr = "vic", lab.address("vic")
    lab.reset_home(user)
    subject = 'Out "of" office \\ back soon'
    text = "I am away.\n.\n.. dotted line\nação ${hex:41}"
    agent.cli("vacation", "enable", addr, "--subject", subject, "--message", text,
              "--from-name", 'Vic "V" Ng', "--alias", "victor@lab.test", "--interval", "2d")
    r = agent.cli("sieve", "install", addr, "--flavour", "vacation",
                  "--home", str(lab.home(user)), "--dovecot-config", str(lab.conf))
    assert "activated" in r.stdout
    script = (lab.home(user) / "sieve" / "autoresponder.sieve").read_text()
    assert ":days 2" in script and ":mime" in script  # default template has an HTML part

    # mail to the alias: Pigeonhole must accept it through :addresses
    lab.lmtp("carol@example.org", user, message("Carol <carol@example.org>", "victor@lab.test"))
    assert len(lab.mailbox(user)) == 1
    got = sink.wait_for(1, timeout=10)
    assert len(got) == 1, lab.log_text()[-3000:]
    reply = got[0]
    assert reply.mail_from == "<>" and reply.rcpt_tos == ["carol@example.org"]
    m = reply.message
    assert m["Auto-Submitted"] == "auto-replied (vacation)"  # Pigeonhole's, not the agent's
    assert m["Subject"] == subject
    assert m["From"].addresses[0].display_name == 'Vic "V" Ng'
    assert m["From"].addresses[0].addr_spec == addr
    body = m.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text in body
    assert m.get_body(("html",)) is not None

    # Pigeonhole's own memory: no second reply to the same sender
    lab.lmtp("carol@example.org", user, message("Carol <carol@example.org>", addr,
                                                 msgid="<m2@example.org>"))
    assert len(settle(sink, 2)) == 1

    st = agent.cli("sieve", "status", addr, "--json", "--home", str(lab.home(user)),
                   "--dovecot-config", str(lab.conf))
    out = json.loads(st.stdout)
    assert out["is_active"] and out["flavour"] == "vacation" and out["up_to_date"] is True
    agent.cli("vacation", "enable", addr, "--message", "Changed text.")
    out = json.loads(agent.cli("sieve", "status", addr, "--json", "--home",
                               str(lab.home(user)), "--dovecot-config",
                               str(lab.conf)).stdout)
    assert out["up_to_date"] is False


@pytest.mark.parametrize("plain", [False, True], ids=["link", "plain-file"])
def test_existing_filter_keeps_working_and_uninstall_restores_it(lab, agent, sink, plain):
    user, addr = "alice", lab.address("alice")
    path, text = user_filter(lab, user, plain=plain)
    home = lab.home(user)
    before_link = None if plain else os.readlink(home / ".dovecot.sieve")
    agent.cli("vacation", "enable", addr, "--message", "Away.")
    loc = ["--home", str(home), "--dovecot-config", str(lab.conf)]

    r = agent.cli("sieve", "install", addr, *loc)
    assert "still runs" in r.stdout
    bob = f"bob-{'plain' if plain else 'link'}@example.org"  # the ledger outlives one case
    lab.lmtp(bob, user, message(bob, addr))
    assert len(lab.mailbox(user, "Work")) == 1 and lab.mailbox(user) == []
    assert len(settle(sink, 1)) == 1  # and the agent replied

    r = agent.cli("sieve", "install", addr, *loc)  # again: idempotent, same previous
    assert "still runs" in r.stdout
    agent.cli("sieve", "uninstall", addr, *loc)
    active = home / ".dovecot.sieve"
    if plain:
        assert not active.is_symlink() and active.read_bytes() == text
        assert not (home / "sieve" / "dovecot.orig.sieve").exists()
    else:
        assert os.readlink(active) == before_link and path.read_bytes() == text
    assert not (home / "sieve" / "autoresponder.sieve").exists()
    sink.clear()
    lab.lmtp("dave@example.org", user, message("dave@example.org", addr, msgid="<m9@x>"))
    assert len(lab.mailbox(user, "Work")) == 2
    assert settle(sink, 1) == []  # our script is gone: no agent, no reply


def test_managesieve_install_status_uninstall_and_refusal(lab, agent, sink, monkeypatch):
    from sievelib.managesieve import Client

    from autoresponder.sieve.install import InstallError
    from autoresponder.sieve.managesieve import ManageSieveStore

    user, addr = "sally", lab.address("sally")
    lab.reset_home(user)
    mine = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "X"; }\r\n'
    c = Client("127.0.0.1", lab.sieve_port)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert c.connect(addr, PASSWORD, starttls=False, authmech="PLAIN")
    assert c.putscript("mine", mine) and c.setactive("mine")
    env = {"AUTORESPONDER_SIEVE_PASSWORD": PASSWORD}
    ms = ["--server", "127.0.0.1", "--port", str(lab.sieve_port)]
    r = agent.cli("sieve", "install", addr, *ms, env=env)
    assert "activated" in r.stdout
    if lab.ca is not None:  # the server offers STARTTLS, so the password went over TLS
        logins = [ln for ln in lab.log_text().splitlines()
                  if "managesieve-login: Info: Login: user=<sally@" in ln]
        assert logins and all(", TLS," in ln for ln in logins[1:]), logins
    out = json.loads(agent.cli("sieve", "status", addr, "--json", *ms, env=env).stdout)
    assert out["is_active"] and out["ours"] and out["previous"] == "mine"
    assert out["flavour"] == "execute" and sorted(out["scripts"]) == ["autoresponder", "mine"]

    # mail still reaches the agent through the uploaded script
    agent.cli("vacation", "enable", addr, "--message", "Away.")
    lab.lmtp("bob@example.org", user, message("bob@example.org", addr))
    assert len(settle(sink, 1)) == 1

    # a script the server refuses: its own words, and nothing changed
    r = agent.cli("sieve", "install", addr, *ms, "--name", "other", "--program", "../x",
                  env=env, check=False)
    assert r.returncode == 65
    assert "invalid program name '../x'" in r.stderr and "refused by the server" in r.stderr
    for k, v in agent.extra_env.items():  # OpenSSL reads SSL_CERT_FILE at each verify setup
        monkeypatch.setenv(k, v)
    store = ManageSieveStore("127.0.0.1", lab.sieve_port, addr, PASSWORD)
    try:
        with pytest.raises(InstallError) as e:
            store.put("broken", 'require "fileinto";\nfileinto "X"\n')
        assert "expected end of command ';'" in str(e.value)
        assert store.active() == "autoresponder" and "broken" not in store.names()
    finally:
        store.close()

    r = agent.cli("sieve", "uninstall", addr, *ms, env=env)
    assert "re-activated 'mine'" in r.stdout
    active, scripts = c.listscripts()
    assert active == "mine" and scripts == []
    assert c.getscript("mine").replace("\n", "\r\n") + "\r\n" == mine  # sievelib drops the last EOL
    out = json.loads(agent.cli("sieve", "status", addr, "--json", *ms, env=env).stdout)
    assert not out["installed"] and out["active"] == "mine"

    r = agent.cli("sieve", "status", addr, *ms, env={"AUTORESPONDER_SIEVE_PASSWORD": "wrong"},
                  check=False)
    assert r.returncode == 65 and "login" in r.stderr
    c.logout()


def test_global_sieve_before_via_dovecot_lda_and_what_exit_75_means(lab, agent, sink):
    """contrib's global script as sieve_before; dovecot-lda exits 0 whatever the agent says,
    so a temporary failure (75) loses that one reply, never the message."""
    import subprocess

    user, addr = "glob", lab.address("glob")
    user_filter(lab, user)  # the user's own script runs after the global one
    r = subprocess.run(["sievec", "-c", str(lab.conf), str(lab.before)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    agent.cli("vacation", "enable", addr, "--message", "Away.")

    r = lab.lda("bob@example.org", user, message("bob@example.org", addr))
    assert r.returncode == 0, r.stderr
    assert len(lab.mailbox(user, "Work")) == 1
    assert len(settle(sink, 1)) == 1

    sink.fail_with = "451 4.3.0 try again later"  # the reply cannot be sent: agent exits 75
    r = lab.lda("carol@example.org", user, message("carol@example.org", addr, msgid="<c1@x>"))
    assert r.returncode == 0  # not 75: nobody will retry this delivery
    assert len(lab.mailbox(user, "Work")) == 2
    assert "Terminated with non-zero exit code 75" in lab.log_text()
    lab.lmtp("erin@example.org", user, message("erin@example.org", addr, msgid="<e1@x>"))
    assert len(lab.mailbox(user, "Work")) == 3  # LMTP: 250 for the recipient all the same
    sink.fail_with = None
    assert settle(sink, 2) == sink.messages and len(sink.messages) == 1

    # nothing was recorded for carol, so her next message gets the reply
    r = lab.lda("carol@example.org", user, message("carol@example.org", addr, msgid="<c2@x>"))
    assert r.returncode == 0
    got = settle(sink, 2)
    assert len(got) == 2 and got[1].rcpt_tos == ["carol@example.org"]
    assert lab.log_text().count("Terminated with non-zero exit code 75") == 2

    # with execute allowed for global scripts only, users cannot name the program themselves
    r = agent.cli("sieve", "install", addr, "--server", "127.0.0.1", "--port",
                  str(lab.sieve_port), env={"AUTORESPONDER_SIEVE_PASSWORD": PASSWORD},
                  check=False)
    assert r.returncode == 65 and "restricted to global scripts" in r.stderr, r.stderr
