"""A private Postfix on loopback with the real agent behind a pipe(8) service.

One lab per test session: its own config directory, queue, data and log directories under one
world-readable temporary directory (the pipe user, nobody, must reach the agent's config and
database), SMTP listeners on ports picked by binding port 0, and an aiosmtpd sink as relayhost
so every reply and bounce that leaves the "site" is recorded. Nothing outside that directory
is touched (apart from the shared agent venv under /var/tmp and the agent's per-user config
cache directory). Stopped by the master's pid at the end.

Mail flow (the one contrib/postfix/README.md documents, with lab values):
  SMTP in -> virtual(8) maildirs under mail/ for lab.test, and for accounts on vacation
  recipient_bcc_maps (written by `autoresponder postfix-map`) adds a copy to
  user#lab.test@autoreply.lab.test, which transport_maps sends to the `autoresponder` pipe
  service (the real agent, as nobody). The agent sends its replies over SMTP to a second
  smtpd listener (the "reply port"), whose restrictions a test can switch to `defer`.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.sink import Sink, free_port

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib" / "postfix"
DOMAIN = "lab.test"
AUTOREPLY_DOMAIN = "autoreply.lab.test"
SERVICE = "autoresponder"
# Mail to N@exitcode.lab.test goes to a pipe service whose command exits N (optionally after
# printing TEXT: N+TEXT@...; N+sleep@ outlives the service's time limit, N+kill@ dies by
# SIGKILL): what Postfix makes of each exit status, measured, not assumed.
EXITCODE_DOMAIN = "exitcode.lab.test"
# A pipe service whose program does not exist (a wrong path in argv=).
NOCOMMAND_DOMAIN = "nocommand.lab.test"
EXITCODE_ARGV = ('/bin/sh -c { cat >/dev/null; case "$$1" in sleep) sleep 5;; '
                 'kill) kill -9 $$$$;; *) printf %s "$$1" >&2;; esac; exit "$$0" } '
                 '${user} ${extension}')
NOBODY_UID = 65534
NOBODY_GID = 65534
POSTFIX = "/usr/sbin/postfix"
# Every mailbox of the lab (virtual(8) maildirs). Anything else in lab.test is unknown.
USERS = ("ana", "ben", "cora", "dana", "erin", "frank", "gail", "hugo", "lia", "leo", "nina",
         "olga", "paul")
# Postfix-side aliases (virtual_alias_maps): `stale` points at a mailbox that does not exist,
# so mail to it makes Postfix bounce to the sender (a real Postfix bounce).
# `olga.ext` is an alias Postfix delivers to olga's mailbox (registered with the agent too).
VIRTUAL_ALIASES = {"stale@lab.test": "ghost@lab.test", "olga.ext@lab.test": "olga@lab.test"}
# Accounts on vacation for the whole session (each test uses its own), with agent aliases.
VACATIONS = {"ana": [], "ben": [], "cora": [], "dana": [], "frank": [], "gail": [],
             "hugo": [], "lia": [], "leo": [], "olga": ["olga.ext@lab.test"], "paul": []}


def postfix_missing() -> "str | None":
    """Why the lab cannot run (None when it can); installs Postfix when we are root."""
    needed = [POSTFIX, "/usr/sbin/postmap", "/usr/sbin/postqueue", "/usr/lib/postfix/sbin/pipe"]
    if all(os.path.exists(p) for p in needed):
        return None
    if os.geteuid() != 0:
        return "Postfix is not installed and we are not root to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    preseed = ("postfix postfix/main_mailer_type select No configuration\n"
               "postfix postfix/mailname string lab.test\n")
    steps = [(["debconf-set-selections"], preseed),
             (["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"], None),
             (["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y",
               "--no-install-recommends", "postfix"], None)]
    for cmd, stdin in steps:
        try:
            r = subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True,
                               timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"installing Postfix failed: {cmd[0]}: {e}"
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
            return f"installing Postfix failed: {' '.join(cmd)}: exit {r.returncode}: {tail[0]}"
    missing = [p for p in needed if not os.path.exists(p)]
    return f"Postfix still missing after install: {missing}" if missing else None


def backdate(*paths: Path) -> None:
    """Postfix re-reads a file written in the last second (300 ms naps); age them instead."""
    t = time.time() - 60
    for p in paths:
        os.utime(p, (t, t))


class PostfixLab:
    def __init__(self, agent_bin: Path, sink: Sink):
        self.root = Path(tempfile.mkdtemp(prefix="autoresponder-postfix-lab-"))
        os.chmod(self.root, 0o755)
        self.etc = self.root / "postfix" / "etc"
        self.spool = self.root / "postfix" / "spool"
        self.data = self.root / "postfix" / "data"
        self.maillog = self.root / "postfix" / "log" / "maillog"
        self.mail = self.root / "mail"
        self.state = self.root / "agent"            # owned by nobody: database, log
        self.agent_config = self.root / "autoresponder.toml"
        self.bcc_map = self.etc / "autoresponder_bcc"
        self.agent_bin = agent_bin
        self.sink = sink
        self.smtp_port = free_port()
        self.reply_port = free_port()
        self.pid: "int | None" = None

    # --- setup ------------------------------------------------------------------------------
    def write(self) -> None:
        for d in (self.etc, self.spool, self.maillog.parent):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.mail, self.state):
            d.mkdir(exist_ok=True)
            os.chown(d, NOBODY_UID, NOBODY_GID)
        self.write_agent_config()
        e = self.etc
        (e / "mailboxes").write_text(
            "".join(f"{u}@{DOMAIN} {DOMAIN}/{u}/\n" for u in USERS))
        (e / "virtual").write_text("".join(f"{k} {v}\n" for k, v in VIRTUAL_ALIASES.items()))
        (e / "autoresponder_transport").write_text(
            f"{AUTOREPLY_DOMAIN}  {SERVICE}:\n{EXITCODE_DOMAIN}  exitcode:\n"
            f"{NOCOMMAND_DOMAIN}  nocommand:\n")
        self.bcc_map.write_text("")
        (e / "main.cf").write_text(self.main_cf())
        (e / "master.cf").write_text(self.master_cf())
        self.postfix_cmd("postmap", f"hash:{e}/autoresponder_transport")
        self.refresh_map()  # no database yet: an empty table, built by the real command

    def write_agent_config(self, extra: str = "") -> None:
        """The agent's TOML; its replies go back into this Postfix through the reply port."""
        self.agent_config.write_text(f"""\
database = "{self.state}/autoresponder.sqlite3"
autoreply_domain = "{AUTOREPLY_DOMAIN}"
interval = "24h"
{extra}
[log]
target = "file"
path = "{self.state}/autoresponder.log"

[transport]
kind = "smtp"
host = "127.0.0.1"
port = {self.reply_port}
timeout = "10s"
""")
        os.chmod(self.agent_config, 0o644)

    def main_cf(self) -> str:
        """The lab's main.cf: contrib/postfix/main.cf's settings plus a private instance."""
        contrib = self.contrib_settings()
        return f"""\
compatibility_level = 3.7
queue_directory = {self.spool}
data_directory = {self.data}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.root}
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
recipient_delimiter = +
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/mailboxes
virtual_alias_maps = texthash:{self.etc}/virtual
virtual_uid_maps = static:{NOBODY_UID}
virtual_gid_maps = static:{NOBODY_GID}
relayhost = [127.0.0.1]:{self.sink.port}
smtp_dns_support_level = disabled
in_flow_delay = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
delay_warning_time = 0h
exitcode_destination_recipient_limit = 1
exitcode_time_limit = 1s
# the reply port's client restrictions: "permit", or "defer" to break the agent's transport
lab_reply_gate = permit
# --- from contrib/postfix/main.cf, paths of this lab ---
{contrib}
"""

    def contrib_settings(self) -> str:
        """contrib/postfix/main.cf's active lines with the table paths of this lab."""
        out = []
        for line in (CONTRIB / "main.cf").read_text().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            line = line.replace("/etc/postfix/", f"{self.etc}/")
            out.append(line)
        return "\n".join(out)

    def master_cf(self) -> str:
        svc = self.contrib_service()
        return f"""\
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
127.0.0.1:{self.reply_port} inet n - n - - smtpd
  -o smtpd_client_restrictions=$lab_reply_gate
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
virtual    unix  -       n       n       -       -       virtual
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
{svc}
exitcode   unix  -       n       n       -       -       pipe
  flags= user=nobody argv={EXITCODE_ARGV}
nocommand  unix  -       n       n       -       -       pipe
  flags= user=nobody argv={self.root}/no-such-dir/autoresponder deliver
"""

    def contrib_service(self) -> str:
        """contrib/postfix/master.cf's service, pointed at the test venv, config and nobody."""
        lines = [ln for ln in (CONTRIB / "master.cf").read_text().splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
        text = "\n".join(lines)
        text = text.replace("/opt/autoresponder/bin/autoresponder", str(self.agent_bin))
        text = text.replace("/etc/autoresponder/autoresponder.toml", str(self.agent_config))
        text = text.replace("user=autoresponder", "user=nobody")
        assert str(self.agent_bin) in text and "user=nobody" in text, text
        return text

    def start(self) -> None:
        backdate(*self.etc.iterdir())
        r = subprocess.run([POSTFIX, "-c", str(self.etc), "start"], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed: {r.stdout}{r.stderr}{self.log_text()}")
        self.pid = int((self.spool / "pid" / "master.pid").read_text().split()[0])
        self.wait_for_log(r"daemon started", since=0)

    def stop(self) -> None:
        """SIGTERM to the master (which stops its children); a zombie counts as gone."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.05)
        self.pid = None

    # --- Postfix commands -------------------------------------------------------------------
    def postfix_cmd(self, prog: str, *args: str, check: bool = True) -> str:
        r = subprocess.run([f"/usr/sbin/{prog}", "-c", str(self.etc), *args],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"{prog} {args}: exit {r.returncode}: {r.stderr}")
        return r.stdout + r.stderr

    def reload(self) -> None:
        """`postfix reload`, returning once the master has logged the reload."""
        n = self.log_text().count("reload -- version")
        backdate(*self.etc.iterdir())
        self.postfix_cmd("postfix", "reload")
        deadline = time.monotonic() + 10
        while self.log_text().count("reload -- version") <= n:
            assert time.monotonic() < deadline, "postfix reload not logged"
            time.sleep(0.05)

    def queue(self) -> str:
        return self.postfix_cmd("postqueue", "-p")

    def flush(self) -> None:
        self.postfix_cmd("postqueue", "-f")

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Until Postfix's queue is empty: every copy handled, every reply relayed."""
        deadline = time.monotonic() + timeout
        while True:
            q = self.queue()
            if "Mail queue is empty" in q:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"Postfix queue not empty after {timeout}s:\n{q}")
            time.sleep(0.05)

    def set_reply_gate(self, value: str) -> None:
        """Make the agent's reply port accept ("permit") or answer 4xx ("defer") and wait
        until two fresh connections in a row show the new behaviour."""
        self.postfix_cmd("postconf", "-e", f"lab_reply_gate = {value}")
        self.reload()
        want = 250 if value == "permit" else 450
        deadline = time.monotonic() + 15
        ok = 0
        while ok < 2:
            assert time.monotonic() < deadline, f"reply port never answered {want}"
            with smtplib.SMTP("127.0.0.1", self.reply_port, timeout=10) as s:
                s.ehlo("probe.lab.test")
                s.mail("")
                code, _ = s.rcpt("probe@example.com")
                s.rset()
            ok = ok + 1 if code == want else 0
            if ok < 2:
                time.sleep(0.05)

    # --- the log ----------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        return len(self.log_text())

    def wait_for_log(self, pattern: str, since: int, timeout: float = 20.0) -> re.Match:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(), since)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line /{pattern}/ within {timeout}s:\n"
                                     f"{self.log_text()[since:][-4000:]}")
            time.sleep(0.05)

    def copy_status(self, qid: str, account: str, since: int = 0,
                    timeout: float = 20.0) -> "dict[str, str]":
        """Wait for the pipe's verdict on the copy of message `qid` for `account`."""
        copy = copy_address(account)
        m = self.wait_for_log(
            rf"{qid}: to=<{re.escape(copy)}>.*relay={SERVICE}.* dsn=([0-9.]+), "
            rf"status=(\w+) \((.*)\)", since, timeout)
        return {"dsn": m.group(1), "status": m.group(2), "text": m.group(3)}

    def pipe_lines(self, qid: str) -> "list[str]":
        return [ln for ln in self.log_text().splitlines()
                if f"{qid}: to=" in ln and f"relay={SERVICE}" in ln]

    # --- mail in, mail out --------------------------------------------------------------------
    def send(self, sender: str, rcpts: "list[str] | str", data: bytes) -> str:
        """Submit over SMTP to the lab's port 25 equivalent; returns Postfix's queue id."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
            s.ehlo("client.example.com")
            code, resp = s.mail(sender)
            assert code == 250, (code, resp)
            for r in rcpts:
                code, resp = s.rcpt(r)
                assert code == 250, (r, code, resp)
            code, resp = s.data(data)
            assert code == 250, (code, resp)
        m = re.search(rb"queued as ([0-9A-F]+)", resp)
        assert m, resp
        return m.group(1).decode()

    def mailbox(self, user: str) -> "list[email.message.EmailMessage]":
        d = self.mail / DOMAIN / user
        out = []
        for sub in ("new", "cur"):
            if (d / sub).is_dir():
                for p in sorted((d / sub).iterdir()):
                    out.append(email.message_from_bytes(p.read_bytes(),
                                                        policy=email.policy.default))
        return out

    def in_mailbox(self, user: str, message_id: str) -> int:
        return sum(1 for m in self.mailbox(user) if m["Message-ID"] == message_id)

    def replies_to(self, rcpt: str) -> list:
        return [m for m in self.sink.messages if rcpt in m.rcpt_tos]

    # --- the agent's admin commands -----------------------------------------------------------
    def agent(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Admin commands as root, as an admin would run them (the database files are handed
        back to their directory's owner, nobody, by the agent itself)."""
        env = dict(os.environ, AUTORESPONDER_CACHE_DIR=str(self.root / "admin-cache"))
        r = subprocess.run([str(self.agent_bin), "--config", str(self.agent_config), *args],
                           capture_output=True, text=True, env=env, timeout=60)
        if check:
            assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        return r

    def refresh_map(self) -> None:
        """What the admin's cron job does: rebuild the bcc table; no reload needed (hash)."""
        self.agent("postfix-map", "--output", str(self.bcc_map), "--postmap",
                   "--postfix-config", str(self.etc))

    def agent_log(self) -> str:
        p = self.state / "autoresponder.log"
        return p.read_text(errors="replace") if p.exists() else ""


