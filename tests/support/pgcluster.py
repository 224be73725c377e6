"""A private PostgreSQL cluster for the tests: the installed server's own initdb and pg_ctl,
run as an unprivileged user (initdb refuses root), in a temporary directory that user owns,
listening on a unix socket in that directory and on a random loopback port; removed
afterwards.

Local (unix socket) connections are trusted; TCP on 127.0.0.1 asks for a password
(scram-sha-256), so the credential tests exercise a real password exchange.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
SUPERPASS = "cluster-superuser-secret-4f7a"


def find_bindir() -> "str | None":
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    env = os.environ.get("AUTORESPONDER_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit()
                         else 0, reverse=True)
    for d in candidates:
        if d and os.path.exists(os.path.join(d, "initdb")) and \
                os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir: str):
        self.bindir = bindir
        self.run_as = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.run_as = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.run_as is None:
                raise RuntimeError("running as root and neither user postgres nor nobody "
                                   "exists to run the cluster as")
        self.dir = Path(tempfile.mkdtemp(prefix="autoresponder-pg-"))
        os.chmod(self.dir, 0o755)  # the socket must be reachable by the tests' users
        if self.run_as is not None:
            os.chown(self.dir, self.run_as.pw_uid, self.run_as.pw_gid)
        self.data = self.dir / "data"
        self.socket_dir = str(self.dir)
        self.port = _free_port()
        self.logfile = self.dir / "server.log"
        self._names = itertools.count(1)

    # --- running the server's tools as its user ---------------------------------------

    def _cmd(self, *argv: str) -> list[str]:
        argv = [os.path.join(self.bindir, argv[0]), *argv[1:]]
        if self.run_as is None:
            return argv
        return ["runuser", "-u", self.run_as.pw_name, "--", *argv]

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        r = subprocess.run(self._cmd(*argv), capture_output=True, text=True, timeout=timeout,
                           cwd=str(self.dir))
        if r.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({r.returncode}): "
                               f"{r.stdout}{r.stderr}{log[-2000:]}")
        return r

    def init(self) -> "Cluster":
        pwfile = self.dir / "pwfile"
        pwfile.write_text(SUPERPASS + "\n")
        if self.run_as is not None:
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        os.chmod(pwfile, 0o600)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        pwfile.unlink()
        conf = (f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 300\nshared_buffers = 16MB\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "log_min_messages = warning\nlog_statement = 'none'\n")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(conf)
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        r = subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "status"),
                           capture_output=True, cwd=str(self.dir))
        return r.returncode == 0

    def remove(self) -> None:
        try:
            if self.data.exists() and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- databases and roles ----------------------------------------------------------

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """A unix-socket URL (trusted: no password)."""
        return f"postgresql:///{dbname}?host={self.socket_dir}&port={self.port}&user={user}"

    def tcp_url(self, dbname: str, user: str) -> str:
        """A loopback TCP URL (asks for a password)."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres", params=None):
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def new_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return name

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sql("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def start_cluster(need_driver: bool = True) -> Cluster:
    """A running private cluster; FileNotFoundError when the server or the driver is not
    installed, RuntimeError when it cannot start. `need_driver`: the tests talk to it with
    psycopg (``sql``, ``new_database``); bench/pipe.py only needs it running."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin "
                                "with initdb and pg_ctl): apt-get install postgresql")
    if need_driver:
        try:
            import psycopg  # noqa: F401
        except ImportError as e:
            raise FileNotFoundError(f"psycopg is not installed ({e}): "
                                    "pip install '.[test]'") from None
    if shutil.which("runuser") is None and os.geteuid() == 0:
        raise RuntimeError("running as root without runuser(1) to drop privileges")
    cluster = Cluster(bindir)
    try:
        cluster.init().start()
    except BaseException:
        cluster.remove()
        raise
    return cluster
