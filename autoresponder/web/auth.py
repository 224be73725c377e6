"""Who may sign in to the pages: the HTTP API's own checks (autoresponder.http.auth), so the
pages and the API authorize alike. A mailbox owner signs in with the mail password (checked
by the mail server, rate-limited, only over TLS or from loopback, as HTTP Basic is); an
administrator with an admin token (`autoresponder token create --admin`); an account token
signs its owner in too."""

from __future__ import annotations

from autoresponder.web.sessions import Who


class Refused(Exception):
    """A sign-in refused: `key` names the page's message, `status` the HTTP status."""

    def __init__(self, status: int, key: str, retry_after: float = 0):
        super().__init__(key)
        self.status, self.key, self.retry_after = status, key, retry_after


def _refused(e) -> Refused:
    """The page's message for the API's AuthFailed."""
    if e.status == 429:
        return Refused(429, "login_throttled", e.retry_after)
    if e.status == 503:
        return Refused(503, "login_unavailable")
    if e.status == 403:
        return Refused(403, "login_insecure" if "HTTPS" in e.reason else "login_no_account")
    return Refused(401, "bad_login")


class ApiAuth:
    """The pages' view of the API's Authenticator (app[AUTH])."""

    def __init__(self, authenticator):
        self.a = authenticator

    async def password(self, request, login: str, password: str) -> Who:
        from autoresponder.http.auth import AuthFailed

        if not self.a.secure(request):  # the rule HTTP Basic follows
            raise Refused(403, "login_insecure")
        try:
            p = await self.a.check_password(login, password, self.a.client_address(request))
        except AuthFailed as e:
            raise _refused(e) from None
        return Who(p.account, p.admin, p.name, "password")

    async def token(self, request, text: str) -> Who:
        from autoresponder.http.auth import AuthFailed

        try:
            p = await self.a.check_token(text, request)
        except AuthFailed as e:
            if e.status == 429:
                raise _refused(e) from None
            raise Refused(401, "bad_token") from None
        return Who(p.account, p.admin, p.name, "token")
