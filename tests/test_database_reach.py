"""The database as the delivery user finds it (issue 9 items 3 and 11).

- A database the delivery user cannot reach (a directory it cannot search, a file it cannot
  open) defers the message (75) with a log line that names the path and the errno; only a
  missing file means "no vacation", and then the log line and `explain` say so.
- A relative `database` is taken relative to the config file's directory (under Postfix's
  pipe the current directory is not the admin's); a URL scheme the agent does not know is a
  config error that names the file and the key.
- The files the agent creates are private (directory 0750, files 0640), and root gives them
  to the directory's owner (the delivery user, contrib/postfix step 1), or says it cannot.

Deliveries that must run as another user run the installed agent (tests.support.agent, a
world-readable venv) as `nobody` in a world-readable temporary directory, as Postfix would.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import Agent, personal


def _nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


@pytest.fixture(scope="module")
def agent_bin() -> Path:
    if os.geteuid() != 0 or _nobody() is None:
        pytest.skip("needs root and a 'nobody' user: the delivery must run as another user, "
                    "as under Postfix")
    from tests.support.agent import agent_venv

    try:
        return agent_venv() / "bin" / "autoresponder"
    except RuntimeError as e:
        pytest.skip(str(e))


class PublicWorld:
    """A config, a log, an outbox and a state directory under a world-readable directory;
    the admin runs as root, deliveries as nobody."""

    def __init__(self, agent_bin: Path):
        self.bin = agent_bin
        self.dir = Path(tempfile.mkdtemp(prefix="autoresponder-reach-"))
        os.chmod(self.dir, 0o755)
        self.state = self.dir / "state"
        self.db = self.state / "autoresponder.sqlite3"
        self.log = self.dir / "autoresponder.log"
        self.outbox = self.dir / "outbox"
        self.cache = self.dir / "cache"
        for d in (self.outbox, self.cache):
            d.mkdir()
            os.chmod(d, 0o777)
        self.log.touch()
        os.chmod(self.log, 0o666)
        self.config = self.dir / "autoresponder.toml"
        self.config.write_text(f'database = "{self.db}"\n[log]\ntarget = "file"\n'
                               f'path = "{self.log}"\n[transport]\nkind = "file"\n'
                               f'path = "{self.outbox}"\n')
        os.chmod(self.config, 0o644)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "MAIL_CONFIG",
                                 "AUTORESPONDER_CONFIG")}
        self.env["AUTORESPONDER_CACHE_DIR"] = str(self.cache)

    def admin(self, *args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([str(self.bin), "--config", str(self.config), *args],
                           capture_output=True, env=self.env, cwd="/", timeout=120)
        assert r.returncode == 0, r.stderr
        return r

    def deliver_as_nobody(self) -> subprocess.CompletedProcess:
        pw = _nobody()

        def drop():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)

        return subprocess.run([str(self.bin), "--config", str(self.config), "deliver",
                               "--sender", "bob@example.org", "--recipient",
                               "ana@example.com"], input=personal(), capture_output=True,
                              env=self.env, cwd="/", timeout=120, preexec_fn=drop)

    def last_log_line(self) -> str:
        lines = self.log.read_text().splitlines()
        return lines[-1] if lines else ""

    def replies(self) -> int:
        return len(list(self.outbox.glob("*.eml")))

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def public(agent_bin):
    w = PublicWorld(agent_bin)
    try:
        yield w
    finally:
        w.remove()


def give_to_nobody(*paths: Path) -> None:
    pw = _nobody()
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


# --- item 3: unreachable is not "no vacation" -----------------------------------------------

def test_a_directory_the_delivery_user_cannot_search_defers_naming_path_and_errno(public):
    public.admin("vacation", "enable", "ana@example.com")
    os.chmod(public.state, 0o700)  # root's, as the review found it
    r = public.deliver_as_nobody()
    line = public.last_log_line()
    assert r.returncode == 75, (r.returncode, line, r.stderr)
    assert "rule=tempfail" in line and str(public.db) in line and "EACCES" in line, line
    assert public.replies() == 0
    os.chmod(public.state, 0o755)
    give_to_nobody(public.state, *public.state.iterdir())
    r = public.deliver_as_nobody()  # the MTA's retry, once the admin fixed it
    assert r.returncode == 0 and public.replies() == 1, public.last_log_line()


def test_a_database_file_the_delivery_user_cannot_open_defers_naming_the_errno(public):
    public.admin("vacation", "enable", "ana@example.com")
    for p in public.state.iterdir():
        os.chmod(p, 0o600)
    r = public.deliver_as_nobody()
    line = public.last_log_line()
    assert r.returncode == 75, (line, r.stderr)
    assert "rule=tempfail" in line and str(public.db) in line and "EACCES" in line, line


def test_a_missing_database_file_is_said_in_the_log_and_in_explain(tmp_path):
    a = Agent(tmp_path)
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0
    line = a.log_lines()[-1]
    assert "rule=account" in line and f"no database file at {a.db}" in line, line
    out = json.loads(a.run("explain", "--json", "--sender", "bob@example.org",
                           "--recipient", "ana@example.com", input=personal()).stdout)
    assert out["rule"] == "account" and out["notice"] == f"no database file at {a.db}"
    assert not a.db.exists()


# --- item 3: what `database` may say ---------------------------------------------------------

def test_a_relative_database_is_taken_from_the_config_files_directory(tmp_path):
    a = Agent(tmp_path)
    a.config.write_text('database = "state/relative.sqlite3"\n[log]\ntarget = "file"\n'
                        f'path = "{a.logfile}"\n[transport]\nkind = "file"\n'
                        f'path = "{a.outbox}"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args, stdin in ((["vacation", "enable", "ana@example.com"], b""),
                        (["deliver", "--sender", "bob@example.org", "--recipient",
                          "ana@example.com"], personal())):
        r = subprocess.run([sys.executable, "-m", "autoresponder", "--config",
                            str(a.config), *args], input=stdin, capture_output=True,
                           env=dict(a.env, PYTHONPATH=str(Path(__file__).parents[1])),
                           cwd=str(elsewhere), timeout=60)
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "state" / "relative.sqlite3").exists()
    assert list(elsewhere.iterdir()) == []
    assert len(a.replies()) == 1 and "decision=reply" in a.log_lines()[-1]


@pytest.mark.parametrize("url", ["mysql://db.example.org/mail", "sqlite:///var/x.db",
                                 "redis://127.0.0.1:6379"])
def test_an_unknown_url_scheme_is_a_config_error_naming_file_and_key(tmp_path, url):
    a = Agent(tmp_path)
    a.db = url
    a.write_config()
    r = a.run("vacation", "list")
    err = r.stderr.decode()
    assert r.returncode == 78 and str(a.config) in err and "'database'" in err, err
    assert url.split("://")[0] in err
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 78
    r = a.deliver("bob@example.org", "ana@example.com", personal(),
                  env={"MAIL_CONFIG": "/etc/postfix"})
    assert r.returncode == 75  # never a bounce under Postfix
    assert not any(p.name.startswith(url.split(":")[0]) for p in tmp_path.iterdir())


def test_a_postgresql_url_is_accepted_and_an_unreachable_server_defers(tmp_path):
    """The scheme open_store knows passes the config check; a server that is not there is
    a temporary failure like any unreachable database, never "no vacation"."""
    a = Agent(tmp_path)
    a.db = "postgresql://nobody@127.0.0.1:1/autoresponder"
    a.write_config()
    r = a.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 75, (r.stderr, a.log_lines()[-1:])
    assert "rule=tempfail" in a.log_lines()[-1]


# --- item 11: the files the agent creates ----------------------------------------------------

def modes(*paths: Path) -> "list[int]":
    return [stat.S_IMODE(os.stat(p).st_mode) for p in paths]


def test_a_database_the_agent_creates_is_0750_and_0640(tmp_path):
    a = Agent(tmp_path)
    old = os.umask(0o022)
    try:
        a.admin("vacation", "enable", "ana@example.com")
        a.deliver("bob@example.org", "ana@example.com", personal())
    finally:
        os.umask(old)
    files = [p for p in a.db.parent.iterdir() if p.name.startswith(a.db.name)]
    assert a.db in files
    assert modes(a.db.parent) == [0o750]
    assert set(modes(*files)) == {0o640}, {p.name: oct(m) for p, m in zip(files,
                                                                          modes(*files))}


def test_root_gives_the_database_to_the_owner_of_its_directory(public):
    public.state.mkdir(mode=0o750)
    give_to_nobody(public.state)
    r = public.admin("vacation", "enable", "ana@example.com")
    assert b"warning" not in r.stderr
    pw = _nobody()
    assert {(os.stat(p).st_uid, os.stat(p).st_gid) for p in public.state.iterdir()} == {
        (pw.pw_uid, pw.pw_gid)}
    r = public.deliver_as_nobody()
    assert r.returncode == 0 and public.replies() == 1, public.last_log_line()


def test_root_creating_the_directory_itself_warns_that_deliveries_cannot_write(public):
    r = public.admin("vacation", "enable", "ana@example.com")
    err = r.stderr.decode()
    assert "warning" in err and str(public.state) in err and "chown" in err, err
    assert len([ln for ln in err.splitlines() if "warning" in ln]) == 1
    r = public.deliver_as_nobody()  # and that is what happens
    assert r.returncode == 75
