"""What every rule test uses: personal messages built as bytes, and a world to decide them in.

Messages are read by ``autoresponder.message.from_bytes``; the decision comes from
``autoresponder.deliver.evaluate`` with a real config file and a real SQLite file whose
accounts were set up by ``autoresponder.accounts.enable`` (what ``vacation enable`` runs).
``World.explain`` goes end to end through ``autoresponder explain --json`` in a subprocess.
This module is the only place the rule tests reach the delivery line and the store.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from autoresponder import accounts, config as config_mod
from autoresponder.deliver import Database, evaluate
from autoresponder.envelope import Envelope
from autoresponder.message import from_bytes

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "ana@example.com"
ALIAS = "ana.silva@example.com"
SENDER = "bob@example.org"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc).timestamp()


def mail(*extra: str, frm: str = f"Bob Example <{SENDER}>",
         to: str | None = "Ana Silva <ana@example.com>", subject: str | None = "Lunch next week?",
         body: str = "Hi Ana,\n\nlunch on Tuesday?\n\nBob\n",
         ctype: str | None = "text/plain; charset=utf-8", message_id: str = "<m1@example.org>",
         eol: str = "\n") -> bytes:
    """A personal message; `extra` are whole header lines ("Name: value") added at the end."""
    lines = []
    if frm is not None:
        lines.append(f"From: {frm}")
    if to is not None:
        lines.append(f"To: {to}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    lines.append("Date: Sat, 28 Nov 2026 10:15:00 +0000")
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines.append("MIME-Version: 1.0")
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    lines.extend(extra)
    text = eol.join(lines) + eol + eol + body.replace("\n", eol)
    return text.encode("utf-8")


class World:
    def __init__(self, tmp_path: Path):
        self.dir = tmp_path
        self.db = tmp_path / "state" / "autoresponder.sqlite3"
        self.path = tmp_path / "autoresponder.toml"
        self.configure()

    def configure(self, rules: str = "", top: str = "") -> None:
        self.path.write_text(
            f'database = "{self.db}"\n{top}\n[log]\ntarget = "none"\n'
            f'[transport]\nkind = "file"\npath = "{self.dir / "outbox"}"\n'
            + (f"[rules]\n{rules}\n" if rules else ""))
        # a new mtime_ns is enough, but make sure the cache cannot serve the old values
        os.utime(self.path, ns=(time.time_ns(), time.time_ns() + 1))
        self.config = config_mod.load(str(self.path))

    def enable(self, address: str = ACCOUNT, aliases: list[str] | None = None, **changes):
        return asyncio.run(accounts.enable(self.config, address, changes, aliases))

    def disable(self, address: str = ACCOUNT) -> bool:
        return asyncio.run(accounts.disable(self.config, address))

    def decide(self, message: bytes, sender: str | None = SENDER, recipient: str = ACCOUNT,
               original: str = "", now: float = NOW, trace: list | None = None):
        env = Envelope(sender, recipient, original, self.config.autoreply_domain,
                       self.config.recipient_delimiter)
        db = Database(self.config, readonly=True)
        try:
            decision, _ctx = evaluate(self.config, env, from_bytes(message), now, db, trace)
        finally:
            db.close()
        return decision

    def explain(self, message: bytes, sender: str = SENDER, recipient: str = ACCOUNT,
                *extra: str) -> dict:
        env = dict(os.environ)
        env["AUTORESPONDER_CACHE_DIR"] = str(self.dir / "cache")
        for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
            env.pop(k, None)
        r = subprocess.run([sys.executable, "-m", "autoresponder", "--config", str(self.path),
                            "explain", "--json", "--sender", sender, "--recipient", recipient,
                            *extra], input=message, capture_output=True, env=env, timeout=60,
                           cwd=str(ROOT))
        assert r.returncode == 0, r.stderr
        out = r.stdout.decode("utf-8").strip().splitlines()
        assert len(out) == 1, r.stdout
        return json.loads(out[0])


def assert_reply(decision) -> None:
    assert decision.action == "reply", decision
    assert decision.rule == "reply"
    assert ACCOUNT in decision.reason


def assert_skip(decision, rule: str, *words: str) -> None:
    assert decision.action == "skip", decision
    assert decision.rule == rule, decision
    assert decision.reason and "\n" not in decision.reason
    for w in words:
        assert w.lower() in decision.reason.lower(), (w, decision)


def b(text: str) -> bytes:
    return text.encode("utf-8")
