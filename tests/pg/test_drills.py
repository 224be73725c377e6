"""Drills with two mail hosts on one PostgreSQL database (issue 12): the once-per-window
claim and the caps hold across hosts; a database that stops, or a connection that drops
between the claim and the record, defers mail (75) and never yields a second reply.

Hosts are separate processes with separate configs, caches, logs and outboxes. The two
large drills run many deliveries per worker process, each in its own thread with its own
connection (what many `deliver` processes would do, without paying an interpreter start
per message on a shared CI machine); the others run the real `autoresponder deliver`
command, one process per message, as the MTA does.
"""

from __future__ import annotations

import email
import json
import threading
import time
from collections import Counter

from tests.conftest import personal
from tests.pg.conftest import ANA, Host, enable, run_hosts


def replies(*hosts: Host) -> list:
    return [email.message_from_bytes(p.read_bytes()) for h in hosts for p in h.replies()]


def recipients(*hosts: Host) -> Counter:
    return Counter(m["To"].split("<")[-1].rstrip(">").strip() for m in replies(*hosts))


def text(sender: str, n: int) -> str:
    return personal(sender=sender, message_id=f"<m{n}.{sender}>").decode()


def ledger(cluster, url: str, sql: str):
    dbname = url.split("?")[0].rsplit("/", 1)[1]
    return cluster.sql(sql, dbname)


def test_64_deliveries_of_one_sender_across_two_hosts_give_exactly_one_reply(hosts, pg_cluster):
    a, b = hosts
    bob = "bob@example.org"
    jobs = [[bob, ANA, text(bob, i)] for i in range(64)]
    results = run_hosts([(a, jobs[0:16]), (a, jobs[16:32]), (b, jobs[32:48]),
                         (b, jobs[48:64])])
    assert len(results) == 64
    assert Counter(name for _, name in results)["reply"] == 1, results
    # the others: another host's live claim (75: a retry will see the reply) or the window
    assert {name for _, name in results} <= {"reply", "tempfail", "already-replied"}, results
    assert all(code in (0, 75) for code, _ in results), results
    assert len(replies(a, b)) == 1
    assert ledger(pg_cluster, a.db, "SELECT count(*) FROM replies") == [(1,)]


def test_120_senders_across_two_hosts_stop_at_the_account_cap(tmp_path, pg_url, pg_cluster):
    cap = "[rate_limit]\nper_account = 20\n"
    a = Host(tmp_path / "host-a", pg_url, extra=cap)
    b = Host(tmp_path / "host-b", pg_url, extra=cap)
    enable(pg_url)
    jobs = [[f"s{i}@example.org", ANA, text(f"s{i}@example.org", i)] for i in range(120)]
    results = run_hosts([(a, jobs[0:30]), (a, jobs[30:60]), (b, jobs[60:90]),
                         (b, jobs[90:120])])
    names = Counter(name for _, name in results)
    assert names["reply"] == 20 and names["rate-limit"] == 100, names
    assert all(code == 0 for code, _ in results), results
    assert len(replies(a, b)) == 20
    assert ledger(pg_cluster, a.db, "SELECT count(*) FROM replies") == [(20,)]


def _finish(procs: list) -> list:
    return [(p.wait(timeout=150), p.stderr.read().decode()) for p in procs]


