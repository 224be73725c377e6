"""One `serve` worker process: an asyncio loop serving LMTP on the inherited sockets.

Each copy is decided in a thread of a bounded pool (`serve.threads`): the delivery line is
synchronous (SQLite, the reply transport), and one thread per message in flight keeps a slow
reply server from stalling the other sessions. Signals: SIGHUP reloads (a config or template
that does not load is refused and the old state kept), SIGTERM drains: no new sessions, idle
ones get 421, messages being decided get up to `serve.drain_timeout` to finish.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from autoresponder import outcomes
from autoresponder.serve import pipeline
from autoresponder.serve.metrics import Metrics


class Limits:
    def __init__(self, sv):
        self.idle_timeout = float(sv.idle_timeout or 60)
        self.data_timeout = float(sv.data_timeout or 600)
        self.message_timeout = float(sv.message_timeout or 120)
        self.drain_timeout = float(sv.drain_timeout or 30)
        self.max_sessions = int(sv.max_sessions or 64)
        self.threads = int(sv.threads or 8)


def check_config(config) -> "list[str]":
    """Problems that make a config unusable by the service (templates that do not compile or
    render); empty when it is fine. The config itself was validated by config.load."""
    from autoresponder import templatecheck

    try:
        results = templatecheck.check(config)
    except Exception as e:  # a template directory that cannot be listed, ...
        return [f"templates: {type(e).__name__}: {e}"]
    return [f"template {label}: {err}" for label, err in results if err]


class Service:
    def __init__(self, config_path: "str | None", config, metrics_enabled: bool):
        self.config_path = config_path
        self.state = pipeline.State(config)
        self.limits = Limits(config.serve)
        self.hostname = socket.gethostname() or "localhost"
        self.metrics = Metrics(metrics_enabled)
        self.sessions: set = set()
        self.draining = False
        self.in_flight = 0
        self._count = threading.Lock()
        self.executor = ThreadPoolExecutor(self.limits.threads, thread_name_prefix="line")
        self.stopped: "asyncio.Event | None" = None
        self.parent = os.getppid()

    # --- sessions -----------------------------------------------------------------------------
    def admit(self, session) -> bool:
        if self.draining or len(self.sessions) >= self.limits.max_sessions:
            self.metrics.session_refused()
            return False
        self.sessions.add(session)
        self.metrics.session(1)
        return True

    def release(self, session) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.metrics.session(-1)

    # --- messages -----------------------------------------------------------------------------
    async def deliver(self, mail_from: str, rcpts: "list[str]", orcpts: "list[str]",
                      kept: bytes, size: int) -> "list[tuple[int, str]]":
        """One answer per recipient, in RCPT order."""
        from autoresponder.message import from_bytes

        message = from_bytes(kept)
        message.size = size
        state = self.state  # a reload during this message does not change its state
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        inline = [pipeline.try_inline(state, mail_from, rcpt, orcpt, message)
                  for rcpt, orcpt in zip(rcpts, orcpts)]
        tasks = [None if got is not None else
                 loop.run_in_executor(self.executor, self._one, state, mail_from, rcpt, orcpt,
                                      message)
                 for got, rcpt, orcpt in zip(inline, rcpts, orcpts)]
        waiting = [t for t in tasks if t is not None]
        done = set()
        if waiting:
            done, _ = await asyncio.wait(waiting, timeout=self.limits.message_timeout)
        answers = []
        for got, task in zip(inline, tasks):
            if got is not None:
                outcome, detail = got.outcome, got.detail
            elif task in done and task.exception() is None:
                result = task.result()
                outcome, detail = result.outcome, result.detail
            else:  # the copy is still being decided (its claim protects a retry) or broke
                outcome = outcomes.TEMPFAIL
                detail = ("deciding took longer than serve.message_timeout"
                          if task not in done else type(task.exception()).__name__)
            self.metrics.copy(outcome.name, outcome.kind, time.monotonic() - started)
            answers.append(outcomes.lmtp_reply(outcome, detail if outcome.kind != "reply"
                                               else ""))
        return answers

    def _one(self, state, mail_from, rcpt, orcpt, message):
        with self._count:
            self.in_flight += 1
        try:
            return pipeline.process(state, mail_from, rcpt, orcpt, message)
        finally:
            with self._count:
                self.in_flight -= 1

    # --- signals ------------------------------------------------------------------------------
    def reload(self) -> None:
        from autoresponder import config as config_mod

        try:
            config = config_mod.load(self.config_path)
            problems = check_config(config)
        except config_mod.ConfigError as e:
            problems = [str(e)]
        if problems:
            self.event("reload", result="refused", reason="; ".join(problems)[:1000],
                       level="error")
            self.metrics.reload("refused")
            return
        _share_pools(config)  # a reload may move to PostgreSQL
        self.state = pipeline.State(config)  # threads reopen their connections lazily
        self.limits = Limits(config.serve)
        self.event("reload", result="ok", config=config.source)
        self.metrics.reload("ok")

    def stop(self) -> None:
        if self.stopped is not None and not self.stopped.is_set():
            self.stopped.set()

    def event(self, name: str, level: str = "info", **fields) -> None:
        self.state.log.write({"service": "serve", "event": name, "pid": os.getpid(), **fields},
                             level)

    # --- the loop -----------------------------------------------------------------------------
    async def main(self, socks: list) -> None:
        from autoresponder.serve.lmtp import Session

        loop = asyncio.get_running_loop()
        self.stopped = asyncio.Event()
        servers = []
        for s in socks:
            factory = lambda: Session(self)  # noqa: E731
            if s.family == socket.AF_UNIX:
                servers.append(await loop.create_unix_server(factory, sock=s))
            else:
                servers.append(await loop.create_server(factory, sock=s))
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        loop.add_signal_handler(signal.SIGINT, self.stop)
        watcher = loop.create_task(self._watch_parent())
        await self.stopped.wait()
        watcher.cancel()
        await self.drain(servers)

    async def _watch_parent(self) -> None:
        """A worker whose supervisor died (SIGKILL) stops too: nobody would restart it."""
        while True:
            await asyncio.sleep(1.0)
            if os.getppid() != self.parent:
                self.event("orphaned", level="warning")
                self.stop()
                return

    async def drain(self, servers) -> None:
        self.draining = True
        for srv in servers:
            srv.close()
        deadline = time.monotonic() + self.limits.drain_timeout
        while True:
            for s in list(self.sessions):
                if not s.busy and not s.receiving:
                    await s.close_with_421()
            if not any(s.busy or s.receiving for s in self.sessions):
                break
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        for s in list(self.sessions):
            await s.close_with_421()
        # Threads still deciding finish their copy (claim, send, record) unless the deadline
        # passed: then the process exits and their claims expire after `lease`.
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.executor.shutdown(wait=False, cancel_futures=True)
        if not self.in_flight:
            self.state.close_transports()
        self.event("stopped", unfinished=self.in_flight)


def _share_pools(config) -> bool:
    """On PostgreSQL, the worker's threads borrow connections from one psycopg_pool pool per
    database (``pool_size``) instead of holding one connection each. Called in the worker,
    after the fork: a pool's connections and threads must not cross a fork."""
    from autoresponder.store import is_postgresql

    if not is_postgresql(config):
        return False
    try:
        from autoresponder.store import postgres
    except ImportError:  # no driver: open_store reports it per message (451), as deliver does
        return False
    postgres.share_pools()
    return True


def run(config_path: "str | None", config, socks: list, metrics_enabled: bool) -> bool:
    """The body of a forked worker; True when it stopped cleanly."""
    pooled = _share_pools(config)
    service = Service(config_path, config, metrics_enabled)
    service.event("worker-start", pooled=pooled)
    try:
        asyncio.run(service.main(socks))
    except Exception as e:
        service.event("worker-crash", level="error", reason=f"{type(e).__name__}: {e}")
        return False
    finally:
        if pooled:
            from autoresponder.store import postgres

            postgres.close_shared_pools()
    return True
