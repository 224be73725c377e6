"""Fixtures shared by the whole suite: real SQLite files, real SMTP sinks, real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sink import Sink

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sink():
    s = Sink().start()
    try:
        yield s
    finally:
        s.stop()


class Agent:
    """Runs the real command line in a subprocess, as an MTA or an admin would."""

    def __init__(self, tmp_path: Path, **overrides):
        self.dir = tmp_path
        self.db = tmp_path / "state" / "autoresponder.sqlite3"
        self.outbox = tmp_path / "outbox"
        self.logfile = tmp_path / "autoresponder.log"
        self.config = tmp_path / "autoresponder.toml"
        self.env = dict(os.environ)
        self.env["AUTORESPONDER_CACHE_DIR"] = str(tmp_path / "cache")
        for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
            self.env.pop(k, None)
        self.write_config(**overrides)

    def write_config(self, transport: dict | None = None, extra: str = "", **top) -> None:
        transport = transport or {"kind": "file", "path": str(self.outbox)}
        lines = [f'database = "{self.db}"']
        for k, v in top.items():
            lines.append(f"{k} = {_toml(v)}")
        lines.append("[log]")
        lines.append('target = "file"')
        lines.append(f'path = "{self.logfile}"')
        lines.append("[transport]")
        for k, v in transport.items():
            lines.append(f"{k} = {_toml(v)}")
        self.config.write_text("\n".join(lines) + "\n" + extra)

    def run(self, *args: str, input: bytes = b"", env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([sys.executable, "-m", "autoresponder", "--config",
                               str(self.config), *args], input=input, capture_output=True,
                              env=e, timeout=timeout, cwd=str(ROOT))

    def admin(self, *args: str) -> subprocess.CompletedProcess:
        r = self.run(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def deliver(self, sender: str, recipient: str, message: bytes, *extra: str,
                **kw) -> subprocess.CompletedProcess:
        return self.run("deliver", "--sender", sender, "--recipient", recipient, *extra,
                        input=message, **kw)

    def replies(self) -> list[Path]:
        return sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []

    def log_lines(self) -> list[str]:
        return self.logfile.read_text().splitlines() if self.logfile.exists() else []


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def agent(tmp_path):
    return Agent(tmp_path)


def personal(sender: str = "bob@example.org", to: str = "ana@example.com",
             subject: str = "Lunch next week?", message_id: str = "<m1@example.org>",
             extra: str = "", body: str = "Hi Ana,\n\nlunch on Tuesday?\n\nBob\n") -> bytes:
    head = (f"From: Bob Example <{sender}>\nTo: Ana Silva <{to}>\nSubject: {subject}\n"
            f"Date: Sat, 28 Nov 2026 10:15:00 +0000\nMessage-ID: {message_id}\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}")
    return (head + "\n" + body).encode("utf-8")


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster for the whole session (tests/support/pgcluster.py);
    skipped, saying why, only where no server binaries or driver are installed."""
    from tests.support.pgcluster import start_cluster

    try:
        cluster = start_cluster()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    try:
        yield cluster
    finally:
        cluster.remove()
