"""`autoresponder postfix-map` on its own: which accounts get a line, the file it writes for
cron, and postmap. Runs the real command line (no Postfix server needed; postmap for some)."""

from __future__ import annotations

import calendar
import os
import shutil
import subprocess
import time

import pytest

POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"


def epoch(iso: str) -> float:
    return float(calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")))


def table(text: str) -> "dict[str, str]":
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            k, v = line.split()
            out[k] = v
    return out


@pytest.fixture
def pm(agent):
    agent.write_config(autoreply_domain="autoreply.example.com")
    return agent


def run_map(pm, *args: str) -> subprocess.CompletedProcess:
    return pm.run("postfix-map", *args)


def test_accounts_in_force_or_upcoming_with_aliases(pm):
    pm.admin("vacation", "enable", "ana@example.com", "--alias", "Ana.Silva@example.com",
             "--alias", "team@example.com")
    pm.admin("vacation", "enable", "bob@example.com", "--start", "2026-12-20",
             "--end", "2027-01-14")
    pm.admin("vacation", "enable", "old@example.com", "--start", "2026-01-01",
             "--end", "2026-02-01")
    pm.admin("vacation", "enable", "off@example.com", "--alias", "off2@example.com")
    pm.admin("vacation", "disable", "off@example.com")
    r = run_map(pm, "--at", str(epoch("2026-11-29T12:00:00Z")))
    assert r.returncode == 0, r.stderr
    assert table(r.stdout.decode()) == {
        "ana@example.com": "ana#example.com@autoreply.example.com",
        "ana.silva@example.com": "ana#example.com@autoreply.example.com",
        "team@example.com": "ana#example.com@autoreply.example.com",
        # upcoming: listed ahead of its start; `deliver` skips it until then
        "bob@example.com": "bob#example.com@autoreply.example.com",
    }
    # Once bob's vacation has ended, his line goes.
    r = run_map(pm, "--at", str(epoch("2027-01-15T00:00:00Z")))
    assert "bob@example.com" not in table(r.stdout.decode())


def test_domain_flag_overrides_config(pm):
    pm.admin("vacation", "enable", "ana@example.com")
    r = run_map(pm, "--domain", "copies.example.net")
    assert table(r.stdout.decode()) == {
        "ana@example.com": "ana#example.com@copies.example.net"}


def test_no_domain_is_a_config_error(agent):
    agent.admin("vacation", "enable", "ana@example.com")
    r = agent.run("postfix-map")
    assert r.returncode == 78
    assert b"autoreply_domain" in r.stderr and r.stdout == b""


def test_no_database_gives_an_empty_table(pm):
    assert not pm.db.exists()
    r = run_map(pm)
    assert r.returncode == 0 and table(r.stdout.decode()) == {}
    assert not pm.db.exists()   # reading the accounts creates nothing


def test_postmap_needs_output(pm):
    r = run_map(pm, "--postmap")
    assert r.returncode == 64 and b"--output" in r.stderr


@pytest.fixture
def postfix_conf(tmp_path):
    """postmap needs a main.cf; a fresh "No configuration" install has none in /etc/postfix."""
    if not os.path.exists(POSTMAP):
        pytest.skip("postmap (Postfix) is not installed")
    d = tmp_path / "pf"
    d.mkdir()
    (d / "main.cf").write_text("compatibility_level = 3.7\n")
    old = time.time() - 60   # a main.cf younger than a second makes postmap nap and re-read
    os.utime(d / "main.cf", (old, old))
    return d


def postmap_query(conf, path, key) -> "str | None":
    r = subprocess.run([POSTMAP, "-c", str(conf), "-q", key, f"hash:{path}"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def test_output_with_postmap_is_rebuilt_only_when_changed(pm, postfix_conf, tmp_path):
    out = tmp_path / "autoresponder_bcc"
    pm.admin("vacation", "enable", "ana@example.com", "--alias", "team@example.com")
    args = ("--output", str(out), "--postmap", "--postfix-config", str(postfix_conf))
    r = run_map(pm, *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    assert postmap_query(postfix_conf, out, "team@example.com") == \
        "ana#example.com@autoreply.example.com"
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (out, out.with_suffix(".db"))]
    assert run_map(pm, *args).returncode == 0
    after = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (out, out.with_suffix(".db"))]
    assert after == before            # unchanged: nothing rewritten, Postfix not disturbed
    pm.admin("vacation", "disable", "ana@example.com")
    pm.admin("vacation", "enable", "bob@example.com")
    assert run_map(pm, *args).returncode == 0
    assert postmap_query(postfix_conf, out, "team@example.com") is None
    assert postmap_query(postfix_conf, out, "bob@example.com") == \
        "bob#example.com@autoreply.example.com"
    assert out.with_suffix(".db").stat().st_ino != before[1][0]   # replaced by rename
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_db_file_is_rebuilt_even_if_text_unchanged(pm, postfix_conf, tmp_path):
    out = tmp_path / "bcc"
    pm.admin("vacation", "enable", "ana@example.com")
    args = ("--output", str(out), "--postmap", "--postfix-config", str(postfix_conf))
    assert run_map(pm, *args).returncode == 0
    out.with_suffix(".db").unlink()
    assert run_map(pm, *args).returncode == 0
    assert postmap_query(postfix_conf, out, "ana@example.com")


def test_failing_postmap_keeps_the_old_table(pm, postfix_conf, tmp_path):
    out = tmp_path / "bcc"
    pm.admin("vacation", "enable", "ana@example.com")
    args = ("--output", str(out), "--postmap", "--postfix-config", str(postfix_conf))
    assert run_map(pm, *args).returncode == 0
    old = out.read_text()
    pm.admin("vacation", "enable", "bob@example.com")
    r = run_map(pm, "--output", str(out), "--postmap", "--postfix-config",
                str(tmp_path / "no-such-dir"))
    assert r.returncode != 0 and b"postmap" in r.stderr
    assert out.read_text() == old
    assert postmap_query(postfix_conf, out, "ana@example.com")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_text_output_without_postmap(pm, tmp_path):
    out = tmp_path / "bcc.txt"
    pm.admin("vacation", "enable", "ana@example.com")
    assert run_map(pm, "--output", str(out)).returncode == 0
    assert table(out.read_text()) == {"ana@example.com": "ana#example.com@autoreply.example.com"}
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_unwritable_output_is_a_clear_error(pm, tmp_path):
    pm.admin("vacation", "enable", "ana@example.com")
    r = run_map(pm, "--output", str(tmp_path / "no-such-dir" / "bcc"))
    assert r.returncode == 73
    assert b"cannot write" in r.stderr and b"Traceback" not in r.stderr


def test_unreadable_database_keeps_the_table(pm, tmp_path):
    pm.admin("vacation", "enable", "ana@example.com")
    out = tmp_path / "bcc.txt"
    assert run_map(pm, "--output", str(out)).returncode == 0
    old = out.read_text()
    for p in pm.db.parent.glob(pm.db.name + "*"):
        p.write_bytes(b"this is not a database " * 100)
    r = run_map(pm, "--output", str(out))
    assert r.returncode == 75, r.stderr
    assert b"cannot read" in r.stderr and b"Traceback" not in r.stderr
    assert out.read_text() == old


def _Acct(address, aliases=(), enabled=True, end_at=None):
    """A store.Account with just what these cases set (as rows from the database give it)."""
    from autoresponder.store.base import Account

    return Account(address=address, enabled=enabled, start_at=None, end_at=end_at,
                   subject=None, message=None, template="default", language=None,
                   interval_seconds=None, from_name=None, handle="h", created_at="",
                   updated_at="", aliases=list(aliases))


def test_entries_own_address_beats_another_accounts_alias_and_unsafe_keys_are_left_out():
    from autoresponder.postfix import entries

    accounts = [_Acct("ana@example.com", ["bob@example.com", '"a b"@example.com']),
                _Acct("bob@example.com"),
                _Acct('"c d"@example.com'),
                _Acct("old@example.com", end_at="2026-01-01T00:00:00Z"),
                _Acct("off@example.com", enabled=False)]
    pairs, warnings = entries(accounts, "ar.example.com", epoch("2026-11-29T00:00:00Z"))
    assert pairs == [("ana@example.com", "ana#example.com@ar.example.com"),
                     ("bob@example.com", "bob#example.com@ar.example.com")]
    assert len(warnings) == 2 and all("left out" in w for w in warnings)
