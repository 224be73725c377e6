"""Run one piece of work as the owner of a home: a forked child that drops every privilege.

Root installing a user's Sieve script must not act on the user's files with root's rights: the
user controls every name in their home and can swap any of them for a link at any moment. So
each operation on the home runs in a child that first becomes the home's owner (supplementary
groups, gid, then uid, real, effective and saved alike). Whatever links the user planted, the
child can do nothing the user could not do already. After the uid change the kernel marks the
child not dumpable, so the user cannot ptrace it or read its memory.

The child sends its answer back through a pipe as JSON: data, never code, so even a child that
misbehaved could not make root run anything. Its run time and its answer's size are bounded.
"""

from __future__ import annotations

import json
import os
import pwd
import select
import signal
import time
import traceback
from typing import Any, Callable

from autoresponder.sieve.install import InstallError

TIME_LIMIT = 300.0  # seconds for one operation (sievec alone is given 60 s per script)
ANSWER_LIMIT = 16 << 20  # bytes of JSON (a script read back is well under Pigeonhole's 1 MiB)


class Owner:
    """Who to become: the home's uid and gid, and that user's groups when it has a passwd
    entry (virtual mail users often have none: then only the gid)."""

    def __init__(self, uid: int, gid: int):
        self.uid, self.gid = uid, gid
        try:
            self.groups = sorted(set(os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)))
        except (KeyError, OSError):
            self.groups = [gid]

    def must_switch(self) -> bool:
        """Root acting on someone else's home: the only case where we become the owner. A
        non-root caller already has no more rights than it has; root's own home is root's."""
        return os.geteuid() == 0 and self.uid != 0


def _become(owner: Owner) -> None:
    os.setgroups(owner.groups)
    os.setresgid(owner.gid, owner.gid, owner.gid)
    os.setresuid(owner.uid, owner.uid, owner.uid)
    if os.getresuid() != (owner.uid,) * 3 or os.getresgid() != (owner.gid,) * 3:
        raise RuntimeError("could not drop privileges")  # pragma: no cover - kernel said yes


def _encode(fn: Callable[..., Any], args: tuple) -> bytes:
    """Run fn in the child; its result or its failure as JSON."""
    try:
        out: dict = {"ok": fn(*args)}
    except InstallError as e:
        out = {"refused": str(e)}
    except OSError as e:
        out = {"oserror": [e.errno, e.strerror, e.filename, e.filename2]}
    except BaseException:  # a bug: the parent shows it whole
        out = {"crash": traceback.format_exc()}
    return json.dumps(out).encode()


def _decode(data: bytes, what: str) -> Any:
    try:
        out = json.loads(data)
    except ValueError:
        raise InstallError(f"the worker acting on {what} sent a damaged answer; check it "
                           f"before trying again") from None
    if "ok" in out:
        return out["ok"]
    if "refused" in out:
        raise InstallError(out["refused"])
    if "oserror" in out:
        no, text, name, name2 = out["oserror"]
        if no is None:
            raise OSError(text)
        raise OSError(no, text, name, None, name2)
    raise RuntimeError("the sieve worker failed:\n" + str(out.get("crash")))


def run(owner: Owner, fn: Callable[..., Any], *args: Any, what: str = "the sieve directory",
        time_limit: float = TIME_LIMIT) -> Any:
    """fn(*args), as the owner when root acts on someone else's home; else right here."""
    if not owner.must_switch():
        return fn(*args)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        try:
            os.close(r)
            try:
                _become(owner)
            except BaseException:
                data = json.dumps({"crash": traceback.format_exc()}).encode()
            else:
                data = _encode(fn, args)
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
        finally:  # the status carries nothing (the answer is on the pipe); skip atexit
            os._exit(os.EX_OK)
    os.close(w)
    chunks, size, deadline = [], 0, time.monotonic() + time_limit
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                raise InstallError(f"working on {what} as uid {owner.uid} took longer than "
                                   f"{time_limit:.0f} s; stopped")
            chunk = os.read(r, 65536)
            if not chunk:
                break
            size += len(chunk)
            if size > ANSWER_LIMIT:
                raise InstallError(f"the answer about {what} is over {ANSWER_LIMIT} bytes")
            chunks.append(chunk)
    except BaseException:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - already gone
            pass
        raise
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if not data:
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit {os.waitstatus_to_exitcode(status)}")
        raise InstallError(f"the worker acting on {what} as uid {owner.uid} ended without an "
                           f"answer ({how}); check it before trying again")
    return _decode(data, what)