def test_postgresql_stopped_while_deliveries_run(hosts, pg_cluster):
    """Deliveries that cannot reach the database exit 75 and record nothing; those caught
    between claim and record wait for it; after the restart the MTA's retries give exactly
    one reply per sender."""
    a, b = hosts
    senders = [f"s{i}@example.org" for i in range(8)]
    message = {s: personal(sender=s, message_id=f"<m.{s}>") for s in senders}
    first = [(h.deliver_bg(s, message[s]), s) for h, s in zip([a, b] * 4, senders)]
    deadline = time.monotonic() + 20
    while len(replies(a, b)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pg_cluster.stop("fast")  # while the rest of the first wave runs
    try:
        # a second wave while the database is certainly down
        second = [(h.deliver_bg(s, message[s]), s) for h, s in zip([b, a] * 2, senders[::2])]
        down = _finish([p for p, _ in second])
        assert all(code == 75 for code, _ in down), down
    finally:
        pg_cluster.start()
    early = _finish([p for p, _ in first])
    assert all(code in (0, 75) for code, _ in early), early
    assert 0 in [c for c, _ in early], early  # some replied before the stop
    logs = [line for line in a.log_lines() + b.log_lines() if "rule=tempfail" in line]
    assert len(logs) >= 4 and all("database" in line for line in logs), logs
    # the MTA retries what it deferred, from either host, until nothing is deferred
    todo = sorted({s for (code, _), (_, s) in zip(early, first) if code == 75} |
                  set(senders[::2]))
    deadline = time.monotonic() + 60
    while todo and time.monotonic() < deadline:
        procs = [((a if i % 2 else b).deliver_bg(s, message[s]), s) for i, s in enumerate(todo)]
        todo = [s for (p, s) in procs if p.wait(timeout=60) == 75]
        if todo:
            time.sleep(1.0)  # a claim whose commit was lost with the server: its lease ends
    assert todo == []
    assert recipients(a, b) == Counter({s: 1 for s in senders})
    rows = ledger(pg_cluster, a.db, "SELECT sender, count(*) FROM replies GROUP BY sender")
    assert sorted(rows) == sorted((s, 1) for s in senders)


def test_a_connection_lost_between_claim_and_record_gives_no_second_reply(hosts, pg_cluster,
                                                                          sink):
    """The server drops the delivery's connection while the reply is being sent: the record
    is retried on a new connection, so after the lease no host replies again."""
    a, b = hosts
    smtp = {"kind": "smtp", "host": "127.0.0.1", "port": sink.port}
    a.write_config(transport=smtp, lease="2s")
    b.write_config(transport=smtp, lease="2s")
    handler = sink.controller.handler
    plain = handler.handle_DATA
    dbname = a.db.split("?")[0].rsplit("/", 1)[1]
    killed = []

    async def drop_connections_then_accept(server, session, envelope):
        killed.extend(pg_cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'autoresponder' AND datname = %s", dbname, (dbname,)))
        return await plain(server, session, envelope)

    handler.handle_DATA = drop_connections_then_accept
    p = a.deliver_bg("bob@example.org", personal(message_id="<first@example.org>"))
    assert p.wait(timeout=60) == 0, p.stderr.read()
    assert killed and all(ok for (ok,) in killed), killed
    assert len(sink.messages) == 1
    handler.handle_DATA = plain
    time.sleep(2.5)  # the lease is over: only the record can stop a second reply
    p = b.deliver_bg("bob@example.org", personal(message_id="<second@example.org>"))
    assert p.wait(timeout=60) == 0, p.stderr.read()
    assert len(sink.messages) == 1
    assert "rule=already-replied" in b.log_lines()[-1]
    assert ledger(pg_cluster, a.db, "SELECT count(*) FROM replies") == [(1,)]


def test_the_database_restarting_between_claim_and_record(hosts, pg_cluster, sink):
    """Harsher: the server is down while the reply leaves and comes back seconds later; the
    delivery keeps retrying the record (the reply has left) and exits 0 once it is in."""
    a, b = hosts
    smtp = {"kind": "smtp", "host": "127.0.0.1", "port": sink.port}
    a.write_config(transport=smtp, lease="2s")
    b.write_config(transport=smtp, lease="2s")
    handler = sink.controller.handler
    plain = handler.handle_DATA
    restarted = threading.Event()

    def restart_later():
        time.sleep(2.0)
        pg_cluster.start()
        restarted.set()

    async def stop_server_then_accept(server, session, envelope):
        pg_cluster.stop("fast")
        threading.Thread(target=restart_later, daemon=True).start()
        return await plain(server, session, envelope)

    handler.handle_DATA = stop_server_then_accept
    try:
        p = a.deliver_bg("bob@example.org", personal(message_id="<first@example.org>"))
        assert p.wait(timeout=90) == 0, p.stderr.read()
    finally:
        handler.handle_DATA = plain
        restarted.wait(30)
        if not pg_cluster.running():
            pg_cluster.start()
    assert len(sink.messages) == 1
    time.sleep(2.5)
    p = b.deliver_bg("bob@example.org", personal(message_id="<second@example.org>"))
    assert p.wait(timeout=60) == 0, p.stderr.read()
    assert len(sink.messages) == 1
    assert ledger(pg_cluster, a.db, "SELECT count(*) FROM replies") == [(1,)]


def test_db_copy_then_delivery_on_postgresql_skips_senders_already_answered(tmp_path, pg_url,
                                                                           pg_cluster):
    old = Host(tmp_path / "old", str(tmp_path / "old" / "state" / "autoresponder.sqlite3"))
    old.admin("vacation", "enable", ANA, "--alias", "ana.silva@example.com",
              "--message", "Back on Monday.")
    for s in ("s1@example.org", "s2@example.org", "s3@example.org"):
        assert old.deliver(s, ANA, personal(sender=s)).returncode == 0
    assert len(old.replies()) == 3
    new = Host(tmp_path / "new", pg_url)
    new.admin("db", "upgrade")
    first = new.admin("db", "copy", "--from", str(old.db), "--to", pg_url).stdout.decode()
    assert "accounts: 1 new" in first and "aliases: 1 new" in first, first
    assert "ledger: 3 new" in first and "history: 3 new" in first, first
    again = new.admin("db", "copy", "--from", str(old.db)).stdout.decode()
    assert "accounts: 0 new, 0 updated, 1 kept" in again, again
    assert "ledger: 0 new, 0 updated, 3 kept" in again and "history: 0 new, 3 present" in again
    counted = json.loads(new.admin("db", "copy", "--from", str(old.db), "--json").stdout)
    assert counted["counts"]["history"] == {"new": 0, "present": 3}
    assert "password" not in json.dumps(counted) and counted["to"].startswith("postgresql://")
    other = Host(tmp_path / "other", pg_url)
    for s in ("s1@example.org", "s2@example.org", "s3@example.org"):
        r = other.deliver(s, "ana.silva@example.com", personal(sender=s,
                                                               to="ana.silva@example.com"))
        assert r.returncode == 0
        assert "rule=already-replied" in other.log_lines()[-1]
    assert other.replies() == []
    assert other.deliver("s4@example.org", ANA, personal(sender="s4@example.org")).returncode == 0
    assert len(other.replies()) == 1
    hist = other.admin("history", ANA).stdout.decode()
    assert all(f"s{i}@example.org" in hist for i in range(1, 5)), hist
