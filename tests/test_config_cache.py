"""The marshal cache of the validated config (issue 9 item 9): only ever read by the code that
wrote it, for exactly the bytes it was made from, and only in the shape validation gives; a
damaged cache file is rebuilt, never an error; stale files of the same config are removed."""

from __future__ import annotations

import marshal
import os
import time

import pytest

from autoresponder import config
from tests.conftest import personal


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def parses(monkeypatch) -> list:
    calls: list = []
    real = config.parse_toml_text
    monkeypatch.setattr(config, "parse_toml_text",
                        lambda text, where: calls.append(where) or real(text, where))
    return calls


def entry_of(cache) -> "os.PathLike":
    [only] = [p for p in cache.iterdir() if p.name.endswith(".marshal")]
    return only


def test_cache_written_by_other_code_is_ignored(tmp_path, cache):
    cfg = tmp_path / "a.toml"
    cfg.write_text('database = "/x/db.sqlite3"\ninterval = "2h"\n')
    assert config.load(str(cfg)).interval == 7200
    entry = entry_of(cache)
    stamp, where, raw, context, values = marshal.loads(entry.read_bytes())
    assert stamp == config._cache_stamp() and values["interval"] == 7200
    assert raw == cfg.read_bytes() and where == str(cfg)
    values["interval"] = 1  # what an older version might have stored
    entry.write_bytes(marshal.dumps(("0:old:0", where, raw, context, values)))
    assert config.load(str(cfg)).interval == 7200
    entry.write_bytes(marshal.dumps((config._cache_stamp(), where, raw, context, values)))
    assert config.load(str(cfg)).interval == 1  # same code, same bytes: reused


def _damaged(entry) -> "list[bytes]":
    """Cache files that load (marshal reads them) but are wrong, and some that do not."""
    stamp, where, raw, context, values = marshal.loads(entry.read_bytes())

    def with_values(**changes):
        return marshal.dumps((stamp, where, raw, context, {**values, **changes}))

    missing = dict(values)
    del missing["rate_limit"]
    return [
        marshal.dumps({"x": 1}),                                   # the review's examples
        marshal.dumps((stamp, {"database": 1})),
        marshal.dumps((stamp, where, raw, context, {"database": 1})),
        marshal.dumps([stamp, where, raw, context, values]),       # a list, not a tuple
        marshal.dumps((stamp, where, raw, context, missing)),      # a table missing
        marshal.dumps((stamp, where, raw, context, None)),
        with_values(interval="2h"),                                # wrong types
        with_values(dayfirst=1),
        with_values(spare="key"),
        with_values(log={**values["log"], "target": "carrier-pigeon"}),
        with_values(transport={**values["transport"], "port": -1}),
        with_values(transport={**values["transport"], "kind": "file", "path": ""}),
        with_values(rules={**values["rules"], "spam_threshold": float("nan")}),
        with_values(database=""),
        b"", b"\x00garbage", marshal.dumps((stamp,))[:-1],
    ]


def test_a_damaged_cache_file_is_ignored_and_rebuilt(tmp_path, cache, parses):
    cfg = tmp_path / "a.toml"
    cfg.write_text('database = "/x/db.sqlite3"\ninterval = "2h"\n[transport]\nport = 2525\n')
    config.load(str(cfg))
    entry = entry_of(cache)
    good = entry.read_bytes()
    for bad in _damaged(entry):
        entry.write_bytes(bad)
        n = len(parses)
        c = config.load(str(cfg))  # never an exception
        assert (c.interval, c.transport.port, c.database) == (7200, 2525, "/x/db.sqlite3")
        assert len(parses) == n + 1, bad
        assert entry.read_bytes() == good  # rebuilt
        config.load(str(cfg))
        assert len(parses) == n + 1  # and used again


def test_an_in_place_edit_keeping_size_and_mtime_is_seen(tmp_path, cache):
    """As `cp -p`, `rsync -t --inplace` or a tar restore leave it: same inode, same size, the
    old mtime restored."""
    cfg = tmp_path / "a.toml"
    cfg.write_text('[transport]\nkind = "file"\npath = "/srv/outA"\n')
    assert config.load(str(cfg)).transport.path == "/srv/outA"
    st = cfg.stat()
    with open(cfg, "r+b") as f:
        data = f.read().replace(b"outA", b"outB")
        f.seek(0)
        f.write(data)
    os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns))
    now = cfg.stat()
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert config.load(str(cfg)).transport.path == "/srv/outB"


