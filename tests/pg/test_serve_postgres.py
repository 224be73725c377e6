"""`serve` on the shared PostgreSQL store: its worker threads borrow connections from one
psycopg_pool pool per process (`pool_size`), a stopped server gives `451` (never a 5xx, nothing
recorded), and after the restart the retried copies get exactly one reply each."""

from __future__ import annotations

import threading
import time

from tests.conftest import Agent, personal
from tests.pg.conftest import enable
from tests.serve.conftest import Serve, smtp_transport

POOL = 2


def dbname(url: str) -> str:
    return url.split("?")[0].rsplit("/", 1)[1]


def backends(cluster, url: str) -> int:
    """Client connections to this test's database other than our own query's."""
    rows = cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                       "AND pid <> pg_backend_pid()", params=(dbname(url),))
    return rows[0][0]


def start(tmp_path, url: str, sink, workers: int = 1) -> Serve:
    s = Serve(Agent(tmp_path), workers=workers, serve_extra="threads = 8")
    s.agent.db = f"{url}&pool_size={POOL}"
    s.configure(smtp_transport(sink.port))
    enable(url, message="Back on Monday.")
    return s.start()


def test_serve_threads_share_a_pool_of_pool_size_connections(tmp_path, pg_cluster, sink):
    url = pg_cluster.url(pg_cluster.new_database())
    s = start(tmp_path, url, sink)
    try:
        senders = [f"p{i}@example.org" for i in range(24)]
        answers: dict = {}
        peak = [0]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], backends(pg_cluster, url))
                time.sleep(0.01)

        def one(sender: str) -> None:
            msg = personal(sender=sender, message_id=f"<m.{sender}>")
            answers[sender] = [r.code for r in s.deliver(sender, "ana@example.com", msg)]

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=one, args=(x,)) for x in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        watcher.join()
        assert answers == {x: [250] for x in senders}
        assert sorted(m.rcpt_tos[0] for m in sink.wait_for(len(senders))) == sorted(senders)
        # 8 threads deciding at once, yet never more than the pool's connections
        assert 1 <= peak[0] <= POOL, peak[0]
        rows = pg_cluster.sql("SELECT count(*) FROM replies", dbname(url))
        assert rows[0][0] == len(senders)
    finally:
        assert s.stop() == 0
    assert backends(pg_cluster, url) == 0  # the pool closed with the worker


def test_serve_answers_451_while_postgresql_is_down_then_one_reply_each(tmp_path, pg_cluster,
                                                                        sink):
    url = pg_cluster.url(pg_cluster.new_database())
    s = start(tmp_path, url, sink)
    senders = [f"d{i}@example.org" for i in range(4)]
    msgs = {x: personal(sender=x, message_id=f"<m.{x}>") for x in senders}
    try:
        assert [r.code for r in s.deliver(senders[0], "ana@example.com", msgs[senders[0]])] \
            == [250]
        assert len(sink.wait_for(1)) == 1
        pg_cluster.stop("fast")
        try:
            for x in senders:
                got = s.deliver(x, "ana@example.com", msgs[x])
                assert [r.code for r in got] in ([451], [250]), got  # never 5xx
                if x != senders[0]:
                    assert got[0].code == 451, got
        finally:
            pg_cluster.start()
        assert "rule=tempfail" in s.log() and "database" in s.log()
        # Postfix retries the deferred copies (and a copy it cannot tell was delivered)
        deadline = time.monotonic() + 60
        todo = list(senders)
        while todo and time.monotonic() < deadline:
            todo = [x for x in todo
                    if s.deliver(x, "ana@example.com", msgs[x])[0].code != 250]
            if todo:
                time.sleep(0.5)
        assert todo == []
        time.sleep(0.5)
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(senders)
    finally:
        if not pg_cluster.running():
            pg_cluster.start()
        s.stop()
