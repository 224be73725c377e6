"""The account commands against a real SQLite file: `vacation enable/disable/show/list`,
aliases, +detail, the reply handle, `history` and `purge`.

Mostly through the real command line in a subprocess (tests.conftest.Agent), and a few
in-process through autoresponder.accounts with pytest-asyncio.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from autoresponder import accounts, cli, config as config_mod
from tests.conftest import Agent, personal

ANA = "ana@example.com"


class InProcessAgent(Agent):
    """The same command line, run by autoresponder.cli.main in this process (fast); the
    first tests below use the subprocess Agent to show the two agree."""

    def run(self, *args: str, input: bytes = b"", env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        out, err = io.StringIO(), io.StringIO()
        stdin = io.TextIOWrapper(io.BytesIO(input), encoding="utf-8")
        saved_env, saved_stdin = dict(os.environ), sys.stdin
        os.environ.clear()
        os.environ.update(self.env)
        os.environ.update(env or {})
        sys.stdin = stdin
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(["--config", str(self.config), *args])
                except SystemExit as e:  # argparse
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                except Exception:  # what the interpreter would do: a traceback, exit 1
                    import traceback

                    err.write(traceback.format_exc())
                    code = 1
        finally:
            sys.stdin = saved_stdin
            os.environ.clear()
            os.environ.update(saved_env)
        return subprocess.CompletedProcess(args, code, out.getvalue().encode(),
                                           err.getvalue().encode())


@pytest.fixture
def agent(tmp_path):
    return InProcessAgent(tmp_path)


def show(a: Agent, address: str = ANA) -> dict:
    return json.loads(a.admin("vacation", "show", address, "--json").stdout)


def listing(a: Agent) -> list[dict]:
    return json.loads(a.admin("vacation", "list", "--json").stdout)


def explain(a: Agent, msg: bytes, sender: str = "bob@example.org",
            recipient: str = ANA) -> dict:
    r = a.run("explain", "--json", "--sender", sender, "--recipient", recipient, input=msg)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def refused(r, *words: str) -> None:
    assert r.returncode != 0, r
    err = r.stderr.decode()
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)


# --- enable / show / list / disable ---------------------------------------------------------

def test_enable_show_list_disable(tmp_path):
    agent = Agent(tmp_path)  # real subprocesses
    r = agent.admin("vacation", "enable", ANA, "--subject", "Away", "--message",
                    "Back on Monday.\nCall Carl for urgent matters.", "--language", "pt",
                    "--interval", "7d", "--from-name", "Ana  Silva")
    assert "vacation enabled for ana@example.com" in r.stdout.decode()
    assert agent.db.exists()
    v = show(agent)
    assert v["address"] == ANA and v["enabled"] == 1 and v["in_force"] is True
    assert v["subject"] == "Away" and v["language"] == "pt"
    assert v["message"] == "Back on Monday.\nCall Carl for urgent matters."
    assert v["interval"] == 7 * 86400 and v["interval_seconds"] == 7 * 86400
    assert v["from_name"] == "Ana Silva" and v["template"] == "default"
    assert v["aliases"] == [] and v["start_at"] is None and v["end_at"] is None
    text = agent.admin("vacation", "show", ANA).stdout.decode()
    assert text.startswith(ANA) and "in force" in text and "1w" in text

    agent.admin("vacation", "enable", "carl@example.com")
    rows = listing(agent)
    assert [r["address"] for r in rows] == [ANA, "carl@example.com"]
    assert rows[1]["interval"] == 86400  # the config's default

    table = agent.admin("vacation", "list").stdout.decode().splitlines()
    assert table[0].split()[:3] == ["ADDRESS", "ENABLED", "IN"]
    assert table[1].startswith(ANA) and table[2].startswith("carl@example.com")

    r = agent.admin("vacation", "disable", ANA)
    assert "disabled" in r.stdout.decode()
    v = show(agent)
    assert v["enabled"] == 0 and v["in_force"] is False and "disabled" in v["status"]
    assert v["message"].startswith("Back on Monday.")  # settings are kept
    assert explain(agent, personal())["rule"] == "account"


def test_the_database_is_a_real_sqlite_file_in_wal_mode(agent):
    agent.admin("vacation", "enable", ANA)
    conn = sqlite3.connect(agent.db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT address, enabled FROM accounts").fetchall() == [(ANA, 1)]
    finally:
        conn.close()


def test_list_of_an_empty_database(agent):
    assert listing(agent) == []
    assert agent.admin("vacation", "list").stdout.decode().split()[0] == "ADDRESS"


@pytest.mark.parametrize("spelling", ["Ana@Example.COM", "ana+holidays@example.com",
                                      "<ana@example.com>", '"ana"@example.com',
                                      " ana@EXAMPLE.com "])
def test_addresses_are_normalised_on_the_way_in(agent, spelling):
    agent.admin("vacation", "enable", spelling)
    assert [r["address"] for r in listing(agent)] == [ANA]
    assert show(agent, spelling)["address"] == ANA


@pytest.mark.parametrize("bad", ["ana", "@example.com", "ana@", ""])
def test_not_an_address_is_refused(agent, bad):
    refused(agent.run("vacation", "enable", bad))
    assert listing(agent) == []


def test_unknown_account_show_and_disable_are_refused(tmp_path):
    agent = Agent(tmp_path)  # real subprocesses
    refused(agent.run("vacation", "show", "nobody@example.com"), "nobody@example.com")
    refused(agent.run("vacation", "disable", "nobody@example.com"), "nobody@example.com")


def test_bad_options_are_refused(agent, tmp_path):
    refused(agent.run("vacation", "enable", ANA, "--interval", "soon"), "soon")
    refused(agent.run("vacation", "enable", ANA, "--template", "nosuch"), "nosuch")
    r = agent.run("vacation", "enable", ANA, "--language", "fr")
    assert r.returncode != 0 and b"fr" in r.stderr
    refused(agent.run("vacation", "enable", ANA, "--message-file",
                      str(tmp_path / "missing.txt")))
    assert listing(agent) == []


def test_message_from_a_file_and_from_stdin(agent, tmp_path):
    f = tmp_path / "msg.txt"
    # stored as every writer stores a reply text (store.base.body_text): LF line breaks, no
    # blank line before or after, so the page and the API read back the same words
    f.write_bytes("\r\nEstou de férias.\r\nVolto a 4 de janeiro.\r\n".encode())
    agent.admin("vacation", "enable", ANA, "--message-file", str(f))
    assert show(agent)["message"] == "Estou de férias.\nVolto a 4 de janeiro."
    r = agent.run("vacation", "enable", ANA, "--message-file", "-",
                  input="From stdin.\n".encode())
    assert r.returncode == 0, r.stderr
    assert show(agent)["message"] == "From stdin."


def test_enable_keeps_fields_not_given_while_the_vacation_is_on(agent):
    agent.admin("vacation", "enable", ANA, "--subject", "Away", "--message", "Back Monday.",
                "--end", "2099-01-31")
    agent.admin("vacation", "enable", ANA, "--interval", "2h")
    v = show(agent)
    assert (v["subject"], v["message"], v["interval_seconds"]) == ("Away", "Back Monday.", 7200)
    assert v["end_at"] is not None


def test_re_enabling_a_disabled_vacation_clears_old_dates(agent):
    agent.admin("vacation", "enable", ANA, "--start", "2026-01-13", "--end", "2026-01-20",
                "--message", "Old.")
    agent.admin("vacation", "disable", ANA)
    agent.admin("vacation", "enable", ANA)
    v = show(agent)
    assert v["start_at"] is None and v["end_at"] is None and v["in_force"] is True
    assert v["message"] == "Old."


def test_outside_the_dates_it_is_not_in_force(agent):
    agent.admin("vacation", "enable", ANA, "--start", "2099-12-20")
    v = show(agent)
    assert v["in_force"] is False and "starts" in v["status"]
    assert explain(agent, personal())["rule"] == "account"
    agent.admin("vacation", "enable", ANA, "--start", "2020-01-13", "--end", "2020-01-20")
    v = show(agent)
    assert v["in_force"] is False and "ended" in v["status"]


# --- aliases --------------------------------------------------------------------------------

def test_aliases_are_stored_normalised_and_find_the_account(agent):
    agent.admin("vacation", "enable", ANA, "--alias", "Ana.Silva@Example.COM",
                "--alias", "a.silva@example.net")
    assert show(agent)["aliases"] == ["a.silva@example.net", "ana.silva@example.com"]
    assert show(agent, "ana.silva@example.com")["address"] == ANA
    # mail to the alias is mail to the account
    d = explain(agent, personal(to="ana.silva@example.com"), recipient="ana.silva@example.com")
    assert (d["decision"], d["account"]) == ("reply", ANA)
    # mail from an alias is mail from the account itself
    d = explain(agent, personal(sender="a.silva@example.net"), sender="a.silva@example.net")
    assert d["rule"] == "self"
    # listing shows them; giving --alias again replaces the list
    assert listing(agent)[0]["aliases"] == ["a.silva@example.net", "ana.silva@example.com"]
    agent.admin("vacation", "enable", ANA, "--alias", "ana.s@example.com")
    assert show(agent)["aliases"] == ["ana.s@example.com"]
    refused(agent.run("vacation", "show", "ana.silva@example.com"))
    # enabling without --alias keeps them
    agent.admin("vacation", "enable", ANA, "--message", "x")
    assert show(agent)["aliases"] == ["ana.s@example.com"]


def test_commands_given_an_alias_act_on_its_account_or_say_so(agent):
    """`vacation show ALIAS` shows the account; disable and history must not pretend the
    alias has nothing (README: an alias is another address of the account)."""
    agent.admin("vacation", "enable", ANA, "--alias", "ana.silva@example.com")
    assert agent.deliver("bob@example.org", "ana.silva@example.com",
                         personal(to="ana.silva@example.com")).returncode == 0
    assert len(agent.replies()) == 1
    r = agent.run("history", "ana.silva@example.com", "--json")
    assert r.returncode == 0
    assert [h["sender"] for h in json.loads(r.stdout)] == ["bob@example.org"]
    r = agent.run("vacation", "disable", "ana.silva@example.com")
    if r.returncode == 0:
        assert show(agent)["enabled"] == 0
    else:
        assert ANA in r.stderr.decode(), r.stderr


def test_alias_conflicts_are_refused(agent):
    agent.admin("vacation", "enable", ANA, "--alias", "ana.silva@example.com")
    agent.admin("vacation", "enable", "carl@example.com")
    # an alias of another account
    refused(agent.run("vacation", "enable", "carl@example.com", "--alias",
                      "ana.silva@example.com"), "ana.silva@example.com", ANA)
    # an account of its own
    refused(agent.run("vacation", "enable", ANA, "--alias", "carl@example.com"),
            "carl@example.com")
    # the account itself
    refused(agent.run("vacation", "enable", ANA, "--alias", "Ana@example.com"), ANA)
    # not an address
    refused(agent.run("vacation", "enable", ANA, "--alias", "not-an-address"),
            "not-an-address")
    # nothing changed by the refusals
    assert show(agent)["aliases"] == ["ana.silva@example.com"]
    assert show(agent, "carl@example.com")["aliases"] == []


def test_an_account_cannot_be_created_over_an_existing_alias(agent):
    agent.admin("vacation", "enable", ANA, "--alias", "ana.silva@example.com")
    r = agent.run("vacation", "enable", "ana.silva@example.com")
    refused(r, "ana.silva@example.com")
    assert [x["address"] for x in listing(agent)] == [ANA]


# --- +detail --------------------------------------------------------------------------------

def test_detail_addresses_count_as_the_account(agent):
    agent.admin("vacation", "enable", ANA)
    d = explain(agent, personal(to="Ana <ana+travel@example.com>"),
                recipient="ana+travel@example.com")
    assert (d["decision"], d["account"], d["recipient"]) == ("reply", ANA, ANA)
    # the envelope is plain, the header carries the detail
    d = explain(agent, personal(to="Ana <ana+travel@example.com>"))
    assert d["decision"] == "reply"
    # a detail of someone else is not the account
    d = explain(agent, personal(to="anab+ana@example.com"))
    assert d["rule"] == "not-addressed"


def test_other_recipient_delimiters(tmp_path):
    a = InProcessAgent(tmp_path, recipient_delimiter="+-")
    a.admin("vacation", "enable", "ana-news@example.com")
    assert listing(a)[0]["address"] == ANA
    d = explain(a, personal(to="ana-lists@example.com"), recipient="ana-lists@example.com")
    assert (d["decision"], d["account"]) == ("reply", ANA)


# --- the handle -----------------------------------------------------------------------------

def test_handle_changes_with_the_reply_and_stays_otherwise(agent):
    agent.admin("vacation", "enable", ANA, "--message", "Back Monday.", "--subject", "Away")
    h0 = show(agent)["handle"]
    assert h0
    # nothing changed, or only things that are not the reply: same handle
    agent.admin("vacation", "enable", ANA)
    assert show(agent)["handle"] == h0
    agent.admin("vacation", "enable", ANA, "--message", "Back Monday.", "--subject", "Away")
    assert show(agent)["handle"] == h0
    agent.admin("vacation", "enable", ANA, "--interval", "2d", "--end", "2099-01-01",
                "--alias", "ana.silva@example.com")
    assert show(agent)["handle"] == h0
    seen = {h0}
    for args in (("--message", "Back Tuesday."), ("--subject", "Out"), ("--language", "pt"),
                 ("--from-name", "Ana S."), ("--template", "default", "--language", "en")):
        agent.admin("vacation", "enable", ANA, *args)
        h = show(agent)["handle"]
        assert h not in seen, args
        seen.add(h)
    # re-enabled after a disable: a new round, even with the very same settings
    before = show(agent)["handle"]
    agent.admin("vacation", "disable", ANA)
    agent.admin("vacation", "enable", ANA)
    after = show(agent)["handle"]
    assert after != before and after not in seen


def test_a_new_handle_means_a_new_reply_to_the_same_sender(agent):
    agent.admin("vacation", "enable", ANA, "--message", "One.")
    assert agent.deliver("bob@example.org", ANA, personal()).returncode == 0
    assert len(agent.replies()) == 1
    assert explain(agent, personal())["rule"] == "already-replied"
    agent.admin("vacation", "enable", ANA)  # unchanged: still answered
    assert explain(agent, personal())["rule"] == "already-replied"
    agent.admin("vacation", "enable", ANA, "--message", "Two.")
    assert explain(agent, personal())["decision"] == "reply"


# --- history and purge ----------------------------------------------------------------------

def test_history_lists_who_got_a_reply(agent):
    agent.admin("vacation", "enable", ANA, "--alias", "ana.silva@example.com")
    agent.admin("vacation", "enable", "carl@example.com")
    for sender in ("bob@example.org", "dora@example.net", "Bob@Example.ORG"):
        r = agent.deliver(sender, ANA, personal(sender=sender))
        assert r.returncode == 0, r.stderr
    hist = json.loads(agent.admin("history", ANA, "--json").stdout)
    assert sorted(h["sender"] for h in hist) == ["bob@example.org", "dora@example.net"]
    for h in hist:
        assert h["status"] == "sent" and h["message_id"].startswith("<autoreply.")
        assert h["sent_at"].endswith("Z")
    assert json.loads(agent.admin("history", "carl@example.com", "--json").stdout) == []
    assert "no replies" in agent.admin("history", "carl@example.com").stdout.decode()
    text = agent.admin("history", ANA).stdout.decode()
    assert "bob@example.org" in text and "dora@example.net" in text
    # by alias or +detail: the same account
    assert len(json.loads(agent.admin("history", "ana+x@example.com", "--json").stdout)) == 2
    limited = json.loads(agent.admin("history", ANA, "--json", "--limit", "1").stdout)
    assert len(limited) == 1


def ledger_rows(a: Agent) -> int:
    conn = sqlite3.connect(a.db)
    try:
        return conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
    finally:
        conn.close()


def history_rows(a: Agent) -> int:
    conn = sqlite3.connect(a.db)
    try:
        return conn.execute("SELECT count(*) FROM replies").fetchone()[0]
    finally:
        conn.close()


def test_purge_keeps_live_windows_and_drops_expired_ones(tmp_path):
    a = InProcessAgent(tmp_path, extra='[rate_limit]\nperiod = "1s"\n')
    a.admin("vacation", "enable", ANA, "--interval", "1s")
    a.admin("vacation", "enable", "carl@example.com", "--interval", "1d")
    assert a.deliver("bob@example.org", ANA, personal()).returncode == 0
    assert a.deliver("bob@example.org", "carl@example.com",
                     personal(to="carl@example.com")).returncode == 0
    assert (ledger_rows(a), history_rows(a)) == (2, 2)
    time.sleep(1.2)
    r = a.admin("purge")
    assert "purged 1 ledger rows and 0 history rows" in r.stdout.decode()
    assert (ledger_rows(a), history_rows(a)) == (1, 2)
    r = a.admin("purge", "--keep-history", "0s")
    assert "purged 0 ledger rows and 2 history rows" in r.stdout.decode()
    assert history_rows(a) == 0
    # carl's open window is untouched, so bob still counts as answered there
    d = explain(a, personal(to="carl@example.com"), recipient="carl@example.com")
    assert d["rule"] == "already-replied"
    d = explain(a, personal())
    assert d["decision"] == "reply"


def test_purge_older_than_waits_for_the_extra_margin(tmp_path):
    a = InProcessAgent(tmp_path)
    a.admin("vacation", "enable", ANA, "--interval", "1s")
    assert a.deliver("bob@example.org", ANA, personal()).returncode == 0
    time.sleep(1.2)
    assert "purged 0 ledger rows" in a.admin("purge", "--older-than", "1h").stdout.decode()
    assert ledger_rows(a) == 1
    assert "purged 1 ledger rows" in a.admin("purge").stdout.decode()


@pytest.mark.parametrize("bad", ["forever", "\u00b2", "1\u00b2h"])
def test_purge_with_a_bad_duration_is_refused(agent, bad):
    refused(agent.run("purge", "--older-than", bad), bad)
    refused(agent.run("purge", "--keep-history", bad), bad)


def test_history_keeps_the_rate_limit_period(tmp_path):
    a = InProcessAgent(tmp_path)  # default rate_limit.period: 1h
    a.admin("vacation", "enable", ANA)
    assert a.deliver("bob@example.org", ANA, personal()).returncode == 0
    r = a.admin("purge", "--keep-history", "0s")
    assert "0 history rows" in r.stdout.decode()
    assert history_rows(a) == 1


# --- in-process, with pytest-asyncio ----------------------------------------------------------

@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    p = tmp_path / "a.toml"
    p.write_text(f'database = "{tmp_path / "db.sqlite3"}"\n[log]\ntarget = "none"\n')
    return config_mod.load(str(p))


async def test_accounts_api_round_trip(cfg):
    row = await accounts.enable(cfg, ANA, {"message": "Hi", "end_at": "2099-01-01T00:00:00Z"},
                                ["ana.silva@example.com"])
    assert row["address"] == ANA and row["aliases"] == ["ana.silva@example.com"]
    assert (await accounts.show(cfg, "ana.silva@example.com"))["address"] == ANA
    with pytest.raises(ValueError, match="not after the start"):
        await accounts.enable(cfg, ANA, {"start_at": "2099-02-01T00:00:00Z"}, None)
    assert (await accounts.show(cfg, ANA))["start_at"] is None
    assert await accounts.disable(cfg, ANA) is True
    assert await accounts.disable(cfg, "nobody@example.com") is False
    assert [r["enabled"] for r in await accounts.list_all(cfg)] == [0]
    assert await accounts.history(cfg, ANA) == []
    assert await accounts.purge(cfg, 0, 0) == (0, 0)


def test_normalize_account(cfg):
    assert accounts.normalize_account("Ana+X@Example.COM", cfg) == ANA
    with pytest.raises(ValueError):
        accounts.normalize_account("nobody", cfg)


# --- an unusable database file --------------------------------------------------------------

@pytest.mark.parametrize("kind", ["under-a-file", "not-sqlite"])
@pytest.mark.parametrize("args", [("vacation", "list"), ("vacation", "enable", ANA),
                                  ("purge",)])
def test_an_unusable_database_is_one_clear_line_not_a_traceback(tmp_path, kind, args):
    if kind == "under-a-file":
        (tmp_path / "afile").write_text("")
        db = tmp_path / "afile" / "db.sqlite3"
    else:
        db = tmp_path / "notdb.sqlite3"
        db.write_bytes(b"this is not an SQLite database, just some text\n" * 40)
    a = InProcessAgent(tmp_path)
    a.db = db
    a.write_config()
    r = a.run(*args)
    assert r.returncode not in (0, 1), r
    err = r.stderr.decode()
    assert "Traceback" not in err, err[-300:]
    assert len(err.strip().splitlines()) == 1, err
    assert str(db.parent if kind == "under-a-file" else db) in err, err