def copy_address(account: str) -> str:
    user, dom = account.split("@")
    return f"{user}#{dom}@{AUTOREPLY_DOMAIN}"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False


def make_message(sender: str, to: str, subject: str = "Lunch next week?", extra: str = "",
                 body: str = "Hi,\n\nlunch on Tuesday?\n\nBob\n",
                 message_id: "str | None" = None) -> "tuple[bytes, str]":
    """A personal message naming `to` in To:; returns (bytes, Message-ID)."""
    mid = message_id or f"<{uuid.uuid4().hex}@example.org>"
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Sun, 29 Nov 2026 10:15:00 +0000\r\nMessage-ID: {mid}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}")
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode(), mid


@pytest.fixture(scope="session")
def postfix_lab():
    if os.geteuid() != 0:
        pytest.skip("the Postfix lab needs root (private Postfix master, pipe user nobody)")
    reason = postfix_missing()
    if reason:
        pytest.skip(reason)
    from tests.support.agent import agent_venv

    venv = agent_venv()   # a RuntimeError here is a real failure: the agent must install
    sink = Sink().start()
    lab = PostfixLab(venv / "bin" / "autoresponder", sink)
    try:
        lab.write()
        lab.start()
        for user, aliases in VACATIONS.items():
            args = ["vacation", "enable", f"{user}@{DOMAIN}"]
            for a in aliases:
                args += ["--alias", a]
            lab.agent(*args)
        lab.refresh_map()
        yield lab
    finally:
        lab.stop()
        sink.stop()
        if os.environ.get("AUTORESPONDER_KEEP_LAB"):
            print(f"\nPostfix lab kept in {lab.root}")
        else:
            shutil.rmtree(lab.root, ignore_errors=True)


@pytest.fixture
def lab(postfix_lab):
    """The session's lab, idle, with an empty sink. A test that leaves mail queued gets the
    error at its own teardown, and the queue is emptied so the next test starts clean."""
    postfix_lab.wait_idle()
    postfix_lab.sink.fail_with = None
    postfix_lab.sink.clear()
    yield postfix_lab
    try:
        postfix_lab.wait_idle(timeout=10)
    except AssertionError:
        postfix_lab.postfix_cmd("postsuper", "-d", "ALL")
        raise
