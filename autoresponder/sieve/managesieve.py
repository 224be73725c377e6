"""A ManageSieve server (RFC 5804) through sievelib: the same store interface as LocalStore.

Login is SASL PLAIN; STARTTLS is used whenever the server offers it (and required unless
the server is on loopback or ``allow_plaintext`` is set), so a password never crosses a
network in clear. Every refusal carries the server's own text, verbatim. Scripts are checked
with CHECKSCRIPT before PUTSCRIPT replaces anything.
"""

from __future__ import annotations

import ipaddress
import socket
import warnings

from autoresponder.sieve.install import InstallError


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def offers_starttls(host: str, port: int, timeout: float = 10.0) -> bool:
    """Read the server's greeting (its capability list) and see whether STARTTLS is in it."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            buf = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
                lines = buf.split(b"\r\n")
                if any(line[:2].upper() in (b"OK", b"NO", b"BY") for line in lines):
                    break
    except OSError as e:
        raise InstallError(f"cannot reach ManageSieve server {host}:{port}: {e}") from None
    return any(line.strip().upper() == b'"STARTTLS"' for line in buf.split(b"\r\n"))


def _text(b) -> str:
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return str(b or "")


class ManageSieveStore:
    def __init__(self, host: str, port: int, user: str, password: str, authz: str = "",
                 allow_plaintext: bool = False):
        from sievelib.managesieve import Client, Error

        self.where = f"managesieve://{host}:{port} as {user}"
        tls = offers_starttls(host, port)
        if not tls and not (allow_plaintext or _is_loopback(host)):
            raise InstallError(f"{host}:{port} does not offer STARTTLS; refusing to send the "
                               f"password in clear (--allow-plaintext to override)")
        self.client = Client(host, port)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "unencrypted" on loopback
                ok = self.client.connect(user, password, authz_id=authz, starttls=tls,
                                         authmech="PLAIN")
        except Error as e:
            raise InstallError(f"ManageSieve {host}:{port}: {e}") from None
        if not ok:
            raise InstallError(f"ManageSieve login as {user!r} failed: "
                               f"{_text(self.client.errmsg) or 'refused'}")
        self._caps = None

    def _fail(self, what: str) -> InstallError:
        return InstallError(f"{what} refused by the server: {_text(self.client.errmsg)}")

    def _listing(self) -> "tuple[str | None, list[str]]":
        r = self.client.listscripts()
        if r is None:
            raise self._fail("LISTSCRIPTS")
        active, others = r
        return active, ([active] if active else []) + list(others)

    def names(self) -> "list[str]":
        return sorted(self._listing()[1])

    def active(self) -> "str | None":
        return self._listing()[0]

    def get(self, name: str) -> "str | None":
        return self.client.getscript(name)

    def put(self, name: str, text: str) -> None:
        try:
            checked = self.client.checkscript(text)
        except NotImplementedError:
            checked = True  # pre-RFC server without CHECKSCRIPT: PUTSCRIPT still checks
        if not checked:
            raise self._fail("CHECKSCRIPT")
        if not self.client.putscript(name, text):
            raise self._fail("PUTSCRIPT")

    def active_link(self) -> None:
        return None  # no links over ManageSieve: the server keeps its own layout

    def activate(self, name: "str | None", link: "str | None" = None) -> None:
        if not self.client.setactive(name or ""):
            raise self._fail("SETACTIVE")

    def delete(self, name: str) -> None:
        if not self.client.deletescript(name):
            raise self._fail("DELETESCRIPT")

    def adopt_plain(self) -> None:
        return None  # the server already did that, if its storage ever had a plain file

    def restore_plain(self, name: str) -> None:  # pragma: no cover - never adopted
        self.activate(name)

    def seconds_ok(self) -> bool:
        if self._caps is None:
            try:
                self._caps = set(self.client.get_sieve_capabilities())
            except KeyError:
                self._caps = set()
        return "vacation-seconds" in self._caps

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:
            pass
