"""What only the PostgreSQL store has to show: the schema's versions (delivery refuses a newer
one and writes nothing), credentials that never show up in output, TLS up to verify-full,
the README's least-privilege role, a lost connection in the middle of a delivery, and the
connection pool of `serve`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from autoresponder.store.base import Claimed, Limits, Pending, StoreBusy, StoreError
from autoresponder.store.postgres import SCHEMA_VERSION, PostgresStore, migrations
from tests.conftest import ROOT, personal
from tests.pg.conftest import ANA, Host, enable

T0 = 1_800_000_000.0
LIMITS = Limits(window=86400, lease=300, per_account=50, global_=1000, period=3600)
PASSWORD = "Tr0ub4dor-and-3-horses"


def dbname_of(url: str) -> str:
    return url.split("?")[0].rsplit("/", 1)[1]


# --- the schema's versions -------------------------------------------------------------------

def test_the_known_version_is_the_newest_file_and_files_only_add():
    found = migrations()
    numbers = [v for v, _, _ in found]  # each applies by its own number: branches merged
    assert numbers == sorted(set(numbers)) and numbers[0] == 1  # out of order leave gaps
    assert found[-1][0] == SCHEMA_VERSION
    for _, _, path in found:
        statements = [s.strip() for s in re.sub(r"--[^\n]*", "", Path(path).read_text())
                      .upper().split(";")]
        for s in statements:
            assert not re.match(r"(DROP|TRUNCATE|DELETE|ALTER TABLE \w+ DROP|BEGIN|COMMIT)\b",
                                s), (path, s)


def test_db_status_and_upgrade(tmp_path, pg_url):
    h = Host(tmp_path, pg_url)
    r = h.run("db", "status", "--json")
    assert r.returncode == 65
    status = json.loads(r.stdout)
    assert status["version"] is None and status["state"] == "no schema"
    assert status["pending"] == [{"version": v, "description": d} for v, d, _ in migrations()]
    assert "initial" in h.admin("db", "upgrade").stdout.decode()
    assert "nothing to do" in h.admin("db", "upgrade").stdout.decode()
    status = json.loads(h.admin("db", "status", "--json").stdout)
    assert (status["version"], status["known"], status["state"]) == (
        SCHEMA_VERSION, SCHEMA_VERSION, "up to date")


def test_two_hosts_upgrading_at_once_apply_each_version_once(pg_url, pg_cluster):
    results = []

    def up():
        with PostgresStore(pg_url) as s:
            results.append(s.upgrade_schema())

    threads = [threading.Thread(target=up) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    every = [v for v, _, _ in migrations()]
    assert sorted(results) == [[], [], [], every]
    assert pg_cluster.sql("SELECT version FROM schema_version ORDER BY version",
                          dbname_of(pg_url)) == [(v,) for v in every]


def test_delivery_refuses_a_newer_schema_and_writes_nothing(tmp_path, pg_url, pg_cluster):
    h = Host(tmp_path, pg_url)
    enable(pg_url)
    pg_cluster.sql("INSERT INTO schema_version (version, description) VALUES (99, 'future')",
                   dbname_of(pg_url))
    r = h.deliver("bob@example.org", ANA, personal())
    assert r.returncode == 75
    line = h.log_lines()[-1]
    assert "rule=tempfail" in line and "schema is version 99, newer than this" in line
    assert "upgrade autoresponder" in line
    assert pg_cluster.sql("SELECT count(*) FROM ledger", dbname_of(pg_url)) == [(0,)]
    assert h.replies() == []
    # Postfix's pipe: still 75, never a bounce
    assert h.deliver("bob@example.org", ANA, personal(),
                     env={"MAIL_CONFIG": "/etc/postfix"}).returncode == 75
    r = h.run("db", "upgrade")
    assert r.returncode != 0 and b"newer than this autoresponder knows" in r.stderr


def test_delivery_on_an_empty_or_older_database_asks_for_db_upgrade(tmp_path, pg_url,
                                                                     pg_cluster):
    h = Host(tmp_path, pg_url)
    assert h.deliver("bob@example.org", ANA, personal()).returncode == 75
    assert "no autoresponder schema" in h.log_lines()[-1]
    assert "db upgrade" in h.log_lines()[-1]
    assert pg_cluster.sql("SELECT to_regclass('ledger')", dbname_of(pg_url)) == [(None,)]
    enable(pg_url)
    pg_cluster.sql("DELETE FROM schema_version", dbname_of(pg_url))  # as if from version 0
    assert h.deliver("bob@example.org", ANA, personal()).returncode == 75
    assert "older than this autoresponder needs" in h.log_lines()[-1]


# --- a lost connection, retried records, the pool ----------------------------------------------

def test_a_lost_connection_in_mark_sent_is_busy_and_the_retry_records_once(pg_url,
                                                                           pg_cluster):
    store = PostgresStore(pg_url, create=True)
    h = store.enable(ANA, {}, None, T0).handle
    token = store.claim(ANA, "bob@example.org", h, T0, LIMITS).token
    pid = store._thread_conn().info.backend_pid
    pg_cluster.sql("SELECT pg_terminate_backend(%s)", params=(pid,))
    time.sleep(0.2)
    with pytest.raises(StoreBusy):
        store.mark_sent(ANA, "bob@example.org", h, T0 + 1, 86400, "<r@x>", token=token)
    store.mark_sent(ANA, "bob@example.org", h, T0 + 2, 86400, "<r@x>", token=token)
    store.mark_sent(ANA, "bob@example.org", h, T0 + 3, 86400, "<r@x>", token=token)
    assert len(store.history(ANA)) == 1
    store.close()


def test_an_unreachable_server_is_a_store_error_naming_it(pg_cluster):
    url = f"postgresql:///nowhere?host={pg_cluster.socket_dir}&port=1&user=postgres"
    with PostgresStore(url, busy_timeout=2) as s:
        with pytest.raises(StoreError) as e:
            s.find_account(ANA)
    assert "host=" + pg_cluster.socket_dir in str(e.value)
    assert not isinstance(e.value, StoreBusy)


def test_the_pool_serves_many_threads_and_survives_dropped_connections(pg_url, pg_cluster):
    store = PostgresStore(pg_url, create=True)
    h = store.enable(ANA, {}, None, T0).handle
    store.use_pool(max_size=4)
    answers = []
    barrier = threading.Barrier(12)

    def claim():
        barrier.wait()
        answers.append(store.claim(ANA, "bob@example.org", h, T0, LIMITS))

    threads = [threading.Thread(target=claim) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(isinstance(a, Claimed) for a in answers) == 1
    assert all(isinstance(a, (Claimed, Pending)) for a in answers)
    pg_cluster.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = 'autoresponder' AND datname = %s",
                   params=(dbname_of(pg_url),))
    time.sleep(0.2)
    found = None
    for _ in range(6):  # a dead connection fails once, and the pool replaces it
        try:
            found = store.find_account(ANA)
            break
        except StoreError:
            continue
    assert found is not None and found.handle == h
    store.close()


# --- credentials and TLS --------------------------------------------------------------------

@pytest.fixture
def mailer(pg_cluster, pg_url, tmp_path):
    """A password-authenticated role over loopback TCP, and its password file."""
    name = f"mailer_{dbname_of(pg_url)}"
    pg_cluster.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
    pg_cluster.sql(f"GRANT ALL ON DATABASE {dbname_of(pg_url)} TO {name}")
    pg_cluster.sql(f"GRANT ALL ON SCHEMA public TO {name}", dbname_of(pg_url))
    secret = tmp_path / "db-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    yield name, secret
    pg_cluster.sql(f"DROP OWNED BY {name}", dbname_of(pg_url))
    pg_cluster.sql(f"DROP ROLE {name}")


def test_a_password_file_logs_in_and_no_output_ever_shows_the_password(tmp_path, pg_url,
                                                                       pg_cluster, mailer):
    name, secret = mailer
    url = f"{pg_cluster.tcp_url(dbname_of(pg_url), name)}?password_file={secret}"
    h = Host(tmp_path / "h", url)
    h.admin("db", "upgrade")
    h.admin("vacation", "enable", ANA)
    assert h.deliver("bob@example.org", ANA, personal()).returncode == 0
    assert len(h.replies()) == 1
    outputs = [h.admin("db", "status").stdout, h.admin("vacation", "show", ANA).stdout]
    ex = h.run("explain", "--json", "--sender", "carl@example.org", "--recipient", ANA,
               input=personal(sender="carl@example.org"))
    outputs += [ex.stdout, ex.stderr]
    # a wrong password: deferred, and neither password appears anywhere
    wrong = "Wr0ng-" + PASSWORD
    secret.write_text(wrong + "\n")
    r = h.deliver("carl@example.org", ANA, personal(sender="carl@example.org"))
    assert r.returncode == 75
    line = h.log_lines()[-1]
    assert "rule=tempfail" in line and "password authentication failed" in line
    r2 = h.run("db", "status")
    assert r2.returncode != 0 and b"password authentication failed" in r2.stderr
    outputs += [r.stdout, r.stderr, r2.stdout, r2.stderr,
                h.logfile.read_bytes(), *(p.read_bytes() for p in h.replies())]
    cache = b"".join(p.read_bytes() for p in (tmp_path / "h" / "cache").rglob("*")
                     if p.is_file())
    for blob in [*outputs, cache]:
        assert PASSWORD.encode() not in blob and wrong.encode() not in blob


def test_a_libpq_passfile_works_too(tmp_path, pg_url, pg_cluster, mailer):
    name, _ = mailer
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_cluster.port}:*:{name}:{PASSWORD}\n")
    passfile.chmod(0o600)
    url = f"{pg_cluster.tcp_url(dbname_of(pg_url), name)}?passfile={passfile}"
    with PostgresStore(url, create=True) as s:
        assert s.list_accounts() == []


def test_a_missing_password_file_is_named_and_deferred(tmp_path, pg_url, pg_cluster, mailer):
    name, _ = mailer
    url = f"{pg_cluster.tcp_url(dbname_of(pg_url), name)}?password_file={tmp_path}/none"
    with PostgresStore(url) as s, pytest.raises(StoreError, match="cannot read password_file"):
        s.find_account(ANA)


@pytest.fixture
def tls(pg_cluster, tmp_path):
    """The cluster with TLS on (a throwaway CA and a certificate for localhost/127.0.0.1),
    and the CA's file; plus another CA that did not sign it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl(1) to make test certificates")
    d = tmp_path / "tls"
    d.mkdir()

    def run(*args):
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        run("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
            "-subj", f"/CN={ca}")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    for name in ("server.crt", "server.key"):
        target = pg_cluster.dir / name
        shutil.copy(d / name, target)
        if pg_cluster.run_as is not None:
            import os

            os.chown(target, pg_cluster.run_as.pw_uid, pg_cluster.run_as.pw_gid)
        target.chmod(0o600)
    pg_cluster.sql(f"ALTER SYSTEM SET ssl_cert_file = '{pg_cluster.dir}/server.crt'")
    pg_cluster.sql(f"ALTER SYSTEM SET ssl_key_file = '{pg_cluster.dir}/server.key'")
    pg_cluster.sql("ALTER SYSTEM SET ssl = on")
    pg_cluster.sql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    yield d / "ca.crt", d / "other-ca.crt"
    pg_cluster.sql("ALTER SYSTEM RESET ssl")
    pg_cluster.sql("SELECT pg_reload_conf()")


