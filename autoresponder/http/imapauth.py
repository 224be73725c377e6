"""Mailbox owners' passwords, checked by the mail server they already use: an IMAP LOGIN after
STARTTLS (or on an implicit-TLS port). Synchronous (stdlib imaplib), bounded by a timeout;
callers run it in a thread.

Only three answers: the server said yes (True), it said no (False), or it could not be asked
(ImapUnavailable: down, slow, TLS failed). The last is never counted as a wrong password.
The password is never logged, and never sent before TLS is up.
"""

from __future__ import annotations

import imaplib
import ssl


class ImapUnavailable(Exception):
    """The password could not be checked (the server is down, too slow, or TLS failed)."""


def tls_context(verify: bool, ca_file: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file or None)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def check_password(host: str, port: int, security: str, login: str, password: str,
                   timeout: float, verify: bool = True, ca_file: str = "") -> bool:
    """True when the IMAP server accepts login/password."""
    if not login or not password or any(c in login + password for c in "\r\n\0"):
        return False
    ctx = tls_context(verify, ca_file)
    try:
        if security == "imaps":
            conn = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=timeout)
        else:
            conn = imaplib.IMAP4(host, port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as e:
        raise ImapUnavailable(f"{host}:{port}: {e}") from None
    try:
        if security != "imaps":
            try:
                conn.starttls(ssl_context=ctx)
            except (OSError, imaplib.IMAP4.error) as e:
                raise ImapUnavailable(f"{host}:{port}: STARTTLS failed: {e}") from None
        try:
            if (login + password).isascii():
                conn.login(login, password)
            else:  # LOGIN's strings are ASCII in imaplib; AUTHENTICATE PLAIN carries UTF-8
                conn.authenticate("PLAIN", lambda _: f"\0{login}\0{password}".encode())
        except imaplib.IMAP4.abort as e:
            raise ImapUnavailable(f"{host}:{port}: {e}") from None
        except imaplib.IMAP4.error:
            return False
        except OSError as e:
            raise ImapUnavailable(f"{host}:{port}: {e}") from None
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
        return True
    finally:
        try:
            conn.shutdown()
        except Exception:  # noqa: BLE001 - already closed by logout
            pass
