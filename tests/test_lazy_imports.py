"""The per-message path stays lean: what `deliver` imports, checked in a real subprocess.

Postfix starts one process per message, so every module the skip path loads is paid for by every
list mail, bounce and duplicate (issue 6; README, "Performance"). These tests run the real
command line (`autoresponder.cli.main`) in a fresh interpreter, on real SQLite files and
configs, with the message on stdin as an MTA gives it, and look at `sys.modules` afterwards.
They time nothing: bench/pipe.py measures; this only guards the imports.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "ana@example.com"

# Loaded only by the paths that need them (replies, bounce scan, admin commands).
HEAVY = ("jinja2", "flufl", "asyncio", "smtplib", "email", "aiosqlite", "dateutil", "psycopg")

# Runs the command line in this interpreter and writes (exit code, sorted sys.modules) to the
# file named first; nothing is imported before main() but sys and the package's CLI.
RUNNER = """
import sys
out = sys.argv.pop(1)
from autoresponder.cli import main
rc = main(sys.argv[1:])
mods = sorted(sys.modules)
with open(out, "w") as f:
    f.write(repr((rc, mods)))
"""

DATE = "Sat, 28 Nov 2026 10:15:00 +0000"

BULK = (f"Return-Path: <news@lists.example.org>\n"
        "From: Example News <news@lists.example.org>\n"
        f"To: {ACCOUNT}\nSubject: Example News, issue 48\nDate: {DATE}\n"
        "Message-ID: <issue48@lists.example.org>\nMIME-Version: 1.0\n"
        "Precedence: bulk\nList-Id: Example News <news.lists.example.org>\n"
        "Content-Type: text/plain; charset=utf-8\n\n" + "news of the week\n" * 300).encode()

DSN = (f"Return-Path: <>\nFrom: MAILER-DAEMON@mail.example.com (Mail Delivery System)\n"
       f"To: {ACCOUNT}\nSubject: Undelivered Mail Returned to Sender\nDate: {DATE}\n"
       "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
       'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\n'
       "Message-Id: <20261128.4ZxYk@mail.example.com>\n\n"
       "--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
       "--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.com\n\n"
       "Final-Recipient: rfc822; nobody@example.net\nAction: failed\nStatus: 5.1.1\n\n"
       "--b1\nContent-Type: text/rfc822-headers\n\n"
       f"From: {ACCOUNT}\nTo: nobody@example.net\nSubject: Hello\n\n--b1--\n").encode()


def personal(to: str = ACCOUNT) -> bytes:
    return ("Return-Path: <bob@example.org>\nFrom: Bob Example <bob@example.org>\n"
            f"To: Ana Silva <{to}>\nSubject: Lunch next week?\nDate: {DATE}\n"
            "Message-ID: <lunch.1@example.org>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\nHi Ana,\n\nlunch on Tuesday?\n\nBob\n"
            ).encode()


class World:
    """A config, a database with ana@ on vacation, a log file and a private config cache."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.config = tmp / "autoresponder.toml"
        self.db = tmp / "state" / "autoresponder.sqlite3"
        self.outbox = tmp / "outbox"
        self.log = tmp / "autoresponder.log"
        self.config.write_text(
            f'database = "{self.db}"\n[log]\ntarget = "file"\npath = "{self.log}"\n'
            f'[transport]\nkind = "file"\npath = "{self.outbox}"\n')
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG")
                    and not k.startswith("PYTHON")}
        self.env["AUTORESPONDER_CACHE_DIR"] = str(tmp / "cache")
        r = subprocess.run([sys.executable, "-m", "autoresponder", "--config", str(self.config),
                            "vacation", "enable", ACCOUNT, "--message", "Away until Monday."],
                           capture_output=True, text=True, env=self.env, cwd=str(ROOT),
                           timeout=60)
        assert r.returncode == 0, r.stderr
        self.runs = 0

    def deliver(self, sender: str, message: bytes, recipient: str = ACCOUNT):
        """(exit code, set of modules, the log line) of one real delivery."""
        self.runs += 1
        out = self.tmp / f"modules-{self.runs}.txt"
        msg = self.tmp / f"message-{self.runs}.eml"
        msg.write_bytes(message)
        before = len(self.log_lines())
        with open(msg, "rb") as stdin:
            r = subprocess.run([sys.executable, "-c", RUNNER, str(out), "--config",
                                str(self.config), "deliver", "--sender", sender, "--recipient",
                                recipient], stdin=stdin, capture_output=True, env=self.env,
                               cwd=str(ROOT), timeout=60)
        assert r.returncode == 0, r.stderr
        rc, mods = ast.literal_eval(out.read_text())
        lines = self.log_lines()[before:]
        assert len(lines) == 1, (lines, r.stderr)
        return rc, set(mods), lines[0]

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def replies(self) -> int:
        return len(list(self.outbox.glob("*.eml"))) if self.outbox.exists() else 0


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    # the first delivery parses the TOML and fills the cache; the ones under test find it warm
    rc, mods, line = w.deliver("news@lists.example.org", BULK)
    assert rc == 0 and "rule=precedence" in line
    return w


