#!/usr/bin/env python3
"""Whole-process cost of ``autoresponder deliver``, started the way an MTA starts it.

Postfix's pipe(8) starts one process per message, so what a message costs is the whole
process: interpreter start-up, imports, config, reading stdin, the decision, the ledger, the
reply. This script (stdlib only; aiosmtpd for the SMTP sink, installed on the side if missing)

1. builds a venv the way an admin installs the tool: ``/usr/bin/python3 -m venv``, ``pip
   install --upgrade pip`` (a current pip writes console scripts that do not import ``re``),
   then a non-editable ``pip install`` of this checkout (``--venv PATH`` reuses one);
2. writes its own configs (TOML), database (``vacation enable``) and messages;
3. times ``<venv>/bin/autoresponder --config F deliver --sender S --recipient R < file``, each
   run interleaved with a bare ``<venv>/bin/python -c pass`` so drift cancels out, and checks
   every run: exit status 0, nothing on stderr, one reply for a reply case and none otherwise;
4. prints, and writes into bench/RESULTS.md, the table, the budget lines (PASS/MISS) and a
   throughput figure (two parallel streams of a mixed set).

Processes are started by a small launcher (``python -I -S``) with fork + execve, not by this
script and not with posix_spawn/vfork: Linux starts a child's ``ru_maxrss`` at the resident
size of the address space it execs away from (all of the parent's with vfork, the copied
private pages with fork), so a child of this larger script would read as this script's size.
The launcher's floor (``/bin/true`` through it) is printed; a reading at the floor is the
floor, not the process.

Usage: ``python bench/pipe.py [--runs 30] [--venv PATH] [--results bench/RESULTS.md]``;
see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import pwd
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "ana@example.com"
PRIMED = "bob@example.org"  # the sender already answered (the dedup case)

# The launcher: reads jobs (stdin path, stderr path, argv...; fields split by \x1f) on stdin,
# runs each with fork + execve, reaps it with wait4 and answers one line per job:
# "<exit code> <wall ns> <user s> <system s> <maxrss KiB>".
LAUNCHER = r"""
import os, sys
from time import perf_counter_ns
env = dict(os.environ)
out = sys.stdout
for line in sys.stdin:
    f = line.rstrip("\n").split("\x1f")
    fds = (os.open(f[0], os.O_RDONLY), os.open("/dev/null", os.O_WRONLY),
           os.open(f[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    argv = f[2:]
    t0 = perf_counter_ns()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(fds[0], 0)
            os.dup2(fds[1], 1)
            os.dup2(fds[2], 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    t1 = perf_counter_ns()
    for fd in fds:
        os.close(fd)
    out.write("%d %d %r %r %d\n" % (os.waitstatus_to_exitcode(status), t1 - t0,
                                    ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
    out.flush()
"""


class Launcher:
    def __init__(self, python: str, env: dict):
        self.proc = subprocess.Popen([python, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def run(self, argv: list[str], stdin: str, stderr: str) -> tuple[int, float, float, int]:
        """(exit code, wall s, cpu s, peak RSS KiB) of one process."""
        assert all("\x1f" not in a and "\n" not in a for a in argv)
        self.proc.stdin.write("\x1f".join([stdin, stderr, *argv]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the launcher died (exit {self.proc.wait()})")
        code, wall, user, system, rss = line.split()
        return int(code), int(wall) / 1e9, float(user) + float(system), int(rss)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


# --- messages -------------------------------------------------------------------------------

DATE = "Sat, 28 Nov 2026 10:15:00 +0000"
RECEIVED = ("Received: from mx.example.org (mx.example.org [192.0.2.25])\n"
            "\tby mail.example.com (Postfix) with ESMTPS id 4ZxYk12abcz9sW\n"
            f"\tfor <{ACCOUNT}>; {DATE}\n"
            "Received: from localhost (localhost [127.0.0.1])\n"
            "\tby mx.example.org (Postfix) with ESMTP id 7F3A2C0123\n"
            f"\tfor <{ACCOUNT}>; {DATE}\n")
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua").split()


def _text(size: int, seed: int) -> str:
    rnd = random.Random(seed)
    lines, n = [], 0
    while n < size:
        line = " ".join(rnd.choice(WORDS) for _ in range(12)) + "\n"
        lines.append(line)
        n += len(line)
    return "".join(lines)


def _bulk_head(extra_ct: str) -> str:
    return (f"Return-Path: <news@lists.example.org>\n{RECEIVED}"
            "DKIM-Signature: v=1; a=rsa-sha256; d=lists.example.org; s=s1; c=relaxed/relaxed;\n"
            "\th=from:to:subject:date:message-id;\n"
            "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
            "\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgbG9va3MgbGlrZSBvbmU=\n"
            "From: Example News <news@lists.example.org>\n"
            f"To: Ana Silva <{ACCOUNT}>\n"
            "Subject: Example News, issue 48\n"
            f"Date: {DATE}\n"
            "Message-ID: <issue48.1764324900@lists.example.org>\n"
            "MIME-Version: 1.0\n"
            "Precedence: bulk\n"
            "List-Id: Example News <news.lists.example.org>\n"
            "List-Unsubscribe: <mailto:news-leave@lists.example.org>,"
            " <https://lists.example.org/u/48>\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
            f"{extra_ct}")


def bulk_5k() -> bytes:
    head = _bulk_head("Content-Type: text/plain; charset=utf-8\n")
    return (head + "\n" + _text(5 * 1024 - len(head), 1)).encode()


def bulk_5m() -> bytes:
    b = "=_bench_boundary_48"
    head = _bulk_head(f'Content-Type: multipart/mixed; boundary="{b}"\n')
    payload = random.Random(2).randbytes(3_900_000)  # 5.2 MB once base64-encoded
    import base64

    enc = base64.encodebytes(payload).decode()  # 76-character lines
    return (head + "\nThis is a multi-part message in MIME format.\n\n"
            f"--{b}\nContent-Type: text/plain; charset=utf-8\n\n{_text(3000, 3)}\n"
            f"--{b}\nContent-Type: application/pdf; name=\"issue48.pdf\"\n"
            "Content-Transfer-Encoding: base64\n"
            "Content-Disposition: attachment; filename=\"issue48.pdf\"\n\n"
            f"{enc}\n--{b}--\n").encode()


def dsn() -> bytes:
    """A Postfix-style bounce (RFC 3464), as Postfix's bounce daemon writes it."""
    b = "4ZxYk12abcz9sW.1764324900/mail.example.com"
    return (f"Return-Path: <>\n{RECEIVED}"
            "Date: Sat, 28 Nov 2026 10:15:00 +0000 (UTC)\n"
            "From: MAILER-DAEMON@mail.example.com (Mail Delivery System)\n"
            "Subject: Undelivered Mail Returned to Sender\n"
            f"To: {ACCOUNT}\n"
            "Auto-Submitted: auto-replied\n"
            "MIME-Version: 1.0\n"
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\n'
            "Content-Transfer-Encoding: 8bit\n"
            "Message-Id: <20261128101500.4ZxYk12abcz9sW@mail.example.com>\n\n"
            "This is a MIME-encapsulated message.\n\n"
            f"--{b}\nContent-Description: Notification\n"
            "Content-Type: text/plain; charset=us-ascii\n\n"
            "This is the mail system at host mail.example.com.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below.\n\n"
            "<nobody@example.net>: host mx.example.net[198.51.100.7] said: 550 5.1.1\n"
            "    <nobody@example.net>: Recipient address rejected: User unknown (in reply to\n"
            "    RCPT TO command)\n\n"
            f"--{b}\nContent-Description: Delivery report\n"
            "Content-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mail.example.com\n"
            "X-Postfix-Queue-ID: 4ZxYk12abcz9sW\n"
            f"X-Postfix-Sender: rfc822; {ACCOUNT}\n"
            f"Arrival-Date: {DATE}\n\n"
            "Final-Recipient: rfc822; nobody@example.net\n"
            "Original-Recipient: rfc822;nobody@example.net\n"
            "Action: failed\nStatus: 5.1.1\n"
            "Remote-MTA: dns; mx.example.net\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: Recipient address\n"
            "    rejected: User unknown\n\n"
            f"--{b}\nContent-Description: Undelivered Message Headers\n"
            "Content-Type: text/rfc822-headers\n\n"
            f"From: Ana Silva <{ACCOUNT}>\nTo: nobody@example.net\nSubject: Hello\n"
            f"Date: {DATE}\nMessage-ID: <hello.1@example.com>\n\n--{b}--\n").encode()


def personal(to: str = f"Ana Silva <{ACCOUNT}>") -> bytes:
    return (f"Return-Path: <{PRIMED}>\n{RECEIVED}"
            f"From: Bob Example <{PRIMED}>\n"
            f"To: {to}\n"
            "Subject: Lunch next week?\n"
            f"Date: {DATE}\n"
            "Message-ID: <lunch.1764324900@example.org>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n"
            "Hi Ana,\n\nare you free for lunch on Tuesday? The usual place at one.\n\n"
            "Bob\n").encode()


# --- the SMTP sink ----------------------------------------------------------------------------

class Sink:
    """aiosmtpd on 127.0.0.1, port 0, in a thread of this process; counts what it accepts."""

    def __init__(self):
        import asyncio

        from aiosmtpd.smtp import SMTP

        self.count = 0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.count += 1
                return "250 2.0.0 queued"

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        handler = Handler()
        fut = asyncio.run_coroutine_threadsafe(self.loop.create_server(
            lambda: SMTP(handler, hostname="sink.bench"), "127.0.0.1", 0), self.loop)
        self.server = fut.result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def messages(self) -> int:
        with self.lock:
            return self.count

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def import_aiosmtpd(venv: Path) -> None:
    try:
        import aiosmtpd  # noqa: F401
        return
    except ImportError:
        pass
    target = venv / "bench-sinklib"  # beside the venv's site-packages, not in it
    if not (target / "aiosmtpd").is_dir():
        say("aiosmtpd is not importable here: installing it into", target)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--target",
                        str(target), "aiosmtpd"], check=True)
    sys.path.insert(0, str(target))


# --- setup ------------------------------------------------------------------------------------

def say(*a) -> None:
    print("bench:", *a, file=sys.stderr, flush=True)


def build_venv(venv: Path, python: str, reinstall: bool, extras: str = "") -> None:
    if not (venv / "bin" / "python").exists():
        try:
            ok = subprocess.run([python, "-c", "import venv, ensurepip"],
                                capture_output=True).returncode == 0
        except OSError:
            ok = False
        if not ok:
            raise SystemExit(f"{python} cannot make a venv with pip (Debian: apt-get install "
                             "python3-venv), or choose another interpreter with --python")
        say(f"creating {venv} with {python} -m venv")
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        reinstall = True
        say("pip install --upgrade pip")
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--upgrade", "pip"],
                       check=True)
    installed = (venv / "bin" / "autoresponder").exists()
    if reinstall or not installed:
        say(f"pip install {ROOT} (not editable)")
        again = ["--force-reinstall", "--no-deps"] if installed else []
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *again,
                        f"{ROOT}{extras}"], check=True)
    if extras and subprocess.run([str(venv / "bin" / "python"), "-c", "import psycopg"],
                                 capture_output=True).returncode != 0:
        say(f"pip install {ROOT}{extras} (the PostgreSQL driver)")
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"{ROOT}{extras}"],
                       check=True)
    script = (venv / "bin" / "autoresponder").read_text()
    if "import re" in script:
        say("warning: the console script imports re (an old pip wrote it); "
            "pip install -U pip and reinstall")


