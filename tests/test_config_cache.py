"""The marshal cache of the validated config is only ever read by the code that wrote it."""

from __future__ import annotations

import marshal

from autoresponder import config


def test_cache_written_by_other_code_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    cfg = tmp_path / "a.toml"
    cfg.write_text('database = "/x/db.sqlite3"\ninterval = "2h"\n')
    assert config.load(str(cfg)).interval == 7200
    [cached] = list((tmp_path / "cache").iterdir())
    stamp, values = marshal.loads(cached.read_bytes())
    assert stamp == config._cache_stamp() and values["interval"] == 7200
    values["interval"] = 1  # what an older version might have stored
    cached.write_bytes(marshal.dumps(("0:old:0", values)))
    assert config.load(str(cfg)).interval == 7200
    cached.write_bytes(marshal.dumps((config._cache_stamp(), values)))
    assert config.load(str(cfg)).interval == 1  # same code, same file identity: reused
