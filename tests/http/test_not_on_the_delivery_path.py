"""Nothing of the HTTP side is loaded by `deliver` (tests/test_lazy_imports.py's probe): not on a
skip, not on a reply, not on a repeat; a config with [http] and serve.http costs it nothing."""

from __future__ import annotations

from tests.conftest import personal
from tests.test_lazy_imports import BULK, World


def http_modules(mods: set) -> list:
    return sorted(m for m in mods if m.startswith(("autoresponder.http", "aiohttp", "jmapc",
                                                   "multidict", "yarl")))


def test_deliver_imports_nothing_of_the_http_side(tmp_path):
    w = World(tmp_path)
    with open(w.config, "a") as f:
        f.write('\n[http]\nimap_host = "127.0.0.1"\nmax_calls = 8\n')
    for sender, message, rule in (("news@lists.example.org", BULK, "rule=precedence"),
                                  ("carol@example.org", personal(), "decision=reply"),
                                  ("carol@example.org", personal(), "rule=already-replied")):
        rc, mods, line = w.deliver(sender, message)
        assert rc == 0 and rule in line, line
        assert http_modules(mods) == []
