"""Who is asking: the Principal of an HTTP request, for the JMAP API and the web pages alike.

Two kinds of credentials:
- ``Authorization: Bearer ar_...``: an API token (`autoresponder token create`), an admin
  token (every account) or an account token (that account only);
- ``Authorization: Basic``: a mailbox owner's own login and password, checked by an IMAP
  LOGIN to the configured mail server (`[http] imap_host`); the login maps to one account
  (its address, or an alias of it) and gives that account only. Refused over plain HTTP
  unless the client is on loopback or the unix socket (a reverse proxy that terminated TLS).

Failed password logins are counted per login name and per client address (bounded memory,
`ratelimit`), refused with 429 past the limits, and logged without the password. A good
password is remembered for `http.login_cache` seconds as a salted hash, so each API call
does not log in to IMAP again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import time

from aiohttp import web

from autoresponder.http import tokens
from autoresponder.http.imapauth import ImapUnavailable, check_password
from autoresponder.http.ratelimit import FailureCounter


class Principal:
    """Whom a request speaks for. ``admin``: every account; else ``account`` only.
    ``name`` is shown as the JMAP username; ``via`` says how they proved it ("token",
    "password", or "session" for the web pages' cookie)."""

    __slots__ = ("admin", "account", "name", "via")

    def __init__(self, admin: bool, account: "str | None", name: str, via: str):
        if not admin and not account:
            raise ValueError("a non-admin principal needs an account")
        self.admin, self.account, self.name, self.via = admin, account, name, via

    def may(self, account: str) -> bool:
        """May this principal read and change `account` (a stored account address)?"""
        return self.admin or account == self.account

    def __hash__(self) -> int:
        return hash((self.admin, self.account, self.name, self.via))

    def __repr__(self) -> str:
        who = "admin" if self.admin else self.account
        return f"Principal({who}, name={self.name!r}, via={self.via})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Principal) and (self.admin, self.account, self.name,
                                                 self.via) == (other.admin, other.account,
                                                               other.name, other.via)


class AuthFailed(Exception):
    """Why a request has no principal: `status` 401 (no or bad credentials), 403 (Basic over
    plain HTTP, or a login that maps to no account), 429 (too many failures: `retry_after`
    seconds) or 503 (the mail server could not check the password). `reason` is safe to show
    to the user; `detail` is for the log."""

    def __init__(self, status: int, reason: str, retry_after: float = 0, detail: str = ""):
        super().__init__(reason)
        self.status, self.reason, self.retry_after = status, reason, retry_after
        self.detail = detail or reason

    def headers(self) -> dict:
        h = {}
        if self.status == 401:
            h["WWW-Authenticate"] = 'Basic realm="autoresponder", charset="UTF-8", Bearer'
        if self.status == 429:
            h["Retry-After"] = str(int(self.retry_after + 0.999))
        return h


