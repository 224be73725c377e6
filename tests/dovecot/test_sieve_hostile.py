"""`sieve install` run as root in a home whose owner is hostile (security review, finding 1),
and how file-system failures are reported (finding 14).

Real files, real processes: the homes belong to `nobody`, the racing user is a separate
process running as `nobody`, the command line is the checkout's own, and the `sieve_before`
test uses the private Dovecot lab. Every loop is bounded in count and time.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autoresponder.sieve import script as S
from autoresponder.sieve.install import InstallError, install
from autoresponder.sieve.local import LocalStore
from tests.dovecot.conftest import AgentSetup
from tests.dovecot.lab import NOBODY

ADDR = "ana@example.com"
USER_TEXT = b"keep;\n# the user's own filter\n"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="acting as root on an unprivileged "
                               "user's home needs root (CI runs as root)")


def build(state: S.State, seconds_ok: bool):
    return S.execute_script(state), []


def build_big(state: S.State, seconds_ok: bool):
    """A script of 1 MiB: writing it takes long enough that a racer reliably finds the
    temporary file between its creation and what comes next."""
    return S.execute_script(state) + ("#" + "x" * 1023 + "\n") * 1024, []


@pytest.fixture
def base():
    """A directory `nobody` can traverse (pytest's tmp_path is root's 0700)."""
    d = Path(tempfile.mkdtemp(prefix="sieve-hostile-", dir="/var/tmp"))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def admin(base) -> AgentSetup:
    """The admin's command line and a config (no accounts: the execute flavour needs none)."""
    return AgentSetup(base, Path(sys.prefix), 1)


def give(*paths: Path) -> None:
    for p in paths:
        os.lchown(p, NOBODY, NOBODY)


def user_home(base: Path) -> Path:
    """ana's home, hers: (when root) owned by nobody, as Dovecot's mail user."""
    home = base / "home"
    home.mkdir(mode=0o700)
    if os.geteuid() == 0:
        give(home)
    return home


def snapshot(top: Path) -> dict:
    """Every path under top: its kind, owner, mode and link text or bytes."""
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for n in [""] + dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                what = ("file", Path(p).read_bytes())
            else:
                what = ("dir",)
            out[rel] = what + (st.st_uid, st.st_mode)
    return out


def sieve(admin: AgentSetup, command: str, home: Path, *extra: str):
    return admin.cli("sieve", command, ADDR, "--home", str(home), "--no-compile", *extra,
                     check=False)


@root_only
def test_sieve_dir_linked_to_a_root_directory_is_refused(base, admin):
    """Review 1(a): ~/sieve -> a root directory made root plant user-owned files there."""
    home = user_home(base)
    rootdir = base / "rootdir"
    rootdir.mkdir(mode=0o755)
    os.symlink(rootdir, home / "sieve")
    (home / ".dovecot.sieve").write_bytes(USER_TEXT)
    give(home / "sieve", home / ".dovecot.sieve")
    before, root_before = snapshot(home), snapshot(rootdir)
    for command in ("install", "status", "uninstall"):
        r = sieve(admin, command, home)
        assert r.returncode == 65, (command, r.stdout, r.stderr)
        assert f"resolves to {rootdir}, outside the home" in r.stderr, r.stderr
    assert snapshot(rootdir) == root_before
    assert snapshot(home) == before


@root_only
@pytest.mark.parametrize("what", ["sieve dir", "active link"])
def test_a_root_owned_sieve_dir_or_active_link_in_the_home_is_refused(base, admin, what):
    home = user_home(base)
    (home / "sieve").mkdir()
    (home / "sieve" / "mine.sieve").write_bytes(USER_TEXT)
    os.symlink("sieve/mine.sieve", home / ".dovecot.sieve")
    give(home / "sieve", home / "sieve" / "mine.sieve", home / ".dovecot.sieve")
    os.lchown(home / ("sieve" if what == "sieve dir" else ".dovecot.sieve"), 0, 0)
    before = snapshot(home)
    for command in ("install", "uninstall", "status"):
        r = sieve(admin, command, home)
        if command == "uninstall" and what == "active link":  # ours is not there: no work
            assert r.returncode == 0 and "not installed; nothing to do" in r.stdout
            continue
        assert r.returncode == 65, (command, r.stdout, r.stderr)
        assert "belongs to uid 0, not to uid 65534" in r.stderr, r.stderr
    assert snapshot(home) == before


@root_only
def test_files_are_written_as_the_homes_owner(base, admin):
    """The work runs as the owner: a sieve directory she made read-only stops root too, with
    the path and the errno (finding 14: not a "database" error, not 78)."""
    home = user_home(base)
    (home / "sieve").mkdir(mode=0o500)
    give(home / "sieve")
    r = sieve(admin, "install", home)
    assert r.returncode == 73, (r.stdout, r.stderr)
    assert f"sieve install: {home}/sieve/.autoresponder-" in r.stderr
    assert "Permission denied (EACCES)" in r.stderr and "database" not in r.stderr
    os.chmod(home / "sieve", 0o700)
    r = sieve(admin, "install", home)
    assert r.returncode == 0, r.stderr
    for p in (home / "sieve" / "autoresponder.sieve", home / ".dovecot.sieve"):
        assert os.lstat(p).st_uid == NOBODY and os.lstat(p).st_gid == NOBODY
    assert os.stat(home / "sieve" / "autoresponder.sieve").st_mode & 0o777 == 0o644