def baseline() -> set[str]:
    """What this interpreter imports for nothing at all (site, .pth files, ...)."""
    r = subprocess.run([sys.executable, "-c", "import sys; print(repr(sorted(sys.modules)))"],
                       capture_output=True, text=True, check=True, cwd=str(ROOT),
                       env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})
    return set(ast.literal_eval(r.stdout))


def heavy(mods: set[str], also: tuple[str, ...] = ()) -> list[str]:
    names = HEAVY + also
    return sorted(m for m in mods if m.split(".")[0] in names)


def check_lean(mods: set[str]) -> None:
    assert heavy(mods, ("tomllib",)) == [], "the per-message path imported these"
    if "re" not in baseline():
        assert "re" not in mods, "the header scan must not need re (README, Performance)"


def test_bulk_message_imports_nothing_heavy(world):
    rc, mods, line = world.deliver("news@lists.example.org", BULK)
    assert rc == 0 and "rule=precedence" in line
    check_lean(mods)
    assert "sqlite3" not in mods, "a header skip needs no database"


def test_dsn_with_null_sender_imports_nothing_heavy(world):
    rc, mods, line = world.deliver("", DSN)
    assert rc == 0 and "rule=null-sender" in line
    check_lean(mods)
    assert "sqlite3" not in mods


def test_dedup_imports_only_sqlite(world):
    rc, _, line = world.deliver("bob@example.org", personal())
    assert rc == 0 and "decision=reply" in line and world.replies() == 1
    rc, mods, line = world.deliver("bob@example.org", personal())
    assert rc == 0 and "rule=already-replied" in line and world.replies() == 1
    check_lean(mods)
    assert "sqlite3" in mods  # the ledger was really consulted


def test_no_vacation_for_recipient_imports_nothing_heavy(world):
    rc, mods, line = world.deliver("bob@example.org", personal("rui@example.com"),
                                   recipient="rui@example.com")
    assert rc == 0 and "rule=account" in line
    check_lean(mods)


def test_probe_sees_lazy_imports(world):
    """The premise: what a path loads lazily shows up in the probe (a reply opens the ledger)."""
    rc, mods, line = world.deliver("carol@example.org", personal())
    assert rc == 0 and "decision=reply" in line and world.replies() == 1
    assert "sqlite3" in mods and "autoresponder.store.sqlite" in mods


def test_cold_config_cache_is_the_only_tomllib(tmp_path):
    """The premise of the tests above: a cold cache parses the TOML, a warm one does not."""
    w = World(tmp_path)
    shutil.rmtree(tmp_path / "cache")  # `vacation enable` filled it
    _, cold, _ = w.deliver("news@lists.example.org", BULK)
    _, warm, _ = w.deliver("news@lists.example.org", BULK)
    assert "tomllib" in cold and "tomllib" not in warm
    assert heavy(cold) == []


def test_header_skip_loads_neither_the_store_nor_a_transport(world):
    """The line gets its store and transport when it first uses them (deliver._OnFirstUse):
    a message the header rules skip imports neither package."""
    rc, mods, line = world.deliver("news@lists.example.org", BULK)
    assert rc == 0 and "rule=precedence" in line
    assert sorted(m for m in mods if m.startswith(("autoresponder.store",
                                                   "autoresponder.transports"))) == []
