"""A private Dovecot (LMTP + ManageSieve + Pigeonhole) on loopback, for the Sieve tests.

Everything lives under one world-readable directory (the mail user, nobody, must reach it):
own config file, base_dir, state_dir, instance_name and log, ports picked by binding port 0,
a passwd-file of users whose uid is nobody. Started once per test session, stopped by pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

NOBODY = 65534
PASSWORD = "secret"
DOMAIN = "lab.test"
DOVECOT = "/usr/sbin/dovecot"
SIEVEC = "/usr/bin/sievec"
CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "dovecot-sieve"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dovecot_missing() -> "str | None":
    """Why the lab cannot run (None when it can): installs the packages when root."""
    needed = [DOVECOT, SIEVEC, "/usr/lib/dovecot/lmtp", "/usr/lib/dovecot/managesieve",
              "/usr/lib/dovecot/modules/sieve/lib90_sieve_extprograms_plugin.so"]
    if all(os.path.exists(p) for p in needed):
        return None
    if os.geteuid() != 0:
        return "Dovecot (dovecot-core, dovecot-sieve, dovecot-managesieved, dovecot-lmtpd) " \
               "is not installed and we are not root to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    steps = [["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"],
             ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y",
              "--no-install-recommends", "dovecot-core", "dovecot-sieve",
              "dovecot-managesieved", "dovecot-lmtpd"]]
    for cmd in steps:
        try:
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"installing Dovecot failed: {' '.join(cmd[:1])}: {e}"
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
            return f"installing Dovecot failed: {' '.join(cmd)}: exit {r.returncode}: {tail[0]}"
    missing = [p for p in needed if not os.path.exists(p)]
    return f"Dovecot still missing after install: {missing}" if missing else None


def wrapper_text(agent: str, config: str) -> str:
    """contrib's wrapper with its two site settings pointed at this lab."""
    lines = []
    for line in (CONTRIB / "autoresponder").read_text().splitlines():
        if line.startswith("AGENT="):
            line = f"AGENT='{agent}'"
        elif line.startswith("CONFIG="):
            line = f"CONFIG='{config}'"
        lines.append(line)
    return "\n".join(lines) + "\n"


class DovecotLab:
    USERS = ("away", "alice", "vic", "sally", "sam", "glob")

    def __init__(self, submission_port: int, agent: "str | None" = None,
                 agent_config: "str | None" = None):
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-lab-", dir="/var/tmp"))
        os.chmod(self.root, 0o755)
        self.conf = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self.bin = self.root / "sieve-bin"
        self.lmtp_port = free_port()
        self.sieve_port = free_port()
        self.submission_port = submission_port
        self.agent = agent
        self.agent_config = agent_config
        self.pid: "int | None" = None
        self.ca: "Path | None" = None  # the self-signed certificate, when openssl made one

    def _make_cert(self) -> "str":
        """ssl settings: a certificate for 127.0.0.1 (ManageSieve then offers STARTTLS)."""
        if shutil.which("openssl") is None:
            return "ssl = no\n"
        cert, key = self.root / "cert.pem", self.root / "key.pem"
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", str(key), "-out", str(cert)], capture_output=True)
        if r.returncode != 0:
            return "ssl = no\n"
        self.ca = cert
        return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n"

    def address(self, user: str) -> str:
        return f"{user}@{DOMAIN}"

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    def write(self) -> None:
        r = self.root
        for d in ("run", "state", "home", "sieve-bin"):
            (r / d).mkdir(exist_ok=True)
        os.chmod(self.bin, 0o755)
        # `glob` is set up as contrib's 90-autoresponder.conf option (a) sets up everyone
        # (userdb fields override plugin settings): contrib's script as sieve_before, and
        # vnd.dovecot.execute for global scripts only.
        self.before = r / "sieve-before.d" / "autoresponder.sieve"
        self.before.parent.mkdir(exist_ok=True)
        self.before.write_text((CONTRIB / "autoresponder.sieve").read_text())
        users = []
        for u in self.USERS:
            extra = (f"userdb_sieve_before={self.before} "
                     "userdb_sieve_extensions=+vnd.dovecot.pipe "
                     "userdb_sieve_global_extensions=+vnd.dovecot.execute") if u == "glob" else ""
            users.append(f"{u}@{DOMAIN}:{{PLAIN}}{PASSWORD}:{NOBODY}:{NOBODY}::{self.home(u)}::"
                         + extra)
        (r / "users").write_text("\n".join(users) + "\n")
        for u in self.USERS:
            self.reset_home(u)
        if self.agent:
            w = self.bin / "autoresponder"
            w.write_text(wrapper_text(self.agent, self.agent_config or ""))
            os.chmod(w, 0o755)
        self.conf.write_text(f"""\
base_dir = {r}/run
state_dir = {r}/state
instance_name = dclab-{r.name[-8:]}
listen = 127.0.0.1
protocols = lmtp sieve
{self._make_cert()}disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.log}
hostname = mx.{DOMAIN}
postmaster_address = postmaster@{DOMAIN}
mail_location = maildir:~/Maildir
submission_host = 127.0.0.1:{self.submission_port}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {r}/users
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    address = 127.0.0.1
    port = {self.sieve_port}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
protocol lda {{
  mail_plugins = $mail_plugins sieve
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugins = sieve_extprograms
  sieve_extensions = +vnd.dovecot.pipe +vnd.dovecot.execute
  sieve_pipe_bin_dir = {self.bin}
  sieve_execute_bin_dir = {self.bin}
  sieve_vacation_min_period = 0
  sieve_vacation_default_period = 1d
}}
""")

    def reset_home(self, user: str) -> Path:
        h = self.home(user)
        shutil.rmtree(h, ignore_errors=True)
        h.mkdir(parents=True)
        os.chown(h, NOBODY, NOBODY)
        return h

    def start(self) -> "DovecotLab":
        self.write()
        # The daemon keeps the stdio it was given: a file, never a pipe we would wait on.
        with open(self.root / "start.err", "w+") as err:
            r = subprocess.run([DOVECOT, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                               stdout=err, stderr=err)
            if r.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"dovecot did not start: {err.read()}{self.log_text()}")
        pidfile = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if pidfile.exists() and self._listening(self.lmtp_port) \
                    and self._listening(self.sieve_port):
                self.pid = int(pidfile.read_text().split()[0])
                return self
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not listen in time: {self.log_text()}")

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.05)
            self.pid = None
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def lmtp(self, sender: str, user: str, message: bytes) -> None:
        """Deliver over LMTP; returns once Sieve (and any program it ran) has finished."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30) as c:
            refused = c.sendmail(sender, [self.address(user)], message)
        assert not refused, refused

    def lda(self, sender: str, user: str, message: bytes) -> subprocess.CompletedProcess:
        """dovecot-lda as an MTA runs it (root, -d user through this instance's userdb)."""
        return subprocess.run(["/usr/lib/dovecot/dovecot-lda", "-c", str(self.conf),
                               "-d", self.address(user), "-f", sender,
                               "-a", self.address(user)],
                              input=message, capture_output=True, timeout=60)

    def mailbox(self, user: str, folder: str = "") -> "list[bytes]":
        """Messages in INBOX (or a folder), oldest first."""
        base = self.home(user) / "Maildir"
        if folder:
            base = base / f".{folder}"
        out = []
        for sub in ("new", "cur"):
            d = base / sub
            if d.is_dir():
                out += [p for p in d.iterdir() if p.is_file()]
        return [p.read_bytes() for p in sorted(out, key=lambda p: p.stat().st_mtime_ns)]


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (PID 1 may reap it late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, IndexError):
        return False
