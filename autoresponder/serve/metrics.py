"""Counters an operator graphs, in Prometheus' text format (`prometheus_client`).

`serve` runs several processes, so the numbers are kept with prometheus_client's
multiprocess mode: every worker writes its values into files under a private directory
(``PROMETHEUS_MULTIPROC_DIR``, set by the supervisor before any worker imports the library),
and the process answering HTTP on ``--metrics`` adds them up. Without ``--metrics`` nothing
is imported and every call is a no-op.
"""

from __future__ import annotations

import os

ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The service's instruments; `enabled=False` gives the same methods doing nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and bool(os.environ.get(ENV))
        if not self.enabled:
            return
        from prometheus_client import Counter, Gauge, Histogram

        self.messages = Counter("autoresponder_messages", "copies received over LMTP "
                                "(one per recipient)")
        self.decisions = Counter("autoresponder_decisions", "copies by outcome and kind "
                                 "(the rule's name for a skip)", ["outcome", "kind"])
        self.replies = Counter("autoresponder_replies_sent", "automatic replies sent")
        self.tempfails = Counter("autoresponder_temporary_failures",
                                 "copies answered 4xx (retried by the MTA)")
        self.latency = Histogram("autoresponder_message_seconds",
                                 "time from the end of DATA to the answer, per copy",
                                 buckets=BUCKETS)
        self.sessions = Gauge("autoresponder_sessions_open", "LMTP sessions open",
                              multiprocess_mode="livesum")
        self.refused = Counter("autoresponder_sessions_refused",
                               "connections answered 421 (session cap or shutdown)")
        self.reloads = Counter("autoresponder_reloads", "SIGHUP reloads", ["result"])

    def copy(self, outcome: str, kind: str, seconds: float) -> None:
        if not self.enabled:
            return
        self.messages.inc()
        self.decisions.labels(outcome, kind).inc()
        if kind == "reply":
            self.replies.inc()
        elif kind in ("defer", "config"):
            self.tempfails.inc()
        self.latency.observe(seconds)

    def session(self, delta: int) -> None:
        if self.enabled:
            self.sessions.inc(delta)

    def session_refused(self) -> None:
        if self.enabled:
            self.refused.inc()

    def reload(self, result: str) -> None:
        if self.enabled:
            self.reloads.labels(result).inc()


def prepare_dir() -> str:
    """Create the private multiprocess directory and export it (supervisor, before forking)."""
    import tempfile

    d = tempfile.mkdtemp(prefix="autoresponder-metrics-")
    os.environ[ENV] = d
    return d


def worker_gone(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay summed)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def serve_http(sock) -> None:
    """Answer GET /metrics on the listening socket `sock` with the sum over all workers;
    runs until the process ends."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # one line per scrape is noise
            pass

    host, port = sock.getsockname()[:2]
    httpd = WSGIServer((host, port), Quiet, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = sock
    httpd.server_address = (host, port)
    httpd.server_name, httpd.server_port = str(host), port
    httpd.setup_environ()
    httpd.set_app(make_wsgi_app(registry))
    httpd.serve_forever()
