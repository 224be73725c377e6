"""`serve` as an admin runs it: a real subprocess (supervisor + forked workers) on a unix socket,
a real config file, a real SQLite file, replies over real SMTP into an aiosmtpd sink."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, Agent
from tests.serve import lmtp_client


class Serve:
    """One `autoresponder serve` process tree, with the Agent (config, admin commands) it
    runs on."""

    def __init__(self, agent: Agent, workers: int = 2, serve_extra: str = ""):
        self.agent = agent
        self.sockdir = Path(tempfile.mkdtemp(prefix="ars-"))  # short: sun_path is 108 bytes
        os.chmod(self.sockdir, 0o755)
        self.path = self.sockdir / "lmtp.sock"
        self.address = ("unix", str(self.path))
        self.workers = workers
        self.serve_extra = serve_extra
        self.proc: "subprocess.Popen | None" = None
        self.stderr = self.sockdir / "serve.stderr"

    def serve_section(self) -> str:
        return (f'\n[serve]\nlmtp = "unix:{self.path}"\nworkers = {self.workers}\n'
                f'drain_timeout = "10s"\n{self.serve_extra}\n')

    def configure(self, transport: dict, **top) -> None:
        self.agent.write_config(transport=transport, extra=self.serve_section(), **top)

    def start(self, *extra_args: str) -> "Serve":
        err = open(self.stderr, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autoresponder", "--config", str(self.agent.config),
             "serve", *extra_args], env=self.agent.env, cwd=str(ROOT), stdout=err,
            stderr=err, start_new_session=True)
        err.close()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: "
                                     f"{self.stderr.read_text(errors='replace')}")
            try:
                c = lmtp_client.connect(self.address, timeout=5)
                try:
                    if c.reply().code == 220:
                        c.quit()
                        if len(self.worker_pids()) >= self.workers:
                            return
                finally:
                    c.close()
            except (OSError, lmtp_client.Closed):
                pass
            time.sleep(0.05)
        raise AssertionError(f"serve not ready: {self.stderr.read_text(errors='replace')}")

    def worker_pids(self) -> "list[int]":
        if self.proc is None:
            return []
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in kids.split()]

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("serve did not stop on SIGTERM in time") from None

    def kill(self) -> None:
        """SIGKILL to every process of the service (as systemd's cgroup kill does)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def deliver(self, sender: str, rcpts, data: bytes, timeout: float = 30.0):
        return lmtp_client.deliver(self.address, sender, rcpts, data, timeout)

    def log(self) -> str:
        return "\n".join(self.agent.log_lines())

    def history(self, account: str = "ana@example.com") -> list:
        return json.loads(self.agent.admin("history", account, "--json").stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_transport(port: int) -> dict:
    return {"kind": "smtp", "host": "127.0.0.1", "port": port, "timeout": 10}


@pytest.fixture
def serve_factory(tmp_path):
    made: "list[Serve]" = []

    def make(workers: int = 2, serve_extra: str = "") -> Serve:
        s = Serve(Agent(tmp_path), workers, serve_extra)
        made.append(s)
        return s

    yield make
    for s in made:
        s.cleanup()


@pytest.fixture
def served(serve_factory, sink):
    """A running service with ana@example.com on vacation, replies into `sink`."""
    s = serve_factory()
    s.configure(smtp_transport(sink.port))
    s.agent.admin("vacation", "enable", "ana@example.com", "--message", "Back on Monday.")
    s.start()
    return s