def write_config(path: Path, db: Path, transport: dict) -> None:
    """The timed config (log target none) and its twin NAME-log.toml that logs to a file, for
    one checked run per case that shows which rule decided."""
    for twin, log in ((path, ['target = "none"']),
                      (path.with_name(path.stem + "-log.toml"),
                       ['target = "file"', f'path = "{path.with_suffix(".log")}"'])):
        lines = [f'database = "{db}"', "[log]", *log,
                 "[rate_limit]", "per_account = 0", "global = 0", "[transport]"]
        for k, v in transport.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
        twin.write_text("\n".join(lines) + "\n")


class Case:
    def __init__(self, name: str, group: str, argv, stdin: Path, expect: str, note: str = "",
                 rule: str = ""):
        self.name, self.group, self.argv, self.stdin = name, group, argv, stdin
        self.expect = expect  # "file", "smtp" (one reply) or "none"
        self.note = note
        self.rule = rule  # the rule= the log line must name ("reply" for a reply)
        self.decided = ""
        self.samples: list[tuple[float, float, int]] = []
        self.bare: list[tuple[float, float, int]] = []


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="autoresponder-bench-"))
        self.venv = Path(args.venv).resolve() if args.venv else self.work / "venv"
        self.serial = 0
        self.failures: list[str] = []

    # counting replies, to check each run did what its case says
    def outbox_count(self) -> int:
        return sum(1 for n in os.listdir(self.outbox) if n.endswith(".eml"))

    def counts(self) -> tuple[int, int]:
        return self.outbox_count(), (self.sink.messages() if self.sink else 0)

    def fresh_sender(self) -> str:
        self.serial += 1
        return f"s{self.serial}.{os.getpid()}@senders.example.org"

    def setup(self) -> None:
        a = self.args
        build_venv(self.venv, a.python, a.reinstall, "[postgresql]" if a.postgresql else "")
        self.py = str(self.venv / "bin" / "python")
        self.exe = str(self.venv / "bin" / "autoresponder")
        import_aiosmtpd(self.venv)
        self.sink = Sink()
        w = self.work
        self.home = w / "home"
        self.home.mkdir()
        self.outbox = w / "outbox"
        self.outbox.mkdir()
        (w / "cache").mkdir(mode=0o700)
        self.db = w / "state" / "autoresponder.sqlite3"
        self.db.parent.mkdir()
        self.cfg_file = w / "file.toml"
        self.cfg_smtp = w / "smtp.toml"
        write_config(self.cfg_file, self.db, {"kind": "file", "path": str(self.outbox)})
        write_config(self.cfg_smtp, self.db, {"kind": "smtp", "host": "127.0.0.1",
                                              "port": self.sink.port, "timeout": "10s"})
        self.stderr = w / "stderr.txt"
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home),
               "LOGNAME": pwd.getpwuid(os.getuid()).pw_name,
               "AUTORESPONDER_CACHE_DIR": str(w / "cache")}
        for k in ("LANG", "TZ"):
            if k in os.environ:
                env[k] = os.environ[k]
        self.env = env
        r = subprocess.run([self.exe, "--config", str(self.cfg_file), "vacation", "enable",
                            ACCOUNT, "--message", "I am away until Monday; Rui answers for me."],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"vacation enable failed: {r.stderr or r.stdout}")
        self.msgs = {}
        for name, make in (("bulk-5k", bulk_5k), ("bulk-5m", bulk_5m), ("dsn", dsn),
                           ("personal", personal),
                           ("bcc", lambda: personal("Rui Costa <rui@example.com>"))):
            p = w / f"{name}.eml"
            p.write_bytes(make())
            self.msgs[name] = p
        self.launcher = Launcher(self.py, env)
        # the dedup case: answer PRIMED once
        before = self.counts()
        code = self.launcher.run(self.deliver(self.cfg_file, PRIMED),
                                 str(self.msgs["personal"]), str(self.stderr))[0]
        if code != 0 or self.counts()[0] != before[0] + 1:
            raise SystemExit("priming the ledger did not produce a reply; see "
                             f"{self.stderr}: {self.stderr.read_text()[-500:]}")
        if a.postgresql:
            self.setup_postgresql()

    def setup_postgresql(self) -> None:
        """A private PostgreSQL cluster (tests/support/pgcluster.py: the installed server's
        initdb and pg_ctl, an unprivileged user, a unix socket in a temporary directory), the
        schema, the account, and PRIMED answered once: the in-process `deliver` against
        PostgreSQL (psycopg imported and a connection made per message)."""
        sys.path.insert(0, str(ROOT))
        from tests.support.pgcluster import start_cluster

        say("starting a private PostgreSQL cluster")
        self.pg = start_cluster(need_driver=False)
        url = self.pg.url()  # the cluster's own "postgres" database: it is private
        self.cfg_pg = self.work / "postgresql.toml"
        write_config(self.cfg_pg, url, {"kind": "file", "path": str(self.outbox)})
        for argv in (["db", "upgrade"],
                     ["vacation", "enable", ACCOUNT, "--message", "I am away until Monday."]):
            r = subprocess.run([self.exe, "--config", str(self.cfg_pg), *argv], env=self.env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} on PostgreSQL failed: {r.stderr or r.stdout}")
        before = self.counts()
        code = self.launcher.run(self.deliver(self.cfg_pg, PRIMED),
                                 str(self.msgs["personal"]), str(self.stderr))[0]
        if code != 0 or self.counts()[0] != before[0] + 1:
            raise SystemExit("priming the PostgreSQL ledger did not produce a reply; see "
                             f"{self.stderr}: {self.stderr.read_text()[-500:]}")
        # `serve` on the same database, for `deliver --via` (the way issue 12 recommends):
        # warm workers, psycopg imported once, connections from a pool
        self.pg_sock = self.work / "pg-lmtp.sock"
        cfg = self.work / "postgresql-serve.toml"
        cfg.write_text(self.cfg_pg.read_text() + f'[serve]\nlmtp = "unix:{self.pg_sock}"\n'
                       "workers = 2\n")
        self.pg_serve = subprocess.Popen([self.exe, "--config", str(cfg), "serve"],
                                         env=self.env, stdout=subprocess.DEVNULL,
                                         stderr=open(self.work / "pg-serve.stderr", "wb"))
        deadline = time.monotonic() + 30
        while not self.pg_sock.exists():
            if self.pg_serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("serve on PostgreSQL did not start: "
                                 + (self.work / "pg-serve.stderr").read_text()[-500:])
            time.sleep(0.05)
        time.sleep(0.5)  # both workers listening

    def via(self, sender: str) -> list[str]:
        return [self.exe, "deliver", "--via", f"unix:{self.pg_sock}", "--sender", sender,
                "--recipient", ACCOUNT]

    def deliver(self, cfg: Path, sender: str) -> list[str]:
        return [self.exe, "--config", str(cfg), "deliver", "--sender", sender,
                "--recipient", ACCOUNT]

    def cases(self) -> list[Case]:
        m, f, s = self.msgs, self.cfg_file, self.cfg_smtp
        lists = "news@lists.example.org"
        cs = [
            Case("skip: bulk 5 KB", "skip", lambda: self.deliver(f, lists), m["bulk-5k"], "none",
                 rule="precedence"),
            Case("skip: bulk + 5 MB attachment", "skip", lambda: self.deliver(f, lists),
                 m["bulk-5m"], "none", rule="precedence"),
            Case("skip: DSN, null sender", "skip", lambda: self.deliver(f, ""), m["dsn"], "none",
                 rule="null-sender"),
            Case("dedup: already answered", "dedup", lambda: self.deliver(f, PRIMED),
                 m["personal"], "none", rule="already-replied"),
            Case("reply: file transport", "reply", lambda: self.deliver(f, self.fresh_sender()),
                 m["personal"], "file", rule="reply"),
            Case("reply: smtp to aiosmtpd", "reply", lambda: self.deliver(s, self.fresh_sender()),
                 m["personal"], "smtp", rule="reply"),
            # not among the cases: mail that names the account only in the envelope
            # (Bcc, some lists) is decided by the exact recipient check
            Case("extra: Bcc'd personal message", "extra",
                 lambda: self.deliver(f, "carol@example.org"), m["bcc"], "none",
                 "no budget line", rule="not-addressed"),
        ]
        if self.args.postgresql:
            p = self.cfg_pg
            cs += [
                Case("postgresql skip: bulk 5 KB", "postgresql",
                     lambda: self.deliver(p, lists), m["bulk-5k"], "none",
                     "header skip: no psycopg", rule="precedence"),
                Case("postgresql dedup: already answered", "postgresql",
                     lambda: self.deliver(p, PRIMED), m["personal"], "none",
                     "in-process, one connection", rule="already-replied"),
                Case("postgresql reply: file transport", "postgresql",
                     lambda: self.deliver(p, self.fresh_sender()), m["personal"], "file",
                     "in-process, one connection", rule="reply"),
                # decided by serve (its log, not this process's), so no rule check here;
                # tests/pg/test_serve_postgres.py checks the decisions
                Case("postgresql dedup via serve", "postgresql", lambda: self.via(PRIMED),
                     m["personal"], "none", "deliver --via to serve on PostgreSQL"),
                Case("postgresql reply via serve: file transport", "postgresql",
                     lambda: self.via(self.fresh_sender()), m["personal"], "file",
                     "deliver --via to serve on PostgreSQL"),
            ]
        if os.path.exists("/usr/bin/vacation") and not self.args.no_vacation:
            cs += self.vacation_cases()
        return cs

    def vacation_cases(self) -> list[Case]:
        """Debian's vacation(1) on the same messages (they start with Return-Path:, as
        Postfix's local(8) and pipe(8) flag R write them), for scale."""
        vdb, vmsg = self.work / "vacation.db", self.work / "vacation.msg"
        vmsg.write_text(f"From: Ana Silva <{ACCOUNT}>\nSubject: Away\nPrecedence: bulk\n\n"
                        "I am away until Monday; Rui answers for me.\n")
        login = pwd.getpwuid(os.getuid()).pw_name
        subprocess.run(["/usr/bin/vacation", "-i", "-f", str(vdb)], check=True, env=self.env)
        # -x: the sender is in the database, so vacation looks it up and does not reply
        subprocess.run(["/usr/bin/vacation", "-x", "-f", str(vdb)], input=PRIMED + "\n",
                       text=True, check=True, env=self.env)
        self.vacation_db = vdb
        argv = ["/usr/bin/vacation", "-a", "ana", "-f", str(vdb), "-m", str(vmsg), login]
        m = self.msgs
        return [Case("vacation(1): skip bulk 5 KB", "vacation", lambda: argv, m["bulk-5k"],
                     "none"),
                Case("vacation(1): skip bulk + 5 MB", "vacation", lambda: argv, m["bulk-5m"],
                     "none"),
                Case("vacation(1): skip DSN", "vacation", lambda: argv, m["dsn"], "none"),
                Case("vacation(1): dedup", "vacation", lambda: argv, m["personal"], "none",
                     "sender entered with vacation -x")]

    def vacation_entries(self) -> list[str]:
        r = subprocess.run(["/usr/bin/vacation", "-l", "-f", str(self.vacation_db)],
                           capture_output=True, text=True, env=self.env)
        return [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]

    def check_rules(self, cases: list[Case]) -> None:
        """One run of each case through the logging twin of its config: which rule decided."""
        for c in cases:
            if not c.rule:
                continue
            argv = c.argv()
            cfg = Path(argv[argv.index("--config") + 1])
            argv[argv.index("--config") + 1] = str(cfg.with_name(cfg.stem + "-log.toml"))
            log = cfg.with_suffix(".log")
            seen = len(log.read_text().splitlines()) if log.exists() else 0
            self.launcher.run(argv, str(c.stdin), str(self.stderr))
            lines = log.read_text().splitlines()[seen:] if log.exists() else []
            fields = dict(w.split("=", 1) for w in lines[-1].split() if "=" in w) if lines else {}
            c.decided = fields.get("rule", "(no log line)")
            if c.decided != c.rule:
                self.failures.append(f"{c.name}: decided by {c.decided!r}, expected {c.rule!r}")

    # one run, checked
    def run_case(self, c: Case) -> tuple[float, float, int]:
        before = self.counts()
        code, wall, cpu, rss = self.launcher.run(c.argv(), str(c.stdin), str(self.stderr))
        after = self.counts()
        want = (before[0] + (c.expect == "file"), before[1] + (c.expect == "smtp"))
        if c.expect == "smtp" and after != want:  # the sink may answer a moment after exit
            deadline = time.monotonic() + 2
            while after != want and time.monotonic() < deadline:
                time.sleep(0.01)
                after = self.counts()
        if code != 0:
            self.failures.append(f"{c.name}: exit {code}")
        if after != want:
            self.failures.append(f"{c.name}: replies (file, smtp) went {before} -> {after}, "
                                 f"expected {want}")
        return wall, cpu, rss

    def bare(self) -> tuple[float, float, int]:
        code, wall, cpu, rss = self.launcher.run([self.py, "-c", "pass"], "/dev/null",
                                                 str(self.stderr))
        if code != 0:
            self.failures.append(f"bare python: exit {code}")
        return wall, cpu, rss

    def measure(self, cases: list[Case]) -> None:
        a = self.args
        self.check_rules(cases)
        for _ in range(a.warmup):
            self.bare()
            for c in cases:
                self.run_case(c)
        say(f"{a.runs} rounds of {len(cases)} cases, each after a bare interpreter run")
        for r in range(a.runs):
            k = r % len(cases)
            for c in cases[k:] + cases[:k]:  # rotate the order from round to round
                c.bare.append(self.bare())
                c.samples.append(self.run_case(c))
        # what a child that uses (almost) nothing reads: the launcher's own size
        self.floor = self.launcher.run(["/bin/true"], "/dev/null", str(self.stderr))[3]

    def throughput(self, n: int) -> dict:
        """Two parallel streams of n deliveries each of a mixed set; wall time of the whole."""
        m, f, s = self.msgs, self.cfg_file, self.cfg_smtp
        cycle = (["bulk"] * 7 + ["bulk5m"] + ["dsn"] * 2 + ["dedup"] * 5 + ["file"] * 4
                 + ["smtp"])
        lock = threading.Lock()

        def job(kind: str) -> tuple[list[str], Path]:
            with lock:
                fresh = self.fresh_sender()
            return {"bulk": (self.deliver(f, "news@lists.example.org"), m["bulk-5k"]),
                    "bulk5m": (self.deliver(f, "news@lists.example.org"), m["bulk-5m"]),
                    "dsn": (self.deliver(f, ""), m["dsn"]),
                    "dedup": (self.deliver(f, PRIMED), m["personal"]),
                    "file": (self.deliver(f, fresh), m["personal"]),
                    "smtp": (self.deliver(s, fresh), m["personal"])}[kind]

        streams = []
        for i in range(2):
            kinds = [cycle[(j + 10 * i) % len(cycle)] for j in range(n)]
            streams.append([job(k) for k in kinds])
        bad: list[str] = []
        err = os.open(self.stderr, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

        def stream(jobs) -> None:
            for argv, stdin in jobs:
                fd = os.open(stdin, os.O_RDONLY)
                try:
                    pid = os.posix_spawn(argv[0], argv, self.env, file_actions=[
                        (os.POSIX_SPAWN_DUP2, fd, 0),
                        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                        (os.POSIX_SPAWN_DUP2, err, 2)])
                finally:
                    os.close(fd)
                _, status = os.waitpid(pid, 0)
                if os.waitstatus_to_exitcode(status) != 0:
                    with lock:
                        bad.append(f"throughput: exit {os.waitstatus_to_exitcode(status)}")

        before = self.counts()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=stream, args=(js,)) for js in streams]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        os.close(err)
        kinds_all = [cycle[(j + 10 * i) % len(cycle)] for i in range(2) for j in range(n)]
        want_file = kinds_all.count("file")
        want_smtp = kinds_all.count("smtp")
        deadline = time.monotonic() + 5
        after = self.counts()
        while after[1] < before[1] + want_smtp and time.monotonic() < deadline:
            time.sleep(0.05)
            after = self.counts()
        got = (after[0] - before[0], after[1] - before[1])
        if got != (want_file, want_smtp):
            bad.append(f"throughput: replies (file, smtp) {got}, expected {(want_file, want_smtp)}")
        self.failures.extend(bad)
        return {"n": 2 * n, "wall": wall, "rate": 2 * n / wall, "replies": got,
                "mix": {k: kinds_all.count(k) for k in dict.fromkeys(cycle)}}

    def close(self) -> None:
        if getattr(self, "launcher", None):
            self.launcher.close()
        if getattr(self, "sink", None):
            self.sink.stop()
        if getattr(self, "pg_serve", None):
            self.pg_serve.terminate()
            try:
                self.pg_serve.wait(60)
            except subprocess.TimeoutExpired:
                self.pg_serve.kill()
        if getattr(self, "pg", None):
            self.pg.remove()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