RACER = r"""
import os, sys, time
sieve, secret, stop, count = sys.argv[1:5]
deadline = time.monotonic() + float(sys.argv[5])
swaps = 0
while time.monotonic() < deadline and not os.path.exists(stop):
    try:
        names = os.listdir(sieve)
    except OSError:
        continue
    for n in names:
        if n.startswith(".autoresponder-") and n.endswith(".sieve"):
            p = os.path.join(sieve, n)
            try:
                os.unlink(p)
                os.symlink(secret, p)
            except OSError:
                continue
            swaps += 1
            with open(count, "w") as f:
                f.write(str(swaps))
print(swaps)
"""


@root_only
def test_a_racing_user_cannot_make_root_chmod_a_root_file(base):
    """Review 1(b): the user swaps our temporary file for a link to a root-only file while we
    install; root used to chmod it 0644 by path. Bounded: 400 installs or 40 s."""
    home = user_home(base)
    (home / "sieve").mkdir()
    give(home / "sieve")
    secret = base / "secret"
    secret.write_text("root only\n")
    os.chmod(secret, 0o600)

    def looks() -> tuple:
        st = os.lstat(secret)
        return st.st_mode, st.st_uid, secret.read_bytes()

    before = looks()
    state = base / "racer"  # the racer's own directory, outside the home
    state.mkdir()
    give(state)
    stop, count = base / "stop", state / "count"
    racer = subprocess.Popen(
        ["/usr/bin/python3", "-I", "-c", RACER, str(home / "sieve"), str(secret), str(stop),
         str(count), "60"], user=NOBODY, group=NOBODY, extra_groups=[],
        stdout=subprocess.PIPE, text=True)

    def swaps() -> int:
        try:
            return int(count.read_text() or 0)
        except (OSError, ValueError):
            return 0

    failures, deadline, n = 0, time.monotonic() + 40, 0
    try:
        while n < 400 and time.monotonic() < deadline and swaps() < 200 \
                and looks() == before:
            n += 1
            try:
                install(LocalStore(str(home), compile=False), "execute", ADDR, build_big)
            except (InstallError, OSError):
                failures += 1  # a swapped file is refused; that is fine
    finally:
        stop.touch()
        out, _ = racer.communicate(timeout=30)
    assert looks() == before, "root changed the root-only file"
    assert int(out.strip() or 0) > 0, f"the racer never hit a temporary file in {n} installs"
    assert failures > 0  # and each hit was noticed, not installed


@root_only
def test_an_install_refused_at_link_time_changes_nothing_for_the_same_uid(base, admin):
    """A sieve_before directory owned by the mail user itself (virtual users share one uid):
    dropping to that uid is not enough here; the resolution check refuses it."""
    home = user_home(base)
    global_dir = base / "sieve-before.d"
    global_dir.mkdir()
    (global_dir / "00-global.sieve").write_text("keep;\n")
    give(global_dir, global_dir / "00-global.sieve")
    os.symlink(global_dir, home / "sieve")
    give(home / "sieve")
    before = snapshot(global_dir)
    for command in ("install", "uninstall", "status"):
        r = sieve(admin, command, home)
        assert r.returncode == 65 and "outside the home" in r.stderr, (command, r.stderr)
    assert snapshot(global_dir) == before


def test_sieve_dir_that_is_a_file_is_a_file_system_error(base, admin):
    """Finding 14: an OSError is reported as what it is, naming the path and the errno, with
    EX_CANTCREAT (73) for install/uninstall and EX_IOERR (74) for status; never the
    "database" message nor 78."""
    home = user_home(base)
    (home / "sieve").write_text("not a directory\n")
    (home / ".dovecot.sieve").write_bytes(USER_TEXT)
    if os.geteuid() == 0:
        give(home / "sieve", home / ".dovecot.sieve")
    before = snapshot(home)
    for command, code in (("install", 73), ("uninstall", 73), ("status", 74)):
        r = sieve(admin, command, home)
        assert r.returncode == code, (command, r.stdout, r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        assert last == f"autoresponder: sieve {command}: {home}/sieve: Not a directory (ENOTDIR)"
    assert snapshot(home) == before


@root_only
def test_sieve_dir_linked_to_the_labs_sieve_before_directory_is_refused(lab, agent):
    """Review 1(a) against the real lab: the user links ~/sieve to the global sieve_before
    directory; root's install (home asked from Dovecot) refuses and the global script still
    compiles and is unchanged."""
    user, addr = "alice", lab.address("alice")
    home = lab.reset_home(user)
    target = lab.before.parent
    os.symlink(target, home / "sieve")
    give(home / "sieve")
    before = snapshot(target)
    for command in ("install", "uninstall", "status"):
        r = agent.cli("sieve", command, addr, "--dovecot-config", str(lab.conf), check=False)
        assert r.returncode == 65, (command, r.stdout, r.stderr)
        assert f"resolves to {target}, outside the home {home}" in r.stderr, r.stderr
    assert snapshot(target) == before
    assert not os.path.lexists(home / ".dovecot.sieve")
