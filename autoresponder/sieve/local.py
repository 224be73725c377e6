"""A sieve directory on this host, laid out as Dovecot's ``file:`` storage does.

Scripts are ``<sieve_dir>/NAME.sieve``; the active one is the symlink ``<active>`` (default
``~/.dovecot.sieve``) pointing at ``sieve/NAME.sieve`` (relative, like Dovecot writes it).
A plain file at the active path is moved to ``dovecot.orig.sieve`` as Dovecot does on its first
ManageSieve upload, and moved back on uninstall, so its bytes never change.

Scripts are compiled with ``sievec`` (when installed) before they replace anything, with
``HOME`` set to the user's home so ``include :personal`` resolves. When run as root, every file
written is given to the owner of the home directory (Dovecot runs as the mail user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from autoresponder.sieve.install import InstallError

SUFFIX = ".sieve"


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


class LocalStore:
    def __init__(self, home: str, sieve_dir: "str | None" = None, active: "str | None" = None,
                 dovecot_config: "str | None" = None, compile: bool = True):
        self.home = os.path.abspath(home)
        self.dir = os.path.abspath(sieve_dir or os.path.join(self.home, "sieve"))
        self.active_path = os.path.abspath(active or os.path.join(self.home, ".dovecot.sieve"))
        self.dovecot_config = dovecot_config
        self.sievec = find_sievec() if compile else None
        self.where = f"{self.dir} (active: {self.active_path})"
        try:
            st = os.stat(self.home)
        except OSError as e:
            raise InstallError(f"home directory {self.home}: {e.strerror}") from None
        self.owner = (st.st_uid, st.st_gid)
        self.notes: "list[str]" = []

    # -- helpers -------------------------------------------------------------------------
    def _path(self, name: str) -> str:
        if not name or "/" in name or name.startswith(".") or "\0" in name:
            raise InstallError(f"invalid script name {name!r}")
        return os.path.join(self.dir, name + SUFFIX)

    def _give(self, path: str) -> None:
        if os.geteuid() == 0 and os.path.lexists(path):
            os.lchown(path, *self.owner)

    def _ensure_dir(self) -> None:
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, mode=0o700)
            self._give(self.dir)

    def _binary_of_active(self) -> str:
        base = self.active_path[:-len(SUFFIX)] if self.active_path.endswith(SUFFIX) \
            else self.active_path
        return base + ".svbin"

    def _drop_active_binary(self) -> None:
        # Pigeonhole caches the compiled active script next to the link; after a switch it
        # must not serve the old program for a file whose mtime is older (a restored file).
        try:
            os.unlink(self._binary_of_active())
        except FileNotFoundError:
            pass

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        env["HOME"] = self.home
        return env

    def compile(self, script: str, binary: str) -> None:
        """sievec SCRIPT BINARY; InstallError with sievec's own messages on failure."""
        if self.sievec is None:
            return
        cmd = [self.sievec] + (["-c", self.dovecot_config] if self.dovecot_config else []) + \
            [script, binary]
        r = subprocess.run(cmd, capture_output=True, text=True, env=self._env(), timeout=60)
        if r.returncode != 0 or not os.path.exists(binary):
            raise InstallError("sievec refused the script:\n" + (r.stderr or r.stdout).strip())

    # -- the store interface -------------------------------------------------------------
    def names(self) -> "list[str]":
        if not os.path.isdir(self.dir):
            return []
        return sorted(f[:-len(SUFFIX)] for f in os.listdir(self.dir)
                      if f.endswith(SUFFIX) and not f.startswith(".")
                      and os.path.isfile(os.path.join(self.dir, f)))

    def active(self) -> "str | None":
        """The active script's name; None if there is none or it is a plain file."""
        p = self.active_path
        if not os.path.islink(p):
            return None
        target = os.path.join(os.path.dirname(p), os.readlink(p))
        real = os.path.realpath(target)
        if os.path.dirname(real) != os.path.realpath(self.dir) or not real.endswith(SUFFIX):
            raise InstallError(f"the active link {p} points outside {self.dir} "
                               f"({os.readlink(p)}); not touching it")
        if not os.path.exists(real):
            return None
        return os.path.basename(real)[:-len(SUFFIX)]

    def get(self, name: str) -> "str | None":
        try:
            with open(self._path(name), encoding="utf-8", errors="surrogateescape",
                      newline="") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def put(self, name: str, text: str) -> None:
        self._ensure_dir()
        fd, tmp = tempfile.mkstemp(prefix=".autoresponder-", suffix=SUFFIX, dir=self.dir)
        tmpbin = tmp[:-len(SUFFIX)] + ".svbin"
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            self.compile(tmp, tmpbin)
            final = self._path(name)
            self._give(tmp)
            os.replace(tmp, final)
            if os.path.exists(tmpbin):
                self._give(tmpbin)
                os.replace(tmpbin, final[:-len(SUFFIX)] + ".svbin")
        finally:
            for p in (tmp, tmpbin):
                if os.path.exists(p):
                    os.unlink(p)
        if self.sievec is None:
            self.notes.append("sievec not found: the script was not compiled here; Dovecot "
                              "will report any error in the user's sieve log")

    def activate(self, name: "str | None") -> None:
        p = self.active_path
        if os.path.exists(p) and not os.path.islink(p):
            raise InstallError(f"{p} is a plain file; not replacing it")
        if name is None:
            if os.path.islink(p):
                os.unlink(p)
            self._drop_active_binary()
            return
        rel = os.path.relpath(self._path(name), os.path.dirname(p))
        tmp = os.path.join(os.path.dirname(p), f".autoresponder-link-{os.getpid()}")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(rel, tmp)
        self._give(tmp)
        os.replace(tmp, p)
        self._drop_active_binary()

    def delete(self, name: str) -> None:
        path = self._path(name)
        for p in (path, path[:-len(SUFFIX)] + ".svbin"):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def adopt_plain(self) -> "str | None":
        """Move a plain active file into the sieve dir (as Dovecot does); its new name."""
        p = self.active_path
        if not os.path.isfile(p) or os.path.islink(p):
            return None
        self._ensure_dir()
        name, n = "dovecot.orig", 1
        while os.path.lexists(self._path(name)):
            n += 1
            name = f"dovecot.orig.{n}"
        os.rename(p, self._path(name))
        self._drop_active_binary()
        return name

    def restore_plain(self, name: str) -> None:
        """Put the adopted file back at the active path, untouched."""
        p = self.active_path
        if os.path.islink(p):
            os.unlink(p)
        os.rename(self._path(name), p)
        self._drop_active_binary()
        try:
            os.unlink(self._path(name)[:-len(SUFFIX)] + ".svbin")
        except FileNotFoundError:
            pass

    def seconds_ok(self) -> bool:
        """Whether this Dovecot enables vacation-seconds (probed with sievec)."""
        if self.sievec is None:
            return False
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
