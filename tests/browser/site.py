"""A real `autoresponder serve --http` for the browser tests: its own config (Lisbon time,
a template directory of its own, replies to a file outbox), SQLite database and log, password
sign-in checked by the IMAP lab; admin commands and `deliver` run as the MTA runs them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from autoresponder.resources import data_path
from tests.dovecot.lab import free_port

ROOT = Path(__file__).resolve().parents[2]


class Site:
    def __init__(self, base: Path, http_extra: str = "", timezone: str = "Europe/Lisbon"):
        self.dir = base
        self.templates = base / "templates"
        shutil.copytree(data_path("templates"), self.templates)
        self.outbox = base / "outbox"
        self.log = base / "autoresponder.log"
        self.config = base / "autoresponder.toml"
        self.http_port = free_port()
        self.lmtp_port = free_port()
        self.env = dict(os.environ, AUTORESPONDER_CACHE_DIR=str(base / "cache"))
        for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
            self.env.pop(k, None)
        self.config.write_text(
            f'database = "{base}/state/autoresponder.sqlite3"\n'
            f'templates = "{self.templates}"\ntimezone = "{timezone}"\ninterval = "1d"\n'
            f'[log]\ntarget = "file"\npath = "{self.log}"\n'
            f'[transport]\nkind = "file"\npath = "{self.outbox}"\n'
            f'[serve]\nlmtp = ["inet:127.0.0.1:{self.lmtp_port}"]\nworkers = 1\n'
            f'drain_timeout = "5s"\nhttp = ["inet:127.0.0.1:{self.http_port}"]\n'
            f'[http]\n{http_extra}')
        self.proc: "subprocess.Popen | None" = None
        self.url = f"http://127.0.0.1:{self.http_port}/web/"

    def run(self, *args: str, input: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "autoresponder", "--config",
                               str(self.config), *args], input=input, capture_output=True,
                              env=self.env, timeout=60, cwd=str(ROOT))

    def admin(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout.decode()

    def token(self, account: "str | None" = None) -> str:
        args = ["--account", account] if account else ["--admin"]
        return json.loads(self.admin("token", "create", *args, "--json"))["token"]

    def show(self, address: str) -> "dict | None":
        r = self.run("vacation", "show", address, "--json")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def deliver(self, sender: str, recipient: str, message: bytes):
        return self.run("deliver", "--sender", sender, "--recipient", recipient,
                        input=message)

    def replies(self) -> "list[Path]":
        return sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) \
            if self.outbox.exists() else []

    def start(self) -> "Site":
        err = open(self.dir / "serve.stderr", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autoresponder", "--config", str(self.config), "serve"],
            env=self.env, cwd=str(ROOT), stdout=err, stderr=err, start_new_session=True)
        err.close()
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: "
                                     f"{(self.dir / 'serve.stderr').read_text()}")
            try:
                with urllib.request.urlopen(self.url + "login", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("serve --http did not answer in time: "
                                     f"{(self.dir / 'serve.stderr').read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: serve and children
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None


def make_site(http_extra: str = "") -> Site:
    base = Path(tempfile.mkdtemp(prefix="ar-web-"))
    return Site(base, http_extra)
