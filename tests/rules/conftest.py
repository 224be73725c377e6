"""The rule tests' world: a config, a real SQLite file, ana@ on vacation with an alias."""

from __future__ import annotations

import pytest

from tests.rules.support import ALIAS, World


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    w = World(tmp_path)
    w.enable(aliases=[ALIAS], message="Back on Monday.")
    return w