# --- report -----------------------------------------------------------------------------------

def kept_sections(path: Path) -> str:
    """Sections other scripts write into the same file (bench/throughput.py's, between its
    markers): kept as they are when this script rewrites its own part."""
    text = path.read_text() if path.exists() else ""
    begin, end = "<!-- throughput.py: begin -->", "<!-- throughput.py: end -->"
    if begin in text and end in text:
        return "\n" + begin + text.split(begin, 1)[1].split(end, 1)[0] + end + "\n"
    return ""


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def row(name: str, samples, bare_wall: float, bare_cpu: float, floor: int) -> str:
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    w, c = statistics.median(walls), statistics.median(cpus)

    def mb(kib: float) -> str:
        return f"≤{kib / 1024:.1f}" if kib <= floor * 1.05 else f"{kib / 1024:.1f}"

    rss = [s[2] for s in samples]
    return (f"| {name} | {len(samples)} | {ms(w)} ({ms(min(walls))}–{ms(max(walls))}) | "
            f"{ms(c)} ({ms(min(cpus))}–{ms(max(cpus))}) | "
            f"{mb(statistics.median(rss))} ({mb(max(rss))}) | "
            f"**{w / bare_wall:.2f}×** | {c / bare_cpu:.2f}× |")


def shell(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def report(b: Bench, cases: list[Case], tp: dict | None, load_before: str, started: str) -> str:
    bare_all = [s for c in cases for s in c.bare]
    bw = statistics.median(s[0] for s in bare_all)
    bc = statistics.median(s[1] for s in bare_all)
    command = " ".join(shlex.quote(a) for a in ["python", "bench/pipe.py", *sys.argv[1:]])
    vpy = shell([b.py, "-c", "import sys; print(sys.version.split()[0])"])
    commit = shell(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = shell(["git", "-C", str(ROOT), "status", "--porcelain", "--", "autoresponder",
                   "pyproject.toml", "schema.sql", "templates"])
    out = [
        "# Benchmark results: whole-process cost of `autoresponder deliver`",
        "",
        f"- date: {started} (UTC)",
        f"- command: `{command}`",
        f"- machine: `{shell(['uname', '-a'])}`; nproc {shell(['nproc']) or os.cpu_count()}",
        f"- load (uptime) before: `{load_before}`; after: `{shell(['uptime'])}`",
        f"- interpreter of the venv: Python {vpy} ({b.args.python} -m venv, current pip, "
        f"non-editable install); bench run by Python {platform.python_version()}",
        f"- checkout: {commit or '(not a git checkout)'}"
        f"{' (with uncommitted changes to the package)' if commit and dirty else ''}",
        f"- {b.args.runs} timed runs per case after {b.args.warmup} warm-up rounds; each run "
        "right after a bare `<venv>/bin/python -c pass` (the ratio's base); the order of cases "
        "rotates every round",
        "- wall: fork to reap (fork + execve + wait4, in a small launcher); CPU: user + system "
        "of the child (rusage); peak RSS: ru_maxrss of the child (launcher floor "
        f"{b.floor / 1024:.1f} MB: a reading within 5 % of it, shown as ≤, is the floor)",
        "",
        "| case | runs | wall ms median (min–max) | CPU ms median (min–max) | "
        "peak RSS MB median (max) | wall × bare | CPU × bare |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("bare `python -c pass`", bare_all, bw, bc, b.floor),
    ]
    for c in cases:
        base_w = statistics.median(s[0] for s in c.bare)
        base_c = statistics.median(s[1] for s in c.bare)
        name = c.name + (f" ({c.note})" if c.note else "")
        out.append(row(name, c.samples, base_w, base_c, b.floor))
    out += ["", "Ratios are to the bare runs interleaved with that case (the bare row pools all "
            "of them). Budget lines judge the wall-time ratio, as the issue states it; the CPU "
            "ratio beside it is steadier when other processes share the cores.", "",
            "## Budget (issue 6)", ""]

    def med(c: Case, i: int) -> float:
        return statistics.median(s[i] for s in c.samples)

    def ratio(c: Case, i: int = 0) -> float:
        return med(c, i) / statistics.median(s[i] for s in c.bare)

    by = {c.name: c for c in cases}
    lines = []
    for c in cases:
        limit = {"skip": 1.5, "dedup": 3.0, "reply": 4.0}.get(c.group)
        if limit is not None:
            lines.append((f"{c.name}: {ratio(c):.3f}× bare ≤ {limit}× (CPU time: "
                          f"{ratio(c, 1):.3f}×)", ratio(c) <= limit))
    k5, m5 = by["skip: bulk 5 KB"], by["skip: bulk + 5 MB attachment"]
    r = med(m5, 0) / med(k5, 0)
    lines.append((f"5 MB skip: {r:.3f}× the 5 KB skip ≤ 1.3× (CPU time: "
                  f"{med(m5, 1) / med(k5, 1):.2f}×)", r <= 1.3))
    r = med(m5, 2) / med(k5, 2)
    lines.append((f"peak RSS 5 MB: {r:.3f}× that of 5 KB ≤ 1.5×", r <= 1.5))
    for text, ok in lines:
        out.append(f"- {'PASS' if ok else 'MISS'} {text}")
    if "postgresql dedup via serve" in by:
        inproc = [by["postgresql dedup: already answered"],
                  by["postgresql reply: file transport"]]
        via = [by["postgresql dedup via serve"],
               by["postgresql reply via serve: file transport"]]
        out += ["", "## PostgreSQL (issue 12)", "",
                "- in-process `deliver` against PostgreSQL (psycopg imported and a connection "
                "made per message): dedup " + ", reply ".join(
                    f"{med(c, 0) * 1000:.1f} ms ({ratio(c):.2f}× bare)" for c in inproc),
                "- `deliver --via` to `serve` on the same database (warm workers, a pool of "
                "connections): dedup " + ", reply ".join(
                    f"{med(c, 0) * 1000:.1f} ms ({ratio(c):.2f}× bare)" for c in via),
                f"- so the relay is {med(inproc[0], 0) / med(via[0], 0):.1f}× (dedup) and "
                f"{med(inproc[1], 0) / med(via[1], 0):.1f}× (reply) faster per message than "
                "in-process: with PostgreSQL, run `serve` and point the MTA at it; a header "
                "skip never imports psycopg either way"]
    if tp:
        mix = ", ".join(f"{v} {k}" for k, v in tp["mix"].items())
        out += ["", "## Throughput", "",
                f"Two parallel streams, {tp['n']} deliveries in all ({mix}): "
                f"{tp['wall']:.2f} s wall, **{tp['rate']:.0f} deliveries/s** "
                f"(replies written/sent: {tp['replies'][0]} file, {tp['replies'][1]} smtp)."]
    out += ["", "## Checks", ""]
    if b.failures:
        out += [f"- FAILED: {f}" for f in b.failures[:20]]
        if len(b.failures) > 20:
            out.append(f"- ... and {len(b.failures) - 20} more")
    else:
        out.append("- every run exited 0; every reply run produced exactly one reply (a new "
                   ".eml in the outbox, or one more message at the SMTP sink) and every "
                   "skip/dedup run none")
    err = b.stderr.read_text(errors="replace").strip() if b.stderr.exists() else ""
    decided = [f"{c.name.split(': ', 1)[1]}: {c.decided}" for c in cases if c.rule]
    out.append("- the rule that decided (one run per case through a twin config that logs to a "
               "file): " + "; ".join(decided))
    out.append("- stderr of all runs: " + ("empty" if not err else
                                           f"NOT empty: `{err.splitlines()[-1][:200]}`"))
    if hasattr(b, "vacation_db"):
        entries = b.vacation_entries()
        ok = entries == [PRIMED]
        out.append(f"- vacation(1) database after its runs: {entries} "
                   f"({'no reply sent, as expected' if ok else 'UNEXPECTED: it replied'})")
        if not ok:
            b.failures.append("vacation replied")
    return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=30, help="timed runs per case (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up rounds (default 3)")
    p.add_argument("--stream", type=int, default=500,
                   help="deliveries per stream in the throughput figure (default 500; 0: skip)")
    p.add_argument("--venv", help="use (or create) this venv instead of a temporary one")
    p.add_argument("--reinstall", action="store_true",
                   help="with --venv: pip install the checkout into it again")
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable, help="interpreter for the venv (default /usr/bin/python3)")
    p.add_argument("--no-vacation", action="store_true", help="skip Debian's vacation(1)")
    p.add_argument("--postgresql", action="store_true",
                   help="also time deliver against a private PostgreSQL cluster (needs the "
                        "server binaries, /usr/lib/postgresql/*/bin; installs the "
                        "[postgresql] extra into the venv)")
    p.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"),
                   help="write the report here ('-': only print it)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load_before = shell(["uptime"])
    b = Bench(args)
    try:
        b.setup()
        cases = b.cases()
        b.measure(cases)
        tp = None
        if args.stream > 0:
            say(f"throughput: 2 streams x {args.stream}")
            tp = b.throughput(args.stream)
        text = report(b, cases, tp, load_before, started)
    finally:
        if args.keep:
            say("work directory kept:", b.work)
        b.close()
    print(text, end="")
    if args.results != "-":
        Path(args.results).write_text(text + kept_sections(Path(args.results)))
        say("written to", args.results)
    return 1 if b.failures else 0


if __name__ == "__main__":
    sys.exit(main())
