"""The listening sockets, opened once by the supervisor and shared by every worker it forks.

A unix socket gets its owner, group and mode before anyone can connect (created under a
umask of 0177, then chowned and chmodded): Postfix's lmtp client runs as `postfix`, so the
usual setting is group postfix, mode 0660. A stale socket left by a killed service is
replaced; a live one (another `serve` answering) or a file that is not a socket is an error.
inet listeners are loopback only unless `serve.allow_remote` says otherwise: LMTP has no
authentication, and whoever can connect can make the service send replies.
"""

from __future__ import annotations

import os
import socket
import stat

from autoresponder.relay import AddressError, parse_address

BACKLOG = 256


class ListenError(Exception):
    pass


def _uid(owner: str) -> int:
    if not owner:
        return -1
    if owner.isdigit():
        return int(owner)
    import pwd

    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise ListenError(f"serve.socket_owner: no user {owner!r}") from None


def _gid(group: str) -> int:
    if not group:
        return -1
    if group.isdigit():
        return int(group)
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ListenError(f"serve.socket_group: no group {group!r}") from None


def open_unix(path: str, owner: str = "", group: str = "", mode: int = 0o660) -> socket.socket:
    uid, gid = _uid(owner), _gid(group)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISSOCK(st.st_mode):
            raise ListenError(f"{path} exists and is not a socket; not touching it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale: nobody answers on it
        else:
            raise ListenError(f"{path}: another service is already listening there")
        finally:
            probe.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        s.bind(path)
    except OSError as e:
        s.close()
        raise ListenError(f"cannot listen on unix:{path}: {e.strerror}") from None
    finally:
        os.umask(old)
    try:
        if uid != -1 or gid != -1:
            os.chown(path, uid, gid)
        os.chmod(path, mode)
        s.listen(BACKLOG)
    except OSError as e:
        s.close()
        raise ListenError(f"cannot set up unix:{path}: {e.strerror}") from None
    return s


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_inet(host: str, port: int, allow_remote: bool = False) -> socket.socket:
    if not allow_remote and not is_loopback(host):
        raise ListenError(f"inet:{host}:{port} is not a loopback address; LMTP has no "
                          f"authentication (set serve.allow_remote = true to allow it)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_NUMERICHOST if host != "localhost" else 0)
    except socket.gaierror as e:
        raise ListenError(f"inet:{host}:{port}: {e}") from None
    family, _, _, _, addr = infos[0]
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr)
        s.listen(BACKLOG)
    except OSError as e:
        s.close()
        raise ListenError(f"cannot listen on inet:{host}:{port}: {e.strerror}") from None
    return s


def open_listener(address: str, serve_cfg) -> socket.socket:
    try:
        parsed = parse_address(address)
    except AddressError as e:
        raise ListenError(str(e)) from None
    if parsed[0] == "unix":
        return open_unix(parsed[1], serve_cfg.socket_owner, serve_cfg.socket_group,
                         int(serve_cfg.socket_mode, 8))
    return open_inet(parsed[1], parsed[2], serve_cfg.allow_remote)


def close_listener(sock: socket.socket) -> None:
    """Close it and, for a unix socket, remove the path unless a new service (started while
    we drained) already answers there."""
    path = None
    if sock.family == socket.AF_UNIX:
        try:
            path = sock.getsockname()
        except OSError:
            path = None
    sock.close()
    if not path:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(path)
    except OSError:
        try:
            os.unlink(path)
        except OSError:
            pass
    finally:
        probe.close()
