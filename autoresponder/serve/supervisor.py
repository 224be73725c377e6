"""The `serve` supervisor: opens the listeners, forks the workers, relays signals.

Prefork, one worker per core by default, all accepting on the same inherited sockets (the
kernel spreads connections); the ledger's claim is an SQLite transaction, atomic across
processes exactly as it is across the pipe's one-process-per-message. The supervisor itself
stays single-threaded and does no mail: it waits for signals (`sigtimedwait`), restarts a
worker that died (with a pause when they die in a loop), checks a new config on SIGHUP
before passing the signal on (a broken one is refused here, logged once, and no worker sees
it), and on SIGTERM passes it on, waits for the workers to drain, and exits 0.
"""

from __future__ import annotations

import os
import signal
import time

from autoresponder.outcomes import Exit
from autoresponder.serve import listen
from autoresponder.serve.worker import check_config

SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
EXTRA_GRACE = 5.0


class Supervisor:
    def __init__(self, config_path, config, socks, workers: int, metrics_sock=None,
                 http_socks=()):
        from autoresponder.logs import Log

        self.config_path = config_path
        self.config = config
        self.log = Log(config)
        self.socks = socks
        self.count = workers
        self.metrics_sock = metrics_sock
        self.http_socks = list(http_socks)  # the JMAP API's listeners: one "http" child
        self.metrics_dir = None
        self.workers: "dict[int, str]" = {}   # pid -> role ("lmtp" or "metrics")
        self.deaths: "list[float]" = []
        self.stopping = False

    def event(self, name: str, level: str = "info", **fields) -> None:
        self.log.write({"service": "serve", "event": name, "pid": os.getpid(), **fields}, level)

    # --- children -----------------------------------------------------------------------------
    def _fork(self, role: str) -> None:
        pid = os.fork()
        if pid:
            self.workers[pid] = role
            return
        clean = False
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            if role == "metrics":
                for s in self.socks + self.http_socks:
                    s.close()
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                from autoresponder.serve.metrics import serve_http

                serve_http(self.metrics_sock)
            elif role == "http":
                for s in self.socks + ([self.metrics_sock] if self.metrics_sock else []):
                    s.close()
                from autoresponder.http.server import run as run_http

                clean = run_http(self.config_path, self.config, self.http_socks)
            else:
                for s in self.http_socks:
                    s.close()
                if self.metrics_sock is not None:
                    self.metrics_sock.close()
                from autoresponder.serve import worker

                clean = worker.run(self.config_path, self.config, self.socks,
                                   self.metrics_sock is not None)
        except BaseException as e:  # noqa: BLE001 - a child never returns into our caller
            try:
                self.event("worker-crash", level="error", reason=f"{type(e).__name__}: {e}")
            except BaseException:
                pass
        finally:
            os._exit(Exit.OK if clean else Exit.SOFTWARE)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            role = self.workers.pop(pid, None)
            if role is None:
                continue
            if self.metrics_sock is not None:
                from autoresponder.serve.metrics import worker_gone

                worker_gone(pid)
            if self.stopping:
                continue
            self.event("worker-exit", level="warning", worker=pid, role=role,
                       status=_describe(status))
            now = time.monotonic()
            self.deaths = [t for t in self.deaths if now - t < 10] + [now]
            if len(self.deaths) > 5:
                time.sleep(1.0)  # dying in a loop: do not spin
            self._fork(role)

    # --- signals ------------------------------------------------------------------------------
    def _reload(self) -> None:
        from autoresponder import config as config_mod

        try:
            new = config_mod.load(self.config_path)
            problems = check_config(new)
        except config_mod.ConfigError as e:
            problems = [str(e)]
        if problems:
            self.event("reload", level="error", result="refused",
                       reason="; ".join(problems)[:1000])
            return
        if list(new.serve.lmtp) != list(self.config.serve.lmtp) or \
                new.serve.workers != self.config.serve.workers:
            self.event("reload", level="warning", result="partial",
                       reason="serve.lmtp and serve.workers take effect at the next start")
        self.config = new
        self.log = self._new_log(new)
        for pid, role in self.workers.items():
            if role in ("lmtp", "http"):
                _kill(pid, signal.SIGHUP)
        self.event("reload", result="ok", config=new.source)

    @staticmethod
    def _new_log(config):
        from autoresponder.logs import Log

        return Log(config)

    def _stop(self) -> None:
        self.stopping = True
        for pid in list(self.workers):
            _kill(pid, signal.SIGTERM)
        drain = float(self.config.serve.drain_timeout or 30)
        deadline = time.monotonic() + drain + EXTRA_GRACE
        while self.workers and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for pid in list(self.workers):
            self.event("worker-killed", level="warning", worker=pid)
            _kill(pid, signal.SIGKILL)
        while self.workers:
            self._reap()
            time.sleep(0.02)

    # --- main loop ----------------------------------------------------------------------------
    def run(self) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        if self.metrics_sock is not None:
            from autoresponder.serve.metrics import prepare_dir

            self.metrics_dir = prepare_dir()
            self._fork("metrics")
        for _ in range(self.count):
            self._fork("lmtp")
        if self.http_socks:
            self._fork("http")
        self.event("start", workers=self.count,
                   lmtp=",".join(_name(s) for s in self.socks),
                   metrics=_name(self.metrics_sock) if self.metrics_sock else "-")
        try:
            while True:
                info = signal.sigtimedwait(SIGNALS, 1.0)
                if info is None or info.si_signo == signal.SIGCHLD:
                    self._reap()
                elif info.si_signo == signal.SIGHUP:
                    self._reload()
                else:
                    self.event("stop", signal=signal.Signals(info.si_signo).name)
                    self._stop()
                    break
        finally:
            for s in self.socks + self.http_socks:
                listen.close_listener(s)
            if self.metrics_sock is not None:
                self.metrics_sock.close()
            if self.metrics_dir:
                import shutil

                shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.event("stopped")
        return Exit.OK


def _kill(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.waitstatus_to_exitcode(status)}"


def _name(sock) -> str:
    name = sock.getsockname()
    if isinstance(name, str):
        return f"unix:{name}"
    return f"inet:{name[0]}:{name[1]}"