def _is_local(ip: "str | None") -> bool:
    """Loopback, or no peer address at all (a unix socket)."""
    if not ip:
        return True
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class Authenticator:
    """The credential checks of one app. `store` is the app's StoreThread (calls run on the
    store's own thread); `log` an autoresponder.logs.Log."""

    def __init__(self, config, store, log):
        h = config.http
        self.config = config
        self.store = store
        self.log = log
        self.by_login = FailureCounter(h.max_failures_login, h.failure_window)
        self.by_client = FailureCounter(h.max_failures_client, h.failure_window)
        self._salt = secrets.token_bytes(16)
        self._good: "dict[bytes, tuple[float, Principal]]" = {}
        self._good_max = 4096

    # --- the request's view -----------------------------------------------------------------

    def client_address(self, request: web.Request) -> str:
        """The client's address: the peer's, or X-Forwarded-For's last hop when the peer is
        a trusted local reverse proxy (http.trust_forwarded)."""
        peer = request.remote or ""
        if self.config.http.trust_forwarded and _is_local(peer):
            fwd = request.headers.get("X-Forwarded-For", "")
            last = fwd.rsplit(",", 1)[-1].strip()
            if last:
                return last[:100]
        return peer or "local"

    def secure(self, request: web.Request) -> bool:
        """May a password cross this connection? TLS to us, or a local peer (a reverse
        proxy on loopback or the unix socket); behind a trusted proxy, only when the proxy
        says the client used https."""
        peer = request.remote or ""
        if self.config.http.trust_forwarded and _is_local(peer) \
                and "X-Forwarded-Proto" in request.headers:
            return request.headers["X-Forwarded-Proto"].strip().lower() == "https"
        return request.secure or _is_local(peer)

    async def principal(self, request: web.Request) -> Principal:
        """The request's Principal, from its Authorization header; AuthFailed otherwise."""
        value = request.headers.get("Authorization", "")
        scheme, _, cred = value.strip().partition(" ")
        scheme = scheme.lower()
        cred = cred.strip()
        if scheme == "bearer" and cred:
            return await self.check_token(cred, request)
        if scheme == "basic" and cred:
            if not self.secure(request):
                raise AuthFailed(403, "a password may only be sent over HTTPS",
                                 detail="Basic credentials over plain HTTP refused")
            try:
                text = base64.b64decode(cred, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise AuthFailed(401, "malformed Basic credentials") from None
            login, sep, password = text.partition(":")
            if not sep:
                raise AuthFailed(401, "malformed Basic credentials")
            return await self.check_password(login, password, self.client_address(request))
        raise AuthFailed(401, "credentials required (Bearer token or Basic)")

    # --- tokens -------------------------------------------------------------------------------

    async def _store_call(self, fn):
        from autoresponder.store.base import StoreError

        try:
            return await self.store.call(fn)
        except StoreError as e:
            self.log.write({"service": "http", "event": "auth-unavailable",
                            "reason": str(e)[:500]}, "error")
            raise AuthFailed(503, "the database is unavailable; try again later") from None

    async def check_token(self, text: str, request: "web.Request | None" = None) -> Principal:
        row = await self._store_call(lambda s: tokens.check(s, text))
        if row is None:
            self.log.write({"service": "http", "event": "token-refused",
                            "token": tokens.token_id_of(text) or "-",
                            "client": self.client_address(request) if request else "-"},
                           "warning")
            raise AuthFailed(401, "unknown or revoked token")
        if row.account is None:
            return Principal(True, None, f"token:{row.token_id}", "token")
        return Principal(False, row.account, row.account, "token")

    # --- passwords ----------------------------------------------------------------------------

    def _cache_key(self, login: str, password: str) -> bytes:
        return hmac.new(self._salt, f"{login}\0{password}".encode("utf-8", "surrogatepass"),
                        hashlib.sha256).digest()

    async def check_password(self, login: str, password: str, client: str) -> Principal:
        """A mailbox owner's Principal for login/password (the web pages' form login calls
        this too); AuthFailed (401, 403, 429 or 503) otherwise. Rate-limited per login name
        and per client address; failures are logged, never the password."""
        h = self.config.http
        login = login.strip()
        now = time.monotonic()
        key = self._cache_key(login, password)
        hit = self._good.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        if not h.imap_host:
            raise AuthFailed(401, "password logins are not enabled here (use a token)")
        lkey = login.lower()
        wait = max(self.by_login.retry_after(lkey, now), self.by_client.retry_after(client, now))
        if wait:
            self.log.write({"service": "http", "event": "login-throttled", "login": login[:200],
                            "client": client, "retry_after": int(wait)}, "warning")
            raise AuthFailed(429, "too many failed logins; try again later", wait)
        # counted before the server answers, so a burst of parallel guesses is counted too;
        # taken back below when the password turns out right or could not be checked
        self.by_login.fail(lkey, now)
        self.by_client.fail(client, now)
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(
                check_password, h.imap_host, h.imap_port, h.imap_security, login, password,
                float(h.imap_timeout), h.imap_tls_verify, h.imap_ca_file),
                float(h.imap_timeout) + 5)
        except (ImapUnavailable, asyncio.TimeoutError) as e:
            self.by_login.undo(lkey)
            self.by_client.undo(client)
            self.log.write({"service": "http", "event": "login-unavailable",
                            "login": login[:200], "client": client,
                            "reason": str(e) or "timeout"}, "error")
            raise AuthFailed(503, "the mail server could not check the password; try "
                                  "again later") from None
        if not ok:
            self.log.write({"service": "http", "event": "login-failed", "login": login[:200],
                            "client": client}, "warning")
            raise AuthFailed(401, "wrong login or password")
        try:
            account = await self._store_call(lambda s: self.account_of_login(s, login))
        except AuthFailed:
            self.by_login.undo(lkey)
            self.by_client.undo(client)
            raise
        if account is None:
            self.by_login.undo(lkey)
            self.by_client.undo(client)
            self.log.write({"service": "http", "event": "login-no-account",
                            "login": login[:200], "client": client}, "warning")
            raise AuthFailed(403, "this login has no vacation account here")
        self.by_login.clear(lkey)
        self.by_client.undo(client)
        principal = Principal(False, account, login, "password")
        if h.login_cache:
            if len(self._good) >= self._good_max:
                self._good = {k: v for k, v in self._good.items() if v[0] > now}
                while len(self._good) >= self._good_max:
                    self._good.pop(next(iter(self._good)))
            self._good[key] = (now + h.login_cache, principal)
        return principal

    def account_of_login(self, store, login: str) -> "str | None":
        """The one account a login name stands for: the account of that address (or the
        account it is an alias of); a new account of that address when http.new_accounts
        allows; None when the login is no address."""
        from autoresponder.accounts import normalize_account

        h = self.config.http
        if "@" not in login and h.login_domain:
            login = f"{login}@{h.login_domain}"
        try:
            address = normalize_account(login, self.config)
        except ValueError:
            return None
        acct = store.find_account(address)
        if acct is not None:
            return acct.address
        return address if h.new_accounts else None

