"""Configuration: one-line errors with exit 78, where the file comes from, built-in defaults,
`deliver` with a bad config, and the marshal cache of the validated values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoresponder import config as config_mod

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env_extra: dict | None = None, input: bytes = b"",
        cache: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
        env.pop(k, None)
    if cache is not None:
        env["AUTORESPONDER_CACHE_DIR"] = str(cache)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "autoresponder", *args], input=input,
                          capture_output=True, env=env, timeout=60, cwd=str(ROOT))


def one_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode("utf-8", "replace")
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


GOOD_TAIL = '\n[log]\ntarget = "none"\n'

# (file text, key named in the message, words of what was expected)
BAD = {
    "unknown key": ('colour = "red"\n', "colour", ["unknown key", "database"]),
    "unknown nested key": ('[rules]\nspam_treshold = 3.0\n', "rules.spam_treshold",
                           ["unknown key", "spam_threshold"]),
    "unknown table": ('[smtp]\nhost = "x"\n', "smtp", ["unknown key", "transport"]),
    "wrong type bool": ('dayfirst = "yes"\n', "dayfirst", ["true or false", "'yes'"]),
    "wrong type duration": ('interval = "soon"\n', "interval", ["duration", "'soon'"]),
    "unicode digit duration": ('interval = "\u00b2"\n', "interval", ["duration"]),
    "wrong type int": ('[transport]\nport = "25"\n', "transport.port", ["integer"]),
    "negative int": ('[rate_limit]\nper_account = -1\n', "rate_limit.per_account",
                     ["integer", "-1"]),
    "wrong type float": ('[rules]\nspam_threshold = "high"\n', "rules.spam_threshold",
                         ["number", "'high'"]),
    "bool for a number": ('[rules]\nspam_threshold = true\n', "rules.spam_threshold",
                          ["number"]),
    "string for a table": ('rules = "strict"\n', "rules", ["table"]),
    "table for a string": ('[templates]\npath = "x"\n', "templates", ["path"]),
    "a SQLite path as a table": ('[database]\npath = "x"\n', "database.path",
                                 ['database = "PATH"', "PostgreSQL"]),
    "bad enum language": ('language = "fr"\n', "language", ['"en"', '"pt"', "'fr'"]),
    "bad enum transport": ('[transport]\nkind = "lmtp"\n', "transport.kind",
                           ['"sendmail"', '"smtp"', '"file"', "'lmtp'"]),
    "bad enum log": ('[log]\ntarget = "journal"\n', "log.target", ['"syslog"', "'journal'"]),
    "file transport without path": ('[transport]\nkind = "file"\n', "transport.path",
                                    ["directory"]),
    "log file without path": ('[log]\ntarget = "file"\n', "log.path", ["file"]),
    "port out of range": ('[transport]\nport = 70000\n', "transport.port", ["65535"]),
    "bad zone": ('timezone = "Mars/Olympus"\n', "timezone", ["IANA", "Mars/Olympus"]),
    "bad envelope sender": ('envelope_sender = "nobody"\n', "envelope_sender",
                            ["address", "'nobody'"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_config_is_one_line_naming_file_key_and_expectation(tmp_path, name):
    text, key, words = BAD[name]
    cfg = tmp_path / "bad.toml"
    if "[log]" in text:
        cfg.write_text(text)
    else:
        cfg.write_text(text + GOOD_TAIL)
    r = run("--config", str(cfg), "vacation", "list", cache=tmp_path / "cache")
    assert r.returncode == 78, r
    line = one_line(r)
    assert str(cfg) in line
    assert f"'{key}'" in line, line
    for w in words:
        assert w in line, (w, line)
    assert r.stdout == b""


def test_bad_toml_names_the_file_and_the_place(tmp_path):
    cfg = tmp_path / "broken.toml"
    cfg.write_text('database = "/x.sqlite3"\ninterval = \n')
    r = run("--config", str(cfg), "vacation", "list", cache=tmp_path / "cache")
    assert r.returncode == 78
    line = one_line(r)
    assert str(cfg) in line and "not valid TOML" in line and "line 2" in line


def test_non_utf8_config(tmp_path):
    cfg = tmp_path / "latin1.toml"
    cfg.write_bytes('[transport]\nusername = "jos\xe9"\n'.encode("latin-1"))
    r = run("--config", str(cfg), "vacation", "list", cache=tmp_path / "cache")
    assert r.returncode == 78
    line = one_line(r)
    assert str(cfg) in line and "UTF-8" in line


def test_missing_and_unreadable_config(tmp_path):
    missing = tmp_path / "nope.toml"
    r = run("--config", str(missing), "vacation", "list", cache=tmp_path / "cache")
    assert r.returncode == 78
    line = one_line(r)
    assert str(missing) in line and "cannot read" in line
    a_dir = tmp_path / "a-directory.toml"
    a_dir.mkdir()
    r = run("--config", str(a_dir), "vacation", "list", cache=tmp_path / "cache")
    assert r.returncode == 78
    line = one_line(r)
    assert str(a_dir) in line and "cannot read" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file anyway")
def test_permission_denied_config(tmp_path):
    cfg = tmp_path / "secret.toml"
    cfg.write_text('interval = "1h"\n')
    cfg.chmod(0)
    r = run("--config", str(cfg), "vacation", "list", cache=tmp_path / "cache")
    assert r.returncode == 78
    assert str(cfg) in one_line(r)


def test_every_admin_command_refuses_a_bad_config(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('colour = "red"\n')
    for args in (("vacation", "enable", "ana@example.com"), ("history", "ana@example.com"),
                 ("purge",), ("explain", "--json", "--sender", "b@example.org",
                                "--recipient", "ana@example.com")):
        r = run("--config", str(cfg), *args, cache=tmp_path / "cache")
        assert r.returncode == 78, args
        assert "'colour'" in one_line(r)


# --- where the config comes from -------------------------------------------------------------

def test_config_from_the_environment_and_flag_precedence(tmp_path):
    db = tmp_path / "env-db" / "a.sqlite3"
    good = tmp_path / "good.toml"
    good.write_text(f'database = "{db}"' + GOOD_TAIL)
    bad = tmp_path / "bad.toml"
    bad.write_text('colour = "red"\n')
    r = run("vacation", "enable", "ana@example.com", cache=tmp_path / "cache",
            env_extra={"AUTORESPONDER_CONFIG": str(good)})
    assert r.returncode == 0, r.stderr
    assert db.exists()
    r = run("vacation", "list", cache=tmp_path / "cache",
            env_extra={"AUTORESPONDER_CONFIG": str(bad)})
    assert r.returncode == 78 and str(bad) in one_line(r)
    # --config wins over the environment
    r = run("--config", str(good), "vacation", "list", "--json", cache=tmp_path / "cache",
            env_extra={"AUTORESPONDER_CONFIG": str(bad)})
    assert r.returncode == 0, r.stderr
    assert b"ana@example.com" in r.stdout
    r = run(f"--config={good}", "vacation", "list", "--json", cache=tmp_path / "cache",
            env_extra={"AUTORESPONDER_CONFIG": str(bad)})
    assert r.returncode == 0 and b"ana@example.com" in r.stdout


def test_built_in_defaults(tmp_path, monkeypatch):
    if os.path.exists(config_mod.DEFAULT_PATH):
        pytest.skip(f"{config_mod.DEFAULT_PATH} exists on this machine")
    monkeypatch.delenv("AUTORESPONDER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    cfg = config_mod.load(None)
    assert cfg.source == "(built-in defaults)"
    if os.geteuid() == 0:
        assert cfg.database == "/var/lib/autoresponder/autoresponder.sqlite3"
    else:
        assert cfg.database == str(tmp_path / "state" / "autoresponder" /
                                   "autoresponder.sqlite3")
    assert cfg.interval == 86400 and cfg.lease == 300 and cfg.busy_timeout == 10
    assert cfg.timezone == "UTC" and cfg.language == "en" and cfg.dayfirst is True
    assert cfg.envelope_sender == "null" and cfg.recipient_delimiter == "+"
    assert cfg.log.target == "syslog" and cfg.log.facility == "mail"
    assert (cfg.rate_limit.per_account, getattr(cfg.rate_limit, "global"),
            cfg.rate_limit.period) == (50, 1000, 3600)
    r = cfg.rules
    assert (r.check_recipient, r.check_from_header, r.spam, r.bounce_scan, r.thread) == \
        (True, True, True, True, True)
    assert (r.spam_score_header, r.spam_threshold, r.authserv_id) == ("X-Spam-Score", 5.0, "")
    t = cfg.transport
    assert (t.kind, t.sendmail, t.host, t.port, t.timeout, t.give_up_after) == \
        ("sendmail", "/usr/sbin/sendmail", "127.0.0.1", 25, 30, 86400)
    assert t.dsn_notify_never is True and t.starttls is False and t.ssl is False


def test_an_empty_file_is_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    cfg_file = tmp_path / "empty.toml"
    cfg_file.write_text("")
    cfg = config_mod.load(str(cfg_file))
    assert cfg.source == str(cfg_file)
    assert cfg.interval == 86400 and cfg.transport.kind == "sendmail"
    assert cfg.database  # a default place, never empty


def test_values_are_converted(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    f = tmp_path / "a.toml"
    f.write_text('database = "~/ar.sqlite3"\ninterval = "1h30m"\nlease = 90\n'
                 'timezone = "Europe/Lisbon"\n[rules]\nspam_threshold = 7\n'
                 '[transport]\nkind = "smtp"\nport = 2525\ntimeout = "1m"\n')
    cfg = config_mod.load(str(f))
    assert cfg.database == str(tmp_path / "home" / "ar.sqlite3")
    assert (cfg.interval, cfg.lease) == (5400, 90)
    assert cfg.rules.spam_threshold == 7.0 and isinstance(cfg.rules.spam_threshold, float)
    assert (cfg.transport.kind, cfg.transport.port, cfg.transport.timeout) == ("smtp", 2525, 60)


# --- deliver with a bad config ----------------------------------------------------------------

@pytest.mark.parametrize("text, postfix", [('colour = "red"\n', False), ("interval = \n", False),
                                          (None, False), ('interval = "\u00b2"\n', False),
                                          ('colour = "red"\n', True)])
def test_deliver_with_a_bad_config_exits_78_and_drains_stdin(tmp_path, text, postfix):
    """78 (EX_CONFIG); under Postfix (its pipe(8) exports MAIL_CONFIG), which bounces 78,
    75 so that the copy waits in the queue (README, exit codes)."""
    cfg = tmp_path / "bad.toml"
    if text is not None:
        cfg.write_text(text)
    env = dict(os.environ)
    env["AUTORESPONDER_CACHE_DIR"] = str(tmp_path / "cache")
    env.pop("AUTORESPONDER_CONFIG", None)
    env.pop("MAIL_CONFIG", None)
    if postfix:
        env["MAIL_CONFIG"] = "/etc/postfix"
    p = subprocess.Popen([sys.executable, "-m", "autoresponder", "--config", str(cfg),
                          "deliver", "--sender", "bob@example.org", "--recipient",
                          "ana@example.com"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    head = b"From: bob@example.org\nTo: ana@example.com\nSubject: big\n\n"
    chunk = b"x" * 65535 + b"\n"
    try:
        p.stdin.write(head)
        for _ in range(64):  # 4 MiB: far more than a pipe buffer
            p.stdin.write(chunk)
        p.stdin.close()
    except BrokenPipeError:
        p.kill()
        pytest.fail("deliver stopped reading stdin: the MTA would see a broken pipe")
    out, err = p.stdout.read(), p.stderr.read()
    assert p.wait(timeout=60) == (75 if postfix else 78)
    line = err.decode().strip().splitlines()
    assert len(line) == 1 and "config" in line[0] and str(cfg) in line[0]
    assert out == b""


# --- the marshal cache ------------------------------------------------------------------------

def plant(entry: Path, **changes) -> None:
    """Rewrite a cache entry as our own code would have, with some values changed."""
    import marshal

    payload = list(marshal.loads(entry.read_bytes()))
    payload[-1] = {**payload[-1], **changes}
    entry.write_bytes(marshal.dumps(tuple(payload)))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(d))
    return d


@pytest.fixture
def parses(monkeypatch) -> list:
    """Counts real parses of TOML text (the cache exists to avoid them)."""
    calls: list = []
    real = config_mod.parse_toml_text

    def counting(text, where):
        calls.append(where)
        return real(text, where)

    monkeypatch.setattr(config_mod, "parse_toml_text", counting)
    return calls


def test_cache_is_created_private_and_reused(tmp_path, cache_dir, parses):
    f = tmp_path / "a.toml"
    f.write_text('interval = "2h"\n')
    assert config_mod.load(str(f)).interval == 7200
    assert len(parses) == 1
    assert cache_dir.is_dir() and (cache_dir.stat().st_mode & 0o777) == 0o700
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and files[0].name.endswith(".marshal")
    assert files[0].name == os.path.basename(config_mod._cache_path(str(f)))
    for _ in range(3):
        cfg = config_mod.load(str(f))
        assert cfg.interval == 7200 and cfg.source == str(f)
    assert len(parses) == 1  # reused, not parsed again


def test_cache_is_invalidated_when_the_file_changes(tmp_path, cache_dir, parses):
    f = tmp_path / "a.toml"
    f.write_text('interval = "2h"\n')
    assert config_mod.load(str(f)).interval == 7200
    st = f.stat()
    # same size, new content and mtime
    f.write_text('interval = "3h"\n')
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert config_mod.load(str(f)).interval == 10800
    assert len(parses) == 2
    assert len(list(cache_dir.iterdir())) == 1  # the stale entry was dropped
    # replaced by rename (a new inode), same size and same mtime as before
    st = f.stat()
    new = tmp_path / "a.toml.new"
    new.write_text('interval = "4h"\n')
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(new, f)
    assert config_mod.load(str(f)).interval == 14400
    assert len(parses) == 3
    # a file that became bad is reported, not served from the cache
    f.write_text('interval = "soon"\n')
    with pytest.raises(config_mod.ConfigError, match="'interval'"):
        config_mod.load(str(f))


def test_two_config_files_have_their_own_cache_entries(tmp_path, cache_dir, parses):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('interval = "2h"\n')
    b.write_text('interval = "5h"\n')
    for _ in range(2):
        assert config_mod.load(str(a)).interval == 7200
        assert config_mod.load(str(b)).interval == 18000
    assert len(parses) == 2
    assert len(list(cache_dir.iterdir())) == 2


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o720, 0o702])
def test_cache_in_a_group_or_world_writable_directory_is_ignored(tmp_path, cache_dir, parses,
                                                                 mode):
    f = tmp_path / "a.toml"
    f.write_text('interval = "2h"\n')
    assert config_mod.load(str(f)).interval == 7200  # writes a good cache entry
    [entry] = list(cache_dir.iterdir())
    # someone else could now plant a cache entry: it must not be read
    plant(entry, interval=1, database="/evil")
    cache_dir.chmod(mode)
    cfg = config_mod.load(str(f))
    assert cfg.interval == 7200 and cfg.database != "/evil"
    assert config_mod._cache_path(str(f)) is None
    n = len(parses)
    config_mod.load(str(f))
    assert len(parses) == n + 1  # parsed each time: no cache used
    # the same planted entry in a private directory is what the cache would serve
    cache_dir.chmod(0o700)
    assert config_mod.load(str(f)).interval == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory away")
def test_cache_directory_owned_by_someone_else_is_ignored(tmp_path, cache_dir, parses):
    f = tmp_path / "a.toml"
    f.write_text('interval = "2h"\n')
    config_mod.load(str(f))
    os.chown(cache_dir, 65534, 65534)
    assert config_mod._cache_path(str(f)) is None
    n = len(parses)
    assert config_mod.load(str(f)).interval == 7200
    assert len(parses) == n + 1


def test_cache_directory_that_is_a_symlink_or_a_file_is_ignored(tmp_path, monkeypatch, parses):
    f = tmp_path / "a.toml"
    f.write_text('interval = "2h"\n')
    real = tmp_path / "real-cache"
    real.mkdir(mode=0o700)
    link = tmp_path / "link-cache"
    link.symlink_to(real)
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(link))
    assert config_mod.load(str(f)).interval == 7200
    assert list(real.iterdir()) == []
    plain = tmp_path / "plain-file"
    plain.write_text("")
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(plain / "sub"))
    assert config_mod.load(str(f)).interval == 7200
    assert len(parses) == 2


def test_a_corrupt_cache_entry_is_ignored(tmp_path, cache_dir, parses):
    f = tmp_path / "a.toml"
    f.write_text('interval = "2h"\n')
    config_mod.load(str(f))
    [entry] = list(cache_dir.iterdir())
    for junk in (b"", b"\x00\x01garbage", b"N"):
        entry.write_bytes(junk)
        assert config_mod.load(str(f)).interval == 7200


def test_the_cli_uses_the_cache_across_processes(tmp_path):
    cache = tmp_path / "cache"
    f = tmp_path / "a.toml"
    f.write_text(f'database = "{tmp_path / "db.sqlite3"}"\ninterval = "2h"' + GOOD_TAIL)
    r = run("--config", str(f), "vacation", "enable", "ana@example.com", cache=cache)
    assert r.returncode == 0, r.stderr
    [entry] = list(cache.iterdir())
    assert entry.name == "config-" + str(f).replace("/", "%2F") + ".marshal"
    # a planted value from "our own code" proves the next process read the cache
    plant(entry, interval=3 * 3600)
    r = run("--config", str(f), "vacation", "list", cache=cache)
    assert r.returncode == 0 and "3h" in r.stdout.decode()
