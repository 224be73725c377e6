"""Two "hosts" sharing one PostgreSQL database: each its own config, config cache, log file
and outbox (the file transport), running the real command line in its own processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, Agent

ANA = "ana@example.com"


class Host(Agent):
    """A mail host: the agent's config on `url`, its own cache, log and outbox."""

    def __init__(self, tmp_path: Path, url: str, **overrides):
        tmp_path.mkdir(parents=True, exist_ok=True)
        super().__init__(tmp_path, **overrides)
        self.db = url
        self.write_config(**overrides)

    def workers(self, jobs: list, start_at: float) -> subprocess.Popen:
        """A host worker process (tests/pg/hostworker.py) running `jobs` at once."""
        return subprocess.Popen(
            [sys.executable, "-m", "tests.pg.hostworker", str(self.config), str(start_at),
             json.dumps(jobs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.env, cwd=str(ROOT))

    def deliver_bg(self, sender: str, message: bytes, recipient: str = ANA) -> subprocess.Popen:
        """One `autoresponder deliver` process, as the MTA starts it, not waited for."""
        p = subprocess.Popen([sys.executable, "-m", "autoresponder", "--config",
                              str(self.config), "deliver", "--sender", sender, "--recipient",
                              recipient], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env, cwd=str(ROOT))
        p.stdin.write(message)
        p.stdin.close()
        return p


def run_hosts(plan: "list[tuple[Host, list]]", timeout: float = 120) -> list:
    """Start one worker process per (host, jobs) together; every result, in plan order."""
    start_at = time.time() + 2.0  # every worker connected and waiting by then
    procs = [host.workers(jobs, start_at) for host, jobs in plan]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err.decode()
        results.extend(json.loads(out))
    return results


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, empty database for one test."""
    return pg_cluster.url(pg_cluster.new_database())


@pytest.fixture
def hosts(tmp_path, pg_url):
    """Host A and host B on one database, ana@ on vacation (enabled from host A)."""
    a = Host(tmp_path / "host-a", pg_url, lease="3s")
    b = Host(tmp_path / "host-b", pg_url, lease="3s")
    enable(pg_url, message="Back on Monday.")
    return a, b


def enable(url: str, address: str = ANA, **changes) -> None:
    """`db upgrade` and `vacation enable` in this process (the CLI has its own tests): what
    every drill needs first, without two interpreter starts."""
    from autoresponder.store.postgres import PostgresStore

    with PostgresStore(url, create=True) as s:
        s.enable(address, changes, None, time.time())
