"""Fixtures for the Dovecot/Sieve tests: one private Dovecot, one SMTP sink and one agent
config per session; the agent is the real one, pip-installed where `nobody` can run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dovecot.lab import NOBODY, DovecotLab, dovecot_missing
from tests.support.sink import Sink

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dovecot_available() -> None:
    why = dovecot_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="session")
def dc_sink():
    s = Sink().start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def sink(dc_sink):
    """The session's sink, emptied for this test."""
    dc_sink.clear()
    dc_sink.fail_with = None
    return dc_sink


class AgentSetup:
    """The agent's config, database and log, in a directory the mail user can write."""

    def __init__(self, base: Path, venv: Path, sink_port: int):
        self.dir = base / "agent"
        self.state = self.dir / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.config = self.dir / "autoresponder.toml"
        self.log = self.state / "agent.log"
        self.bin = str(venv / "bin" / "autoresponder")
        self.cache = self.dir / "admin-cache"
        self.extra_env: dict = {}
        self.config.write_text(
            f'database = "{self.state}/autoresponder.sqlite3"\n'
            'interval = "1d"\n'
            f'[log]\ntarget = "file"\npath = "{self.log}"\n'
            f'[transport]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {sink_port}\n'
            'timeout = 10\n')
        self._give()

    def _give(self) -> None:
        for dirpath, _dirs, files in os.walk(self.state):
            os.chown(dirpath, NOBODY, NOBODY)
            for f in files:
                os.chown(os.path.join(dirpath, f), NOBODY, NOBODY)

    def cli(self, *args: str, check: bool = True,
            env: "dict | None" = None) -> subprocess.CompletedProcess:
        """The checkout's command line (the code under test), as an admin runs it."""
        e = {k: v for k, v in os.environ.items()
             if k not in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG")}
        e["AUTORESPONDER_CACHE_DIR"] = str(self.cache)
        e.update(self.extra_env)
        e.update(env or {})
        r = subprocess.run([sys.executable, "-m", "autoresponder", "--config", str(self.config),
                            *args], capture_output=True, text=True, env=e, cwd=str(ROOT),
                           timeout=120)
        self._give()  # the mail user must write the database the admin just touched
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def log_lines(self) -> "list[str]":
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(scope="session")
def lab(dovecot_available, dc_sink):
    from tests.support.agent import agent_venv

    if os.geteuid() != 0:
        pytest.skip("the private Dovecot runs its users as nobody: the lab needs root")

    venv = agent_venv()
    lab = DovecotLab(submission_port=dc_sink.port)
    lab.agent_setup = AgentSetup(lab.root, venv, dc_sink.port)
    lab.agent = lab.agent_setup.bin
    lab.agent_config = str(lab.agent_setup.config)
    try:
        lab.start()
        if lab.ca is not None:  # trust the lab's certificate (ManageSieve STARTTLS)
            lab.agent_setup.extra_env["SSL_CERT_FILE"] = str(lab.ca)
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def agent(lab) -> AgentSetup:
    return lab.agent_setup
