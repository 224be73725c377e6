"""API tokens: made, checked, listed and revoked through both stores (the contract suite's
SQLite file and PostgreSQL database), and the `token` commands as an admin runs them."""

from __future__ import annotations

import json

import pytest

from autoresponder.derived import iso_utc
from autoresponder.http import tokens
from tests.test_store_contract import open_, pg_contract_db  # noqa: F401 - fixtures

T0 = 1_800_000_000.0


def test_a_token_is_kept_as_a_hash_checked_and_revoked(open_):  # noqa: F811
    store = open_()
    text, row = tokens.make("ana@example.com", "panel", iso_utc(T0))
    store.token_add(row)
    assert text not in json.dumps([list(map(str, r._values())) for r in store.token_list()])
    assert row.digest == tokens.digest(text) and len(text) > 40
    assert tokens.check(store, text) == row
    assert tokens.check(store, text[:-1] + ("A" if text[-1] != "A" else "B")) is None
    assert tokens.check(store, "ar_" + row.token_id + "_" + "x" * 43) is None
    assert tokens.check(store, "Bearer " + text) is None
    with pytest.raises(ValueError):
        store.token_add(row)  # the id is taken
    admin_text, admin = tokens.make(None, "", iso_utc(T0 + 1))
    store.token_add(admin)
    assert [r.token_id for r in store.token_list()] == [row.token_id, admin.token_id]
    assert tokens.check(open_(), admin_text).account is None  # another connection sees it
    assert store.token_revoke(row.token_id, T0 + 2) is True
    assert store.token_revoke(row.token_id, T0 + 3) is False  # already revoked
    assert store.token_revoke("000000000000", T0 + 3) is False
    assert tokens.check(store, text) is None
    assert store.token_get(row.token_id).revoked_at == iso_utc(T0 + 2)
    assert tokens.check(store, admin_text) == admin


def test_tokens_made_in_one_second_list_in_one_order(open_):  # noqa: F811
    """`token list` orders by created_at (whole seconds), then by token id: a total order, the
    same on both stores, whatever order the rows went in."""
    store = open_()
    made = [tokens.make(None, f"t{i}", iso_utc(T0 + (i % 2)))[1] for i in range(8)]
    for row in reversed(made):
        store.token_add(row)
    want = [r.token_id for r in sorted(made, key=lambda r: (r.created_at, r.token_id))]
    ours = set(want)  # the PostgreSQL database is the module's: other tests' tokens are in it
    assert [r.token_id for r in store.token_list() if r.token_id in ours] == want
    assert [r.token_id for r in open_().token_list() if r.token_id in ours] == want


@pytest.mark.parametrize("text", ["", "ar_", "ar_zz_x", "ar_0123456789ab_", "x" * 500,
                                  "ar_0123456789AB_secret", "ar_0123456789a_secret"])
def test_texts_not_shaped_like_a_token_are_refused_before_any_lookup(text):
    assert tokens.token_id_of(text) is None


def test_token_commands(agent):
    r = agent.run("token", "create")
    assert r.returncode == 2  # --admin or --account is required
    made = json.loads(agent.admin("token", "create", "--account", "Ana+x@Example.COM",
                                  "--label", "panel", "--json").stdout)
    assert made["account"] == "ana@example.com" and made["scope"] == "account"
    admin_text = agent.admin("token", "create", "--admin").stdout.decode().strip()
    assert admin_text.startswith("ar_")
    listed = json.loads(agent.admin("token", "list", "--json").stdout)
    assert sorted(t["id"] for t in listed) == sorted([made["id"],
                                                      tokens.token_id_of(admin_text)])
    # oldest first; two made in one second by their ids (whichever second the clock gave)
    assert listed == sorted(listed, key=lambda t: (t["created_at"], t["id"]))
    assert all("token" not in t for t in listed)
    assert made["token"] not in agent.admin("token", "list").stdout.decode()
    assert b"revoked" in agent.admin("token", "revoke", made["id"]).stdout
    assert agent.run("token", "revoke", made["id"]).returncode == 65
    listed = {t["id"]: t for t in json.loads(agent.admin("token", "list", "--json").stdout)}
    assert listed[made["id"]]["revoked_at"]
    assert listed[tokens.token_id_of(admin_text)]["revoked_at"] is None
    assert agent.run("token", "create", "--account", "not an address").returncode == 65



def test_vacation_response_from_the_shell_sets_what_the_api_sets(agent):
    agent.admin("vacation", "enable", "ana@example.com", "--message", "Away.",
                "--alias", "ana.silva@example.com", "--interval", "2h")
    got = json.loads(agent.admin("vacation-response", "get", "ana@example.com").stdout)
    assert (got["isEnabled"], got["textBody"], got["aliases"], got["interval"]) == (
        True, "Away.", ["ana.silva@example.com"], 7200)
    # what `vacation enable` cannot: change a disabled vacation, clear the aliases and the
    # interval; all through the API's own checks
    out = json.loads(agent.admin("vacation-response", "set", "ana@example.com", json.dumps({
        "isEnabled": False, "subject": "Out", "aliases": [], "interval": None})).stdout)
    assert (out["isEnabled"], out["subject"], out["aliases"], out["interval"]) == (
        False, "Out", [], None)
    assert out["state"] != got["state"]
    r = agent.run("vacation-response", "set", "ana@example.com",
                  '{"subject": "x", "toDate": "3000-01-01T00:00:00Z"}')
    assert r.returncode == 65 and b"invalidProperties (toDate)" in r.stderr
    r = agent.run("vacation-response", "set", "ana@example.com", '{"isEnabled": true}',
                  "--if-in-state", got["state"])
    assert r.returncode == 65 and b"stateMismatch" in r.stderr
    shown = json.loads(agent.admin("vacation", "show", "ana@example.com", "--json").stdout)
    assert (shown["enabled"], shown["subject"], shown["aliases"]) == (0, "Out", [])
    assert agent.run("vacation-response", "set", "ana@example.com", "{nope").returncode == 65


def test_an_api_date_replaces_the_wall_clock_time_the_cli_stored(agent):
    """The CLI stores "2027-03-28 09:00 Europe/Lisbon" as a wall-clock time, which delivery
    reads first; a new toDate from the API must replace it, not hide behind it."""
    import sqlite3

    agent.admin("vacation", "enable", "ana@example.com", "--timezone", "Europe/Lisbon",
                "--start", "2027-03-20 09:00", "--end", "2027-03-28 09:00")
    with sqlite3.connect(agent.db) as c:
        assert c.execute("SELECT end_local FROM accounts").fetchone()[0]
    agent.admin("vacation-response", "set", "ana@example.com",
                json.dumps({"toDate": "2027-04-02T17:00:00Z"}))
    with sqlite3.connect(agent.db) as c:
        start_local, end_local, end_at = c.execute(
            "SELECT start_local, end_local, end_at FROM accounts").fetchone()
    assert end_local is None and end_at.startswith("2027-04-02T17:00")
    assert start_local  # the start was not touched: its wall-clock time stays
