"""The per-message path stays lazy with issue 13 wired in: a header skip loads neither the
time model nor zoneinfo, even for an account with windows and a zone of its own; an account
whose answering does not depend on the clock never loads them at all (real subprocesses, as
tests/test_lazy_imports.py does)."""

from __future__ import annotations

import subprocess
import sys

from tests.test_lazy_imports import (ACCOUNT, BULK, DSN, ROOT, World, check_lean, personal)

TIME_MODEL = ("zoneinfo", "autoresponder.schedule", "autoresponder.answer",
              "autoresponder.audience")


def scheduled_world(tmp_path) -> World:
    w = World(tmp_path)
    for args in (["vacation", "enable", ACCOUNT, "--timezone", "Europe/Lisbon",
                  "--internal-domain", "example.net", "--external-subject", "Out"],
                 ["vacation", "add-window", ACCOUNT, "Mon-Sun"]):
        r = subprocess.run([sys.executable, "-m", "autoresponder", "--config", str(w.config),
                            *args], capture_output=True, text=True, env=w.env, cwd=str(ROOT),
                           timeout=60)
        assert r.returncode == 0, r.stderr
    rc, _, line = w.deliver("news@lists.example.org", BULK)  # warm the config cache
    assert rc == 0 and "rule=precedence" in line
    return w


def test_header_skips_of_a_scheduled_account_load_no_time_model(tmp_path):
    w = scheduled_world(tmp_path)
    for sender, msg, rule in (("news@lists.example.org", BULK, "precedence"),
                              ("", DSN, "null-sender")):
        rc, mods, line = w.deliver(sender, msg)
        assert rc == 0 and f"rule={rule}" in line
        check_lean(mods)
        assert [m for m in TIME_MODEL if m in mods] == []


def test_a_scheduled_account_loads_the_time_model_when_it_answers(tmp_path):
    """The premise: the probe sees the time model when it is needed."""
    w = scheduled_world(tmp_path)
    rc, mods, line = w.deliver("bob@example.org", personal())
    assert rc == 0 and "decision=reply" in line and w.replies() == 1
    assert "zoneinfo" in mods and "autoresponder.schedule" in mods
    # it has a reply for outsiders (--external-subject): whom it answers is asked too
    assert "autoresponder.audience" in mods


def test_an_account_without_a_schedule_never_loads_zoneinfo(tmp_path):
    w = World(tmp_path)
    rc, _, line = w.deliver("bob@example.org", personal())
    assert rc == 0 and "decision=reply" in line
    rc, mods, line = w.deliver("bob@example.org", personal())
    assert rc == 0 and "rule=already-replied" in line
    check_lean(mods)
    assert "zoneinfo" not in mods and "autoresponder.schedule" not in mods
