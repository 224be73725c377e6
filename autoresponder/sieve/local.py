"""A sieve directory on this host, laid out as Dovecot's ``file:`` storage does.

Scripts are ``<sieve_dir>/NAME.sieve``; the active one is the symlink ``<active>`` (default
``~/.dovecot.sieve``) pointing at ``sieve/NAME.sieve`` (relative, like Dovecot writes it).
A plain file at the active path is moved to ``dovecot.orig.sieve`` as Dovecot does on its first
ManageSieve upload, and moved back on uninstall, so its bytes never change.

Everything in the home belongs to its owner, who can swap any name for a link at any moment.
So (1) run as root, every operation runs as the home's owner (``asowner``: a forked child
without root's rights); (2) the sieve directory and the active link's directory must resolve
inside the home and every directory from the home down to them must belong to the owner, and
so must the active link; (3) they are opened from the home down, one component at a time,
without following links, and every file operation is relative to those descriptors
(``openat``/``renameat``/``unlinkat``/``symlinkat``, ``O_NOFOLLOW``, ``fchmod`` on the open
file). (1) stops a link to a file of root's or of another user; (2) and (3) also stop a link to
a directory of the same uid (virtual mail users often share one), such as a global
``sieve_before`` directory.

Scripts are compiled with ``sievec`` (when installed) before they replace anything, with
``HOME`` set to the user's home so ``include :personal`` resolves, as the owner, through the
directory descriptor (``/proc/self/fd/N/name``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass

from autoresponder.sieve import asowner
from autoresponder.sieve.install import InstallError

SUFFIX = ".sieve"
BINARY = ".svbin"
READ_LIMIT = 4 << 20  # bytes: a script bigger than this is not one of ours (Pigeonhole: 1 MiB)
SIEVEC_TIME_LIMIT = 60  # seconds
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def find_sievec() -> "str | None":
    return shutil.which("sievec") or next(
        (p for p in ("/usr/bin/sievec", "/usr/local/bin/sievec") if os.path.exists(p)), None)


def dovecot_home(user: str, dovecot_config: "str | None" = None) -> str:
    """The user's home from Dovecot's userdb (``doveadm user -f home``)."""
    doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
    cmd = [doveadm] + (["-c", dovecot_config] if dovecot_config else []) + \
        ["user", "-f", "home", user]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InstallError(f"cannot ask Dovecot for the home of {user!r} ({e}); "
                           f"give --home") from None
    home = r.stdout.strip()
    if r.returncode != 0 or not home.startswith("/"):
        msg = (r.stderr or r.stdout).strip() or f"exit {r.returncode}"
        raise InstallError(f"doveadm user {user!r}: {msg}; give --home")
    return home


class Dir:
    """An open directory. Every call is relative to its descriptor and never follows a link
    in the last component; an OSError names the full path."""

    def __init__(self, fd: int, path: str):
        self.fd, self.path = fd, path

    def where(self, name: str) -> str:
        return os.path.join(self.path, name)

    @contextlib.contextmanager
    def _about(self, name: str):
        try:
            yield
        except OSError as e:
            if e.filename is None or not os.path.isabs(str(e.filename)):
                e.filename = self.where(name)
            raise

    def lstat(self, name: str) -> "os.stat_result | None":
        with self._about(name):
            try:
                return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            except FileNotFoundError:
                return None

    def is_file(self, name: str) -> bool:
        st = self.lstat(name)
        return st is not None and stat.S_ISREG(st.st_mode)

    def listdir(self) -> "list[str]":
        with self._about("."):
            return os.listdir(self.fd)

    def open_dir(self, name: str, create: bool) -> "Dir | None":
        with self._about(name):
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
            except FileNotFoundError:
                if not create:
                    return None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o700, dir_fd=self.fd)
                fd = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
        return Dir(fd, self.where(name))

    def read(self, name: str, limit: int) -> "bytes | None":
        """A regular file's bytes; None if absent. A link, FIFO or device is refused (and a
        FIFO never blocks us: O_NONBLOCK)."""
        with self._about(name):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                             dir_fd=self.fd)
            except FileNotFoundError:
                return None
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise InstallError(f"{self.where(name)} is not a regular file; "
                                       f"not reading it")
                chunks, size = [], 0
                while chunk := os.read(fd, 65536):
                    size += len(chunk)
                    if size > limit:
                        raise InstallError(f"{self.where(name)} is over {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
            finally:
                os.close(fd)

    def create(self, name: str, data: bytes, mode: int) -> os.stat_result:
        """A new file (never an existing name, never through a link) holding data, with this
        mode set on the open file; its identity, to check that the name still holds it."""
        with self._about(name):
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW |
                         os.O_CLOEXEC, mode, dir_fd=self.fd)
            try:
                os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
                return os.fstat(fd)
            finally:
                os.close(fd)

    def unlink(self, name: str) -> None:
        with self._about(name), contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def move(self, name: str, to: "Dir", new: str) -> None:
        """renameat: moves the name itself (a link stays a link, never followed)."""
        with self._about(name):
            try:
                os.replace(name, new, src_dir_fd=self.fd, dst_dir_fd=to.fd)
            except OSError as e:
                e.filename, e.filename2 = self.where(name), to.where(new)
                raise

    def symlink(self, target: str, name: str) -> None:
        with self._about(name):
            os.symlink(target, name, dir_fd=self.fd)

    def readlink(self, name: str) -> str:
        with self._about(name):
            return os.readlink(name, dir_fd=self.fd)

    def proc_path(self, name: str) -> str:
        """A path to name through this descriptor, for programs that take paths (sievec)."""
        via = f"/proc/self/fd/{self.fd}"
        return os.path.join(via if os.path.isdir(via) else self.path, name)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class Layout:
    """The opened sieve directory (None while it does not exist) and the active link's
    directory, with their real paths."""

    sieve: "Dir | None"
    active: Dir
    sieve_real: str
    active_real: str


class LocalStore:
    def __init__(self, home: str, sieve_dir: "str | None" = None, active: "str | None" = None,
                 dovecot_config: "str | None" = None, compile: bool = True):
        self.home = os.path.abspath(home)
        self.dir = os.path.abspath(sieve_dir or os.path.join(self.home, "sieve"))
        self.active_path = os.path.abspath(active or os.path.join(self.home, ".dovecot.sieve"))
        self.active_name = os.path.basename(self.active_path)
        self.dovecot_config = dovecot_config
        self.sievec = find_sievec() if compile else None
        self.where = f"{self.dir} (active: {self.active_path})"
        try:
            st = os.stat(self.home)  # the home itself is the admin's word (--home or userdb)
        except OSError as e:
            raise InstallError(f"home directory {self.home}: {e.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise InstallError(f"home directory {self.home}: not a directory")
        self.owner = asowner.Owner(st.st_uid, st.st_gid)
        self._home_id = (st.st_dev, st.st_ino)
        self.notes: "list[str]" = []

    # -- where we may work ------------------------------------------------------------------
    def _run(self, fn, *args):
        """fn(*args) as the home's owner (a child process when we are root)."""
        return asowner.run(self.owner, fn, *args, what=self.where)

    @staticmethod
    def _check_name(name: str) -> None:
        if not name or "/" in name or name.startswith(".") or "\0" in name:
            raise InstallError(f"invalid script name {name!r}")

    def _inside(self, path: str, real_home: str, what: str) -> str:
        real = os.path.realpath(path)
        if os.path.commonpath([real, real_home]) != real_home:
            raise InstallError(
                f"the {what} {path} resolves to {real}, outside the home {self.home}; not "
                f"touching it (a local install stays inside the home: remove the link, or use "
                f"--server for another layout)")
        return real

    def _owned(self, st: os.stat_result, path: str, what: str) -> None:
        if st.st_uid != self.owner.uid:
            raise InstallError(
                f"the {what} {path} belongs to uid {st.st_uid}, not to uid {self.owner.uid} "
                f"who owns {self.home}; not touching it (chown -h it to the home's owner)")

    def _descend(self, home: Dir, real_home: str, real: str, create: bool,
                 opened: "list[Dir]") -> "Dir | None":
        """Open real (inside the home) from the home down, one name at a time, no links."""
        cur = home
        rel = os.path.relpath(real, real_home)
        for part in ([] if rel == "." else rel.split(os.sep)):
            nxt = cur.open_dir(part, create)
            if nxt is None:
                return None
            opened.append(nxt)
            self._owned(os.fstat(nxt.fd), nxt.path, "directory")
            cur = nxt
        return cur

    @contextlib.contextmanager
    def _layout(self, create: bool = False):
        if self.active_name in ("", ".", ".."):
            raise InstallError(f"invalid active path {self.active_path}")
        real_home = os.path.realpath(self.home)
        opened: "list[Dir]" = []
        try:
            home = Dir(os.open(real_home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC),
                       real_home)
            opened.append(home)
            st = os.fstat(home.fd)
            if (st.st_dev, st.st_ino) != self._home_id:
                raise InstallError(f"the home {self.home} was replaced while we worked on it; "
                                   f"not touching it")
            sieve_real = self._inside(self.dir, real_home, "sieve directory")
            active_real = self._inside(os.path.dirname(self.active_path), real_home,
                                       "directory of the active link")
            sieve = self._descend(home, real_home, sieve_real, create, opened)
            active = self._descend(home, real_home, active_real, False, opened)
            if active is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), active_real)
            yield Layout(sieve, active, sieve_real, active_real)
        finally:
            for d in opened:
                d.close()

    def _link(self, lay: Layout) -> "tuple[str | None, str | None]":
        """(name of the script the active link points at if it exists, the link's text);
        (None, None) when the active path is no link. Refuses a link that is not the owner's
        or that points outside the sieve directory."""
        st = lay.active.lstat(self.active_name)
        if st is None or not stat.S_ISLNK(st.st_mode):
            return None, None
        self._owned(st, self.active_path, "active link")
        text = lay.active.readlink(self.active_name)
        real = os.path.realpath(os.path.join(lay.active_real, text))
        if os.path.dirname(real) != lay.sieve_real or not real.endswith(SUFFIX):
            raise InstallError(f"the active link {self.active_path} points outside {self.dir} "
                               f"({text}); not touching it")
        exists = lay.sieve is not None and lay.sieve.is_file(os.path.basename(real))
        return (os.path.basename(real)[:-len(SUFFIX)] if exists else None), text

    def _drop_active_binary(self, lay: Layout) -> None:
        # Pigeonhole caches the compiled active script next to the link; after a switch it
        # must not serve the old program for a file whose mtime is older (a restored file).
        base = self.active_name[:-len(SUFFIX)] if self.active_name.endswith(SUFFIX) \
            else self.active_name
        lay.active.unlink(base + BINARY)

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        env["HOME"] = self.home
        return env

    def compile(self, script: str, binary: str, fds: "dict[int, str] | None" = None) -> None:
        """sievec SCRIPT BINARY; InstallError with sievec's own messages on failure. fds: the
        directory descriptors the paths go through, and the paths to show for them."""
        if self.sievec is None:
            return
        cmd = [self.sievec] + (["-c", self.dovecot_config] if self.dovecot_config else []) + \
            [script, binary]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=self._env(),
                               timeout=SIEVEC_TIME_LIMIT, pass_fds=tuple(fds or ()))
        except subprocess.TimeoutExpired:
            raise InstallError(f"sievec took longer than {SIEVEC_TIME_LIMIT} s; "
                               f"nothing was installed") from None
        if r.returncode != 0 or not os.path.exists(binary):
            text = (r.stderr or r.stdout).strip()
            for fd, shown in (fds or {}).items():
                text = text.replace(f"/proc/self/fd/{fd}", shown)
            raise InstallError("sievec refused the script:\n" + text)

    # -- the store interface: each public method runs as the owner ----------------------------
    def names(self) -> "list[str]":
        return self._run(self._names)

    def _names(self) -> "list[str]":
        with self._layout() as lay:
            if lay.sieve is None:
                return []
            return sorted(f[:-len(SUFFIX)] for f in lay.sieve.listdir()
                          if f.endswith(SUFFIX) and not f.startswith(".")
                          and lay.sieve.is_file(f))

    def active(self) -> "str | None":
        """The active script's name; None if there is none, it is missing or a plain file."""
        return self._run(self._active)[0]

    def active_link(self) -> "str | None":
        """The active link's text (kept so uninstall can put back exactly that link, even one
        pointing at a script that no longer exists); None when there is no link."""
        return self._run(self._active)[1]

    def _active(self) -> "tuple[str | None, str | None]":
        with self._layout() as lay:
            return self._link(lay)

    def get(self, name: str) -> "str | None":
        self._check_name(name)
        return self._run(self._get, name)

    def _get(self, name: str) -> "str | None":
        with self._layout() as lay:
            data = lay.sieve.read(name + SUFFIX, READ_LIMIT) if lay.sieve else None
            return None if data is None else data.decode("utf-8", "surrogateescape")

    def put(self, name: str, text: str) -> None:
        self._check_name(name)
        self._run(self._put, name, text)
        if self.sievec is None:
            self.notes.append("sievec not found: the script was not compiled here; Dovecot "
                              "will report any error in the user's sieve log")

    def _put(self, name: str, text: str) -> None:
        with self._layout(create=True) as lay:
            d = lay.sieve
            assert d is not None
            tmp = f".autoresponder-{secrets.token_hex(8)}"
            script, binary = tmp + SUFFIX, tmp + BINARY
            try:
                made = d.create(script, text.encode("utf-8", "surrogateescape"), 0o644)
                self.compile(d.proc_path(script), d.proc_path(binary), {d.fd: d.path})
                now = d.lstat(script)
                if now is None or (now.st_dev, now.st_ino) != (made.st_dev, made.st_ino):
                    raise InstallError(f"{d.where(script)} was replaced by someone else while "
                                       f"installing; nothing was installed")
                d.move(script, d, name + SUFFIX)
                if d.lstat(binary) is not None:
                    d.move(binary, d, name + BINARY)
            finally:
                d.unlink(script)
                d.unlink(binary)

    def activate(self, name: "str | None", link: "str | None" = None) -> None:
        """Point the active link at name (None: no active script). link: the exact text to
        write, used when it leads to that script (or, with name None, to a missing one)."""
        if name is not None:
            self._check_name(name)
        self._run(self._activate, name, link)

    def _activate(self, name: "str | None", link: "str | None") -> None:
        with self._layout() as lay:
            a, base = lay.active, self.active_name
            st = a.lstat(base)
            if st is not None and not stat.S_ISLNK(st.st_mode):
                raise InstallError(f"{self.active_path} is a plain file; not replacing it")
            if st is not None:
                self._link(lay)  # refuses a link that is not the owner's, or leads outside
            want = None if name is None else os.path.join(lay.sieve_real, name + SUFFIX)
            if link is not None:
                real = os.path.realpath(os.path.join(lay.active_real, link))
                ok = os.path.dirname(real) == lay.sieve_real and real.endswith(SUFFIX)
                if not ok or (want is not None and real != want):
                    link = None
            if link is None and want is None:
                if st is not None:
                    a.unlink(base)
            else:
                text = link if link is not None else os.path.relpath(want, lay.active_real)
                tmp = f".autoresponder-link-{secrets.token_hex(8)}"
                a.symlink(text, tmp)
                try:
                    a.move(tmp, a, base)
                finally:
                    a.unlink(tmp)
            self._drop_active_binary(lay)

    def delete(self, name: str) -> None:
        self._check_name(name)
        self._run(self._delete, name)

    def _delete(self, name: str) -> None:
        with self._layout() as lay:
            if lay.sieve is not None:
                lay.sieve.unlink(name + SUFFIX)
                lay.sieve.unlink(name + BINARY)

    def adopt_plain(self) -> "str | None":
        """Move a plain active file into the sieve dir (as Dovecot does); its new name."""
        return self._run(self._adopt_plain)

    def _adopt_plain(self) -> "str | None":
        with self._layout() as lay:
            st = lay.active.lstat(self.active_name)
            if st is None or not stat.S_ISREG(st.st_mode):
                return None
        with self._layout(create=True) as lay:
            d = lay.sieve
            assert d is not None
            name, n = "dovecot.orig", 1
            while d.lstat(name + SUFFIX) is not None:
                n += 1
                name = f"dovecot.orig.{n}"
            lay.active.move(self.active_name, d, name + SUFFIX)
            self._drop_active_binary(lay)
            return name

    def restore_plain(self, name: str) -> None:
        """Put the adopted file back at the active path, untouched."""
        self._check_name(name)
        self._run(self._restore_plain, name)

    def _restore_plain(self, name: str) -> None:
        with self._layout() as lay:
            d = lay.sieve
            if d is None or not d.is_file(name + SUFFIX):
                where = os.path.join(self.dir, name + SUFFIX)
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), where)
            st = lay.active.lstat(self.active_name)
            if st is not None and not stat.S_ISLNK(st.st_mode):
                raise InstallError(f"{self.active_path} exists again; the earlier active file "
                                   f"stays at {d.where(name + SUFFIX)}")
            if st is not None:
                self._owned(st, self.active_path, "active link")
            d.move(name + SUFFIX, lay.active, self.active_name)
            self._drop_active_binary(lay)
            d.unlink(name + BINARY)

    def seconds_ok(self) -> bool:
        """Whether this Dovecot enables vacation-seconds (probed with sievec, as the owner)."""
        if self.sievec is None:
            return False
        return self._run(self._seconds_ok)

    def _seconds_ok(self) -> bool:
        with tempfile.TemporaryDirectory() as d:
            s = os.path.join(d, "probe.sieve")
            with open(s, "w") as f:
                f.write('require "vacation-seconds";\n')
            try:
                self.compile(s, os.path.join(d, "probe.svbin"))
            except InstallError:
                return False
        return True

    def close(self) -> None:
        pass