def test_sslmode_verify_full_checks_the_server(pg_url, pg_cluster, mailer, tls):
    name, secret = mailer
    ca, other = tls
    base = (f"postgresql://{name}@localhost:{pg_cluster.port}/{dbname_of(pg_url)}"
            f"?hostaddr=127.0.0.1&password_file={secret}&sslmode=verify-full")
    with PostgresStore(f"{base}&sslrootcert={ca}", create=True) as s:
        assert s.list_accounts() == []
        conn = s._thread_conn()
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                            ).fetchone() == (True,)
    with PostgresStore(f"{base}&sslrootcert={other}") as s:
        with pytest.raises(StoreError, match="certificate verify failed"):
            s.find_account(ANA)


# --- the README's least-privilege role ------------------------------------------------------

def readme_grants() -> "list[str]":
    """The GRANT/REVOKE statements of the README's SQL snippet."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sql\n(.*?)```", text, re.S).group(1)
    return [s.strip() for s in block.split(";")
            if s.strip().split("\n")[-1].startswith(("GRANT", "REVOKE"))]


def test_the_readme_role_delivers_and_can_do_nothing_else(tmp_path, pg_url, pg_cluster):
    db = dbname_of(pg_url)
    agent, admin = f"ar_{db}", f"ar_admin_{db}"
    pg_cluster.sql(f"CREATE ROLE {admin} LOGIN; CREATE ROLE {agent} LOGIN")
    pg_cluster.sql(f"ALTER DATABASE {db} OWNER TO {admin}")
    owner = Host(tmp_path / "admin", f"postgresql:///{db}?host={pg_cluster.socket_dir}"
                 f"&port={pg_cluster.port}&user={admin}")
    owner.admin("db", "upgrade")
    owner.admin("vacation", "enable", ANA)
    grants = readme_grants()
    assert len(grants) == 5
    with psycopg.connect(owner.db.replace(f"user={admin}", f"user={admin}"),
                         autocommit=True) as conn:
        for g in grants:
            conn.execute(g.replace("autoresponder_admin", admin)
                         .replace("DATABASE autoresponder", f"DATABASE {db}")
                         .replace("TO autoresponder", f"TO {agent}"))
    host = Host(tmp_path / "agent", f"postgresql:///{db}?host={pg_cluster.socket_dir}"
                f"&port={pg_cluster.port}&user={agent}")
    assert host.deliver("bob@example.org", ANA, personal()).returncode == 0
    assert len(host.replies()) == 1
    assert host.deliver("bob@example.org", ANA, personal()).returncode == 0
    assert "rule=already-replied" in host.log_lines()[-1]
    assert host.admin("history", ANA).returncode == 0
    r = host.run("vacation", "enable", "eve@example.com")
    assert r.returncode != 0 and b"permission denied" in r.stderr
    r = host.run("purge")
    assert r.returncode != 0 and b"permission denied" in r.stderr
    pg_cluster.sql(f"DROP OWNED BY {agent}", db)
    pg_cluster.sql(f"DROP ROLE {agent}")


def test_serve_threads_share_one_bounded_pool(pg_url, pg_cluster):
    """After share_pools(), every store open_store makes in the process borrows from one
    pool of pool_size connections, however many threads (serve's workers) open stores."""
    from autoresponder.config import parse_toml_text
    from autoresponder.config import Section
    from autoresponder.store import open_store, postgres

    with PostgresStore(pg_url, create=True) as s:
        h = s.enable(ANA, {}, None, T0).handle
    config = Section(parse_toml_text(f'database = "{pg_url}&pool_size=3"', "test.toml"))
    postgres.share_pools()
    answers = []
    try:
        barrier = threading.Barrier(10)

        def worker(i):
            store = open_store(config)
            barrier.wait()
            answers.append(store.claim(ANA, f"s{i % 5}@example.org", h, T0, LIMITS))
            store.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(postgres._shared) == 1
        pool = next(iter(postgres._shared.values()))
        assert pool.max_size == 3 and pool.get_stats()["pool_size"] <= 3
    finally:
        postgres.share_pools(False)
        postgres.close_shared_pools()
    assert sum(isinstance(a, Claimed) for a in answers) == 5
    assert sum(isinstance(a, Pending) for a in answers) == 5


def test_a_header_skip_on_a_postgresql_config_never_imports_psycopg(tmp_path, pg_url):
    """psycopg costs 140-190 ms to import: a list mail skipped by the headers must not pay it
    (nor a connection); a personal message does."""
    import subprocess
    import sys

    h = Host(tmp_path, pg_url)
    enable(pg_url)
    probe = ("import sys\nfrom autoresponder.cli import main\nrc = main(sys.argv[1:])\n"
             "print(rc, 'psycopg' in sys.modules)\n")
    bulk = personal(extra="Precedence: bulk\nList-Id: <news.example.org>\n")
    for message, imported in ((bulk, "False"), (personal(), "True"), (bulk, "False")):
        r = subprocess.run([sys.executable, "-c", probe, "--config", str(h.config), "deliver",
                            "--sender", "bob@example.org", "--recipient", ANA],
                           input=message, capture_output=True, env=h.env, cwd=str(ROOT))
        assert r.stdout.decode().split() == ["0", imported], r.stderr


def test_db_copy_merges_by_the_newer_settings_and_the_later_window(pg_url):
    """What import_rows keeps when the shared database already knows an account, an alias
    or a sender (a second host moving in, or a re-run)."""
    from autoresponder.store.base import AlreadySent, HistoryEntry

    with PostgresStore(pg_url, create=True) as s:
        shared = s.enable(ANA, {"subject": "Shared"}, ["ana.s@example.com"], T0)
        h = shared.handle
        s.mark_sent(ANA, "bob@example.org", h, T0, 86400, "<b@x>")

        def account(subject, updated):
            row = [getattr(shared, c) for c in shared.COLUMNS]
            row[shared.COLUMNS.index("subject")] = subject
            row[shared.COLUMNS.index("updated_at")] = updated
            row[1] = 1  # SQLite's enabled
            return tuple(row)

        older = {"accounts": [account("Old", "2020-01-01T00:00:00Z")],
                 "aliases": [("ana.s@example.com", ANA), ("bea@example.com", ANA)],
                 "ledger": [(ANA, "bob@example.org", h, "sent", T0 - 50, T0 - 50, T0 - 50,
                             T0 - 50 + 86400),
                            (ANA, "carl@example.org", h, "sent", T0 - 10, T0 - 10, T0 - 10,
                             T0 - 10 + 86400)],
                 "replies": [(ANA, "carl@example.org", h, T0 - 10, "<c@x>", "sent", None)]}
        s.enable("bea@example.com", {}, None, T0)
        counts = s.import_rows(older)
        assert counts == {"accounts": {"new": 0, "updated": 0, "kept": 1},
                          "aliases": {"new": 0, "present": 1, "conflicts": 1},
                          "ledger": {"new": 1, "updated": 0, "kept": 1},
                          "history": {"new": 1, "present": 0},
                          "schedule": {"new": 0, "present": 0}}
        assert s.find_account(ANA).subject == "Shared"
        assert s.claim(ANA, "bob@example.org", h, T0 + 1, LIMITS) == \
            AlreadySent(T0, T0 + 86400)  # the later window stayed
        newer = {"accounts": [account("New", "2099-01-01T00:00:00Z")],
                 "ledger": [(ANA, "bob@example.org", h, "sent", T0 + 5, T0 + 5, T0 + 5,
                             T0 + 5 + 86400)]}
        assert s.import_rows(newer)["accounts"] == {"new": 0, "updated": 1, "kept": 0}
        assert s.find_account(ANA).subject == "New"
        assert s.claim(ANA, "bob@example.org", h, T0 + 6, LIMITS) == \
            AlreadySent(T0 + 5, T0 + 5 + 86400)
        assert s.import_rows(older)["history"] == {"new": 0, "present": 1}
        assert HistoryEntry("carl@example.org", T0 - 10, "sent", "<c@x>", None) in \
            s.history(ANA)
