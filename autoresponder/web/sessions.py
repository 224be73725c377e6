"""Signed-in browsers: the session cookie, its attributes, and the CSRF token of a session.

The cookie holds only a random session id (256 bits); what it stands for stays on the server,
so signing out ends the session there too (a copied cookie is then worth nothing). The
cookie is ``HttpOnly`` and ``SameSite=Strict``, and ``Secure`` unless the page is reached on a
loopback name (a test or an SSH tunnel on plain HTTP); a Secure cookie is named with the
``__Host-`` prefix, which browsers accept only from HTTPS, for the whole host, without a
Domain. Every form carries the session's CSRF token, an HMAC of the session id, checked on
every POST; the login form, which comes before any session, carries one keyed by a random
pre-session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time

IDLE = 2 * 3600        # a session unused this long ends
LIFETIME = 12 * 3600   # and any session ends this long after sign-in
MAX_SESSIONS = 10_000  # bound on what the server keeps; the oldest go first


class Who:
    """Whom a session speaks for: a mailbox owner (the account's address) or an
    administrator; `name` is the login (or "token:<id>"), `via` how they signed in."""

    __slots__ = ("address", "admin", "name", "via")

    def __init__(self, address: "str | None", admin: bool = False, name: str = "",
                 via: str = "password"):
        self.address, self.admin, self.via = address, admin, via
        self.name = name or address or ""

    def principal(self):
        """The API's Principal for this session (same authorization as the API)."""
        from autoresponder.http.auth import Principal

        return Principal(self.admin, self.address, self.name, "session")

    def __repr__(self) -> str:
        return f"Who({self.address!r}, admin={self.admin})"


class Session:
    __slots__ = ("sid", "who", "created", "seen")

    def __init__(self, sid: str, who: Who, now: float):
        self.sid, self.who, self.created, self.seen = sid, who, now, now

    @property
    def csrf(self) -> str:
        return csrf_token(self.sid)


def csrf_token(key: str) -> str:
    mac = hmac.new(key.encode(), b"autoresponder web form", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_ok(key: "str | None", given: "str | None") -> bool:
    if not key or not given:
        return False
    return hmac.compare_digest(csrf_token(key), given)


class Sessions:
    """The server's sessions, bounded in number and age (thread-safe)."""

    def __init__(self):
        self._by_id: "dict[str, Session]" = {}
        self._lock = threading.Lock()

    def create(self, who: Who, now: "float | None" = None) -> Session:
        now = time.time() if now is None else now
        s = Session(secrets.token_urlsafe(32), who, now)
        with self._lock:
            self._expire(now)
            while len(self._by_id) >= MAX_SESSIONS:
                oldest = min(self._by_id.values(), key=lambda x: x.seen)
                del self._by_id[oldest.sid]
            self._by_id[s.sid] = s
        return s

    def get(self, sid: "str | None", now: "float | None" = None) -> "Session | None":
        if not sid:
            return None
        now = time.time() if now is None else now
        with self._lock:
            s = self._by_id.get(sid)
            if s is None:
                return None
            if now - s.seen > IDLE or now - s.created > LIFETIME:
                del self._by_id[sid]
                return None
            s.seen = now
            return s

    def drop(self, sid: "str | None") -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def _expire(self, now: float) -> None:
        for sid in [k for k, s in self._by_id.items()
                    if now - s.seen > IDLE or now - s.created > LIFETIME]:
            del self._by_id[sid]


def loopback_host(host: str) -> bool:
    """Is the Host header a loopback name (localhost, 127.0.0.0/8, ::1), port aside?"""
    h = (host or "").strip().lower()
    if h.startswith("["):
        h = h[1:].split("]", 1)[0]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def cookie_name(secure: bool, base: str = "ar_session") -> str:
    return f"__Host-{base}" if secure else base


def set_cookie(response, name: str, value: str, secure: bool, max_age: "int | None") -> None:
    response.set_cookie(name, value, path="/", httponly=True, secure=secure,
                        samesite="Strict", max_age=max_age)


def clear_cookie(response, name: str, secure: bool) -> None:
    response.set_cookie(name, "", path="/", httponly=True, secure=secure, samesite="Strict",
                        max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT")
