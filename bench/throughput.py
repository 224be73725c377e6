#!/usr/bin/env python3
"""Throughput of the three ways to run an auto-responder on this machine, side by side.

One run, the same messages, each contender on the machine's cores (2 here):

- ``vacation(1)`` (Debian's, C) as a pipe: two parallel streams of one process per message;
- ``autoresponder deliver`` as a pipe: the same two streams;
- ``autoresponder serve`` (``--workers 2``) fed by Postfix's own LMTP load generator,
  ``smtp-source -L -d -s 8 -m N -F message.eml unix:PATH``; per-message latency from a second
  pass with 8 LMTP sessions driven from here (smtp-source prints no per-message times).

Cases: skip (a 5 KB newsletter), dedup (a sender already answered), reply through the
``file`` transport, reply through ``smtp`` to a local aiosmtpd sink. For a reply per message
the account changes every message (``smtp-source -N`` numbers the recipients; the accounts
``1ana@example.com`` ... are enabled beforehand, ``rules.check_recipient = false``), so the
ledger never answers "already replied". Plus ``deliver --via`` (the relay) per process
against a bare interpreter. Every run is checked (exit codes, LMTP answers, replies counted).

Writes a "Throughput" section into bench/RESULTS.md (between markers; the rest of the file is
kept). Usage: ``python bench/throughput.py [--messages 2000] [--venv PATH]``; for a smoke test
``--messages 40 --results -``. Run it on a quiet machine: it measures, nothing else should.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipe as P  # noqa: E402 - bench/pipe.py: venv, messages, sink

ROOT = P.ROOT
BEGIN = "<!-- throughput.py: begin -->"
END = "<!-- throughput.py: end -->"
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
VACATION = "/usr/bin/vacation"


def pct(values: "list[float]", q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


class Result:
    def __init__(self, label: str, count: int, wall: float, lat: "list[float]", note: str = ""):
        self.label, self.count, self.wall, self.lat, self.note = label, count, wall, lat, note

    @property
    def rate(self) -> float:
        return self.count / self.wall if self.wall else 0.0

    def cells(self) -> str:
        return (f"{self.rate:,.0f} | {pct(self.lat, 0.5) * 1000:.1f} | "
                f"{pct(self.lat, 0.99) * 1000:.1f}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.n = args.messages
        self.work = Path(tempfile.mkdtemp(prefix="ar-throughput-"))
        os.chmod(self.work, 0o755)
        self.venv = Path(args.venv) if args.venv else self.work / "venv"
        self.failures: "list[str]" = []
        self.env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8",
                    "HOME": str(self.work),
                    "AUTORESPONDER_CACHE_DIR": str(self.work / "cache")}
        self.sink = None

    # --- setup --------------------------------------------------------------------------------
    def setup(self) -> None:
        P.build_venv(self.venv, self.args.python, self.args.reinstall)
        P.import_aiosmtpd(self.venv)
        self.exe = str(self.venv / "bin" / "autoresponder")
        self.py = str(self.venv / "bin" / "python")
        self.sink = P.Sink()
        m = self.work / "msg"
        m.mkdir()
        self.msgs = {"bulk": m / "bulk-5k.eml", "personal": m / "personal.eml"}
        self.msgs["bulk"].write_bytes(P.bulk_5k())
        self.msgs["personal"].write_bytes(P.personal())
        # The accounts: ana (skip, dedup) and 1ana..Kana (a reply per message).
        accounts = self.n + self.args.probe + 10
        self.template_db = self.work / "template.sqlite3"
        cfg = self.config("setup", self.template_db, {"kind": "file",
                                                      "path": str(self.work / "x")})
        self.admin(cfg, "vacation", "enable", P.ACCOUNT, "--message", "Back on Monday.")
        code = ("import sys, time\nfrom autoresponder import config\n"
                "from autoresponder.store import open_store\n"
                "c = config.load(sys.argv[1]); s = open_store(c); now = time.time()\n"
                "for i in range(1, int(sys.argv[2]) + 1):\n"
                "    s.enable(f'{i}ana@example.com', {'message': 'Back on Monday.'}, None, now)\n"
                "s.close()\n")
        r = subprocess.run([self.py, "-c", code, str(cfg), str(accounts)], env=self.env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"enabling {accounts} accounts failed: {r.stderr[-2000:]}")
        # the dedup sender, answered once
        self.pipe_once(cfg, P.PRIMED, P.ACCOUNT, self.msgs["personal"])

    def config(self, name: str, db: Path, transport: dict, serve_sock: "Path | None" = None,
               log: bool = False) -> Path:
        path = self.work / f"{name}.toml"
        lines = [f'database = "{db}"', "[log]",
                 (f'target = "file"\npath = "{self.work / (name + ".log")}"' if log
                  else 'target = "none"'),
                 "[rate_limit]", "per_account = 0", "global = 0",
                 "[rules]", "check_recipient = false", "[transport]"]
        for k, v in transport.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
        if serve_sock is not None:
            lines += ["[serve]", f'lmtp = "unix:{serve_sock}"', "workers = 2",
                      'message_timeout = "60s"']
        path.write_text("\n".join(lines) + "\n")
        return path

    def fresh_db(self, name: str) -> Path:
        db = self.work / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            if Path(str(self.template_db) + suffix).exists():
                shutil.copy(str(self.template_db) + suffix, str(db) + suffix)
        return db

    def admin(self, cfg: Path, *args: str) -> None:
        r = subprocess.run([self.exe, "--config", str(cfg), *args], env=self.env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{args}: {r.stderr or r.stdout}")

    def pipe_once(self, cfg, sender, rcpt, msg) -> None:
        with open(msg, "rb") as f:
            subprocess.run([self.exe, "--config", str(cfg), "deliver", "-f", sender, "-r",
                            rcpt], stdin=f, env=self.env, check=True)

    # --- contenders ----------------------------------------------------------------------------
    def streams(self, label: str, argv_for, msg: Path, count: int, streams: int = 2) -> Result:
        """`streams` parallel loops of one process per message; wall and per-process times."""
        lat: "list[float]" = []
        bad: "list[int]" = []
        lock = threading.Lock()
        per = count // streams

        def loop(s: int) -> None:
            for i in range(per):
                argv = argv_for(s * per + i + 1)
                with open(msg, "rb") as f:
                    t0 = time.perf_counter()
                    rc = subprocess.call(argv, stdin=f, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, env=self.env)
                    dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    if rc != 0:
                        bad.append(rc)

        threads = [threading.Thread(target=loop, args=(s,)) for s in range(streams)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if bad:
            self.failures.append(f"{label}: {len(bad)} runs exited non-zero ({sorted(set(bad))})")
        return Result(label, per * streams, wall, lat)

    def vacation(self, case: str) -> "Result | None":
        if not os.path.exists(VACATION):
            return None
        vdb = self.work / f"vacation-{case}.db"
        vmsg = self.work / "vacation.msg"
        vmsg.write_text("Subject: away\n\nBack on Monday.\n")
        subprocess.run([VACATION, "-i", "-f", str(vdb)], check=True, env=self.env)
        subprocess.run([VACATION, "-x", "-f", str(vdb)], input=P.PRIMED + "\n", text=True,
                       check=True, env=self.env)
        login = os.environ.get("USER") or "root"
        argv = [VACATION, "-a", "ana", "-f", str(vdb), "-m", str(vmsg), login]
        msg = self.msgs["bulk" if case == "skip" else "personal"]
        return self.streams(f"vacation(1) {case}", lambda i: argv, msg, self.n)

    def deliver_pipe(self, case: str) -> Result:
        transport = ({"kind": "smtp", "host": "127.0.0.1", "port": self.sink.port}
                     if case == "reply-smtp" else {"kind": "file",
                                                   "path": str(self.work / f"out-pipe-{case}")})
        cfg = self.config(f"pipe-{case}", self.fresh_db(f"pipe-{case}"), transport)
        before = self.replies(case, "pipe")
        if case == "skip":
            msg, rcpt, sender = self.msgs["bulk"], lambda i: P.ACCOUNT, "news@lists.example.org"
        elif case == "dedup":
            msg, rcpt, sender = self.msgs["personal"], lambda i: P.ACCOUNT, P.PRIMED
        else:
            msg, rcpt, sender = self.msgs["personal"], lambda i: f"{i}ana@example.com", P.PRIMED
        r = self.streams(f"deliver pipe {case}", lambda i: [
            self.exe, "--config", str(cfg), "deliver", "-f", sender, "-r", rcpt(i)], msg, self.n)
        self.check_replies(case, "pipe", before, r.count)
        return r

    def replies(self, case: str, mode: str) -> int:
        if case == "reply-smtp":
            return self.sink.messages()
        out = self.work / f"out-{mode}-{case}"
        return len(list(out.glob("*.eml"))) if out.exists() else 0

    def check_replies(self, case: str, mode: str, before: int, count: int) -> None:
        want = count if case.startswith("reply") else 0
        deadline = time.monotonic() + 30
        while self.replies(case, mode) - before < want and time.monotonic() < deadline:
            time.sleep(0.05)
        got = self.replies(case, mode) - before
        if got != want:
            self.failures.append(f"{mode} {case}: {got} replies, expected {want}")

    def serve(self, case: str) -> "tuple[Result, Result]":
        sock = self.work / f"lmtp-{case}.sock"
        transport = ({"kind": "smtp", "host": "127.0.0.1", "port": self.sink.port}
                     if case == "reply-smtp" else {"kind": "file",
                                                   "path": str(self.work / f"out-serve-{case}")})
        cfg = self.config(f"serve-{case}", self.fresh_db(f"serve-{case}"), transport, sock)
        proc = subprocess.Popen([self.exe, "--config", str(cfg), "serve"], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self.wait_socket(sock, proc)
            before = self.replies(case, "serve")
            msg = self.msgs["bulk" if case == "skip" else "personal"]
            sender = "news@lists.example.org" if case == "skip" else P.PRIMED
            argv = [SMTP_SOURCE, "-L", "-d", "-s", "8", "-m", str(self.n), "-F", str(msg),
                    "-f", sender, "-t", P.ACCOUNT]
            if case.startswith("reply"):
                argv.insert(1, "-N")  # 1ana@example.com, 2ana@..., one account per message
            t0 = time.perf_counter()
            r = subprocess.run(argv + [f"unix:{sock}"], capture_output=True, text=True,
                               env=self.env)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                self.failures.append(f"smtp-source {case}: exit {r.returncode}: "
                                     f"{(r.stderr or r.stdout)[-300:]}")
            self.check_replies(case, "serve", before, self.n)
            tput = Result(f"serve {case}", self.n, wall, [])
            probe = self.probe(case, sock, msg, sender)
            return tput, probe
        finally:
            proc.terminate()
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode != 0:
                self.failures.append(f"serve {case} exited {proc.returncode}: {err[-300:]}")

    def wait_socket(self, sock: Path, proc) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited: {proc.stderr.read().decode()[-2000:]}")
            if sock.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(str(sock))
                        if s.recv(100).startswith(b"220"):
                            time.sleep(0.5)  # both workers up
                            return
                except OSError:
                    pass
            time.sleep(0.05)
        raise SystemExit("serve did not come up")

    def probe(self, case: str, sock: Path, msg: Path, sender: str) -> Result:
        """Per-message latency: 8 sessions from here, timing DATA's end to the answer."""
        data = msg.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        data = b"".join(b"." + ln if ln.startswith(b".") else ln
                        for ln in data.splitlines(keepends=True)) + b".\r\n"
        lat: "list[float]" = []
        bad: "list[str]" = []
        lock = threading.Lock()
        per = max(1, self.args.probe // 8)
        base = self.n + 1

        def session(k: int) -> None:
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(sock))
            f = s.makefile("rb")

            def reply() -> bytes:
                while True:
                    line = f.readline()
                    if line[3:4] != b"-":
                        return line

            reply()
            s.sendall(b"LHLO bench\r\n")
            reply()
            for i in range(per):
                rcpt = (f"{base + k * per + i}ana@example.com" if case.startswith("reply")
                        else P.ACCOUNT)
                s.sendall(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
                for _ in range(3):
                    reply()
                t0 = time.perf_counter()
                s.sendall(data)
                ans = reply()
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    if not ans.startswith(b"250"):
                        bad.append(ans.decode(errors="replace").strip())
            s.sendall(b"QUIT\r\n")
            s.close()

        threads = [threading.Thread(target=session, args=(k,)) for k in range(8)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if bad:
            self.failures.append(f"serve {case} probe: {len(bad)} answers not 250: {bad[:3]}")
        return Result(f"serve {case} (8 sessions from Python)", per * 8, wall, lat)

    def via(self) -> "tuple[list[float], list[float]]":
        """`deliver --via` per process vs a bare interpreter, interleaved."""
        sock = self.work / "lmtp-via.sock"
        cfg = self.config("serve-via", self.fresh_db("serve-via"),
                          {"kind": "file", "path": str(self.work / "out-via")}, sock)
        proc = subprocess.Popen([self.exe, "--config", str(cfg), "serve"], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        via, bare = [], []
        try:
            self.wait_socket(sock, proc)
            argv = [self.exe, "deliver", "--via", f"unix:{sock}", "-f",
                    "news@lists.example.org", "-r", P.ACCOUNT]
            for _ in range(self.args.via_runs):
                for target, argv_ in ((bare, [self.py, "-c", "pass"]), (via, argv)):
                    with open(self.msgs["bulk"], "rb") as f:
                        t0 = time.perf_counter()
                        rc = subprocess.call(argv_, stdin=f, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, env=self.env)
                        target.append(time.perf_counter() - t0)
                    if rc != 0:
                        self.failures.append(f"{argv_[1:3]} exited {rc}")
        finally:
            proc.terminate()
            proc.communicate(timeout=60)
        return via, bare

    def close(self) -> None:
        if self.sink is not None:
            self.sink.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


CASES = ("skip", "dedup", "reply-file", "reply-smtp")
NAMES = {"skip": "skip: bulk 5 KB", "dedup": "dedup: already answered",
         "reply-file": "reply: file transport", "reply-smtp": "reply: smtp to aiosmtpd"}


def report(b: Bench, rows: dict, via, started: str, load: "tuple[str, str]") -> str:
    out = [BEGIN, "## Throughput: vacation(1), `deliver` as a pipe, `serve` over LMTP", "",
           f"- date: {started} (UTC); command: `python bench/throughput.py "
           f"--messages {b.n}`; checkout: "
           f"{P.shell(['git', '-C', str(ROOT), 'rev-parse', '--short', 'HEAD'])}",
           f"- machine: `{P.shell(['uname', '-srvm'])}`; nproc {os.cpu_count()}; load before: "
           f"`{load[0]}`; after: `{load[1]}`",
           f"- each contender on all cores: pipes as 2 parallel streams of one process per "
           f"message ({b.n} messages), `serve --workers 2` fed by `smtp-source -L -d -s 8 -m "
           f"{b.n}`; serve's latency from a second pass of {max(1, b.args.probe // 8) * 8} "
           f"messages over 8 LMTP sessions (end of DATA to the answer); a pipe's latency is "
           f"its process's wall time",
           "", "| case | vacation(1) msg/s | p50 ms | p99 ms | deliver pipe msg/s | p50 ms | "
           "p99 ms | serve msg/s | p50 ms | p99 ms |", "| --- |" + " ---: |" * 9]
    for case in CASES:
        vac, pip, (srv, probe) = rows[case]
        vcells = vac.cells() if vac else "- | - | -"
        out.append(f"| {NAMES[case]} | {vcells} | {pip.cells()} | {srv.rate:,.0f} | "
                   f"{pct(probe.lat, .5) * 1000:.1f} | {pct(probe.lat, .99) * 1000:.1f} |")
    out.append("")
    out.append("vacation(1) cannot reply without a local sendmail, so its reply columns are "
               "empty; its dedup is a sender entered with `vacation -x`.")
    out += ["", "### Goals (ratios from this run)", ""]

    def goal(name, value, target, op=">="):
        ok = value >= target if op == ">=" else value <= target
        out.append(f"- {'MET' if ok else 'MISSED'} {name}: {value:.2f}× ({op} {target}×)")

    skip_srv = rows["skip"][2][0].rate
    if rows["skip"][0]:
        goal("serve skip vs vacation(1) skip", skip_srv / rows["skip"][0].rate, 1.5)
    goal("serve skip vs deliver pipe skip", skip_srv / rows["skip"][1].rate, 10)
    for case in ("reply-file", "reply-smtp"):
        goal(f"serve {NAMES[case]} vs deliver pipe", rows[case][2][0].rate / rows[case][1].rate,
             5)
    if via:
        v, bare = via
        goal(f"`deliver --via` wall vs bare interpreter (medians {statistics.median(v) * 1000:.1f}"
             f" / {statistics.median(bare) * 1000:.1f} ms)",
             statistics.median(v) / statistics.median(bare), 1.5, "<=")
    out += ["", "### Checks", ""]
    out.append("- " + ("; ".join(b.failures) if b.failures else
                       "every process exited 0, every LMTP answer was 250, every reply case "
                       "produced exactly one reply per message and every skip/dedup none"))
    out.append(END)
    return "\n".join(out) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000, help="messages per contender and case")
    p.add_argument("--probe", type=int, default=400, help="messages in serve's latency pass")
    p.add_argument("--via-runs", type=int, default=30, help="runs of deliver --via")
    p.add_argument("--venv", help="use (or create) this venv instead of a temporary one")
    p.add_argument("--reinstall", action="store_true")
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable)
    p.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"),
                   help="write the section here ('-': only print it)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    if not os.path.exists(SMTP_SOURCE):
        raise SystemExit("smtp-source not found: apt-get install postfix")
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load_before = P.shell(["uptime"])
    b = Bench(args)
    try:
        b.setup()
        rows = {}
        for case in CASES:
            P.say(f"case {case}")
            vac = b.vacation(case) if case in ("skip", "dedup") else None
            rows[case] = (vac, b.deliver_pipe(case), b.serve(case))
        P.say("deliver --via")
        via = b.via() if args.via_runs else None
        text = report(b, rows, via, started, (load_before, P.shell(["uptime"])))
    finally:
        if args.keep:
            P.say("work directory kept:", b.work)
        b.close()
    print(text, end="")
    if args.results != "-":
        write_section(Path(args.results), text)
        P.say("written to", args.results)
    return 1 if b.failures else 0


if __name__ == "__main__":
    sys.exit(main())