def test_a_new_home_is_a_new_expansion(tmp_path, cache, monkeypatch):
    cfg = tmp_path / "a.toml"
    cfg.write_text('templates = "~/tpl"\n')
    monkeypatch.setenv("HOME", "/home/one")
    assert config.load(str(cfg)).templates == "/home/one/tpl"
    monkeypatch.setenv("HOME", "/home/two")
    assert config.load(str(cfg)).templates == "/home/two/tpl"


def test_stale_files_of_the_same_config_are_removed_and_only_those(tmp_path, cache, parses):
    cfg = tmp_path / "a.toml"
    cfg.write_text('interval = "2h"\n')
    config.load(str(cfg))
    entry = entry_of(cache)
    base = entry.name[:-len(".marshal")]
    old = time.time() - 3600
    stale = [cache / f"{base}.1234.16.1700000000000000000.marshal",  # an earlier release's key
             cache / f"{base}.marshal.99999.tmp"]                      # a killed writer's file
    kept = [cache / f"{base}.bak.marshal",                            # config a.toml.bak
            cache / f"{base}.bak.1234.16.1700000000000000000.marshal",
            cache / f"{base}.marshal.{os.getpid() + 1}.tmp",          # a writer at work now
            cache / "unrelated.txt"]
    for p in stale + kept:
        p.write_bytes(b"x")
    for p in stale + kept[:2]:
        os.utime(p, (old, old))
    cfg.write_text('interval = "3h"\n')  # the next load parses and writes
    assert config.load(str(cfg)).interval == 10800
    left = {p.name for p in cache.iterdir()}
    assert left == {entry.name} | {p.name for p in kept}


def test_cache_files_have_bounded_names(tmp_path, cache):
    deep = tmp_path / ("d" * 100) / ("e" * 100) / ("f" * 100)
    deep.mkdir(parents=True)
    cfg = deep / "a.toml"
    cfg.write_text('interval = "2h"\n')
    assert config.load(str(cfg)).interval == 7200
    assert len(entry_of(cache).name) < 255
    assert config.load(str(cfg)).interval == 7200


def test_deliver_with_a_damaged_cache_decides_and_rebuilds_it(agent):
    agent.admin("vacation", "enable", "ana@example.com")
    cache = agent.dir / "cache"
    entry = entry_of(cache)
    for n, bad in enumerate(_damaged(entry)[:6]):
        entry.write_bytes(bad)
        r = agent.deliver(f"bob{n}@example.org", "ana@example.com", personal())
        assert r.returncode == 0 and b"internal error" not in r.stderr, r.stderr
        assert "decision=reply" in agent.log_lines()[-1]
        marshal.loads(entry.read_bytes())  # a good cache again
    assert len(agent.replies()) == 6
    r = agent.run("vacation", "list")  # an admin command too: no traceback
    assert r.returncode == 0 and b"ana@example.com" in r.stdout, r.stderr


def test_every_validated_config_has_the_shape_the_cache_accepts(tmp_path):
    """A kind of key the shape check does not know would make every cached config a miss
    (a silent TOML parse per message): the defaults and a file setting every key must pass."""
    assert config._shape_ok(config.SCHEMA, config._finish(config._defaults(config.SCHEMA), "d"))

    def every_key(schema: dict, prefix: str = "") -> "list[str]":
        lines, tables = [], []
        for key, spec in schema.items():
            if isinstance(spec, dict):
                tables.append((key, spec))
            elif key != "database":
                lines.append(f"{key} = {_toml_value(spec[1], spec[0])}")
        out = ([f"[{prefix[:-1]}]"] if prefix else []) + lines
        for key, spec in tables:
            out += every_key(spec, prefix + key + ".")
        return out

    text = 'database = "/x/db.sqlite3"\n' + "\n".join(every_key(config.SCHEMA)) + "\n"
    assert config._shape_ok(config.SCHEMA, config.parse_toml_text(text, "every-key.toml"))


def _toml_value(default, kind) -> str:
    if kind == "path" or default is None:
        return config.toml_string(default or "/srv/x")
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, (int, float)):
        return repr(default if default else 1)
    if isinstance(default, list):
        return "[" + ", ".join(config.toml_string(v) for v in default) + "]"
    return config.toml_string(default)
