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
# file named first; nothing is imported before main() but sys, os and the package's CLI.
# `deliver` renders and sends a reply in a forked child (deliver._KillSafeLine), which leaves
# through os._exit: the probe writes the child's modules beside the parent's, so a test sees
# everything one delivery loaded.
RUNNER = """
import os, sys
out = sys.argv.pop(1)
parent, leave = os.getpid(), os._exit
def probed_exit(code):
    if os.getpid() != parent:
        with open(out + ".child", "w") as f:
            f.write(repr(sorted(sys.modules)))
    leave(code)
os._exit = probed_exit
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
        self.child_modules: "set[str] | None" = None

    def deliver(self, sender: str, message: bytes, recipient: str = ACCOUNT):
        """(exit code, set of modules, the log line) of one real delivery; the modules are
        those of the process and of the child that sent a reply, if there was one."""
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
        child = Path(str(out) + ".child")
        self.child_modules = set(ast.literal_eval(child.read_text())) if child.exists() else None
        if self.child_modules:
            mods = [*mods, *self.child_modules]
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
    """The premise: what a path loads lazily shows up in the probe (a reply opens the ledger,
    and its forked child renders, with Jinja2 and the email package the first time, and
    writes the reply)."""
    rc, mods, line = world.deliver("carol@example.org", personal())
    assert rc == 0 and "decision=reply" in line and world.replies() == 1
    assert "sqlite3" in mods and "autoresponder.store.sqlite" in mods
    assert world.child_modules is not None, "the probe did not see the child that replied"
    assert {"autoresponder.transports.file", "jinja2", "email.message"} <= world.child_modules


# What a reply needs only for some messages or accounts: the email package (encoded names
# and subjects, the MIME body when the render memo has none), the time model (accounts with
# wall-clock dates, absences or windows), the audience (accounts with a reply for outsiders
# or answering colleagues only), and what email.utils brings with it.
NOT_ON_THE_REPLY_PATH = ("zoneinfo", "autoresponder.schedule", "autoresponder.audience",
                         "socket", "urllib", "random", "calendar", "locale")


def check_lean_reply(world, mods: set[str]) -> None:
    check_lean(mods)
    assert world.child_modules and "autoresponder.transports.file" in world.child_modules
    assert sorted(m for m in mods if m.split(".")[0] in NOT_ON_THE_REPLY_PATH
                  or m in NOT_ON_THE_REPLY_PATH) == [], "the reply path imported these"


def named(sender: str, from_field: str, subject: str = "Lunch next week?") -> bytes:
    return personal().replace(b"From: Bob Example <bob@example.org>",
                              f"From: {from_field}".encode()).replace(
        b"bob@example.org", sender.encode()).replace(b"Lunch next week?", subject.encode())


def test_a_reply_from_the_render_memo_imports_nothing_heavy(world):
    """bench/pipe.py's reply case: an account without schedule or audience settings answers a
    plain personal message; the first reply renders and fills the memo, the next ones (other
    senders) load neither Jinja2, nor the email package, nor the time model."""
    rc, _, line = world.deliver("carol@example.org", personal())
    assert rc == 0 and "decision=reply" in line
    for i, from_field in enumerate(("Dave Example <dave@example.org>",
                                    '"Example, Dave" <dave@example.org>',
                                    "dave@example.org")):
        sender = f"dave{i}@example.org"
        rc, mods, line = world.deliver(sender, named(sender, from_field.replace(
            "dave@example.org", sender)))
        assert rc == 0 and "decision=reply" in line and world.replies() == 2 + i
        check_lean_reply(world, mods)


def test_what_only_some_replies_need_is_loaded_for_them(world):
    """The premise of the test above: a display name with a comment needs the address parser
    (email.utils), a subject or a name with non-ASCII text RFC 2047 (email.header), and the
    probe sees them in the child that built the reply."""
    rc, _, line = world.deliver("carol@example.org", personal())
    assert rc == 0 and "decision=reply" in line
    rc, mods, line = world.deliver("erin@example.org", named(
        "erin@example.org", "erin@example.org (Erin Example)"))
    assert rc == 0 and "decision=reply" in line
    assert "email.utils" in mods
    rc, mods, line = world.deliver("fred@example.org", named(
        "fred@example.org", "Fred <fred@example.org>", subject="Almo\u00e7o na ter\u00e7a?"))
    assert rc == 0 and "decision=reply" in line
    assert "email.header" in mods and "email.utils" not in mods
    rc, mods, line = world.deliver("gil@example.org", named(
        "gil@example.org", "Jos\u00e9 \u00d1 <gil@example.org>"))
    assert rc == 0 and "decision=reply" in line
    assert "email.header" in mods and "email.utils" not in mods


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
