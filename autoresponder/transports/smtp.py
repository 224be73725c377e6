"""Send replies over SMTP (a local MTA, or a submission server with STARTTLS and AUTH).

The agent writes ``MAIL FROM:<...>`` and ``RCPT TO:<...>`` itself from the canonical,
validated mailboxes (smtplib's ``sendmail()``/``mail()``/``rcpt()`` re-parse addresses with
``email.utils.parseaddr``, which drops comments and so changes who gets the reply).

One transport carries any number of replies over one connection: RSET before each
transaction after the first, a connection idle longer than ``idle_limit`` is replaced, and a
kept connection found dropped (closed, reset, 421) before DATA is reconnected once. After
DATA has been sent the reply is never sent again from here: if the answer to the dot is lost
the outcome is a temporary failure, as any SMTP client's.

Failure classes: a refused connection, a timeout or a 4xx is temporary (retry); a 5xx to the
recipient or the data is permanent for this reply (recorded, not retried in the window); a
refused login or MAIL FROM is our configuration's fault, not the reply's, so it is temporary:
the MTA keeps the message until the admin fixes it (or transport.give_up_after passes). A
non-ASCII address needs a server that offers SMTPUTF8, else it is permanent for this reply.
"""

import socket
import time

from autoresponder.transports import PermFail, TempFail, Transport, envelope_addresses


class _Dropped(Exception):
    """The connection went away before DATA: nothing of this reply was taken."""


class SMTPTransport(Transport):
    idle_limit = 30.0  # seconds; servers drop idle clients after 60-300 s, and RSET would wait

    def __init__(self, t):
        import threading

        self.t = t
        self._s = None            # smtplib.SMTP while connected
        self._used = False        # a transaction began on this connection: RSET first
        self._idle_since = 0.0
        self._lock = threading.Lock()  # one transaction at a time on the one connection

    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        import smtplib

        mail_from, rcpt = envelope_addresses(mail_from, rcpt)
        t = self.t
        with self._lock:
            retried = False
            while True:
                if self._s is not None and time.monotonic() - self._idle_since > self.idle_limit:
                    self._drop()
                kept = self._s is not None
                try:
                    self._transaction(mail_from, rcpt, data)
                    return f"sent via {t.host}:{t.port}"
                except _Dropped as e:
                    self._drop()
                    if kept and not retried:
                        retried = True
                        continue
                    raise TempFail(f"SMTP {t.host}:{t.port}: {e}") from None
                except (TempFail, PermFail):
                    raise
                except smtplib.SMTPAuthenticationError as e:
                    self._drop()
                    raise TempFail(f"SMTP AUTH refused ({e.smtp_code} "
                                   f"{_text(e.smtp_error)[:150]}): check transport.username "
                                   f"and the password") from None
                except smtplib.SMTPResponseException as e:  # greeting, EHLO, STARTTLS
                    self._drop()
                    _raise(e.smtp_code, e.smtp_error, temporary=True)
                except (smtplib.SMTPException, OSError) as e:  # also ssl.SSLError, timeouts
                    self._drop()
                    raise TempFail(f"SMTP {t.host}:{t.port}: {e.__class__.__name__}: "
                                   f"{e}") from None
                finally:
                    self._idle_since = time.monotonic()

    def close(self) -> None:
        import smtplib

        s, self._s = self._s, None
        if s is None:
            return
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()

    # --- one transaction ------------------------------------------------------------------

    def _transaction(self, mail_from: str, rcpt: str, data: bytes) -> None:
        import smtplib

        t = self.t
        s = self._s
        try:
            if s is None:
                s = self._connect()
            elif self._used:
                code, msg = s.docmd("RSET")
                if code != 250:
                    raise _Dropped(f"RSET answered {code} {_text(msg)[:100]}")
            self._used = True
            utf8 = not (mail_from.isascii() and rcpt.isascii())
            mail_options = []
            if utf8:
                if not s.has_extn("smtputf8"):
                    raise PermFail(f"the address {rcpt if not rcpt.isascii() else mail_from} "
                                   f"needs SMTPUTF8, which {t.host}:{t.port} does not offer")
                mail_options = ["SMTPUTF8"] + (["BODY=8BITMIME"] if s.has_extn("8bitmime")
                                               else [])
            rcpt_options = ["NOTIFY=NEVER"] if t.dsn_notify_never and s.has_extn("dsn") \
                else []  # RFC 3834 §3.3
            s.command_encoding = "utf-8" if utf8 else "ascii"
            self._mail(s, mail_from, mail_options)
            code, msg = self._rcpt(s, rcpt, rcpt_options)
            if rcpt_options and code in (501, 504, 555):
                # a server that offers DSN but chokes on NOTIFY: send without it
                self._reply(s.docmd("RSET"), "RSET")
                self._mail(s, mail_from, mail_options)
                code, msg = self._rcpt(s, rcpt, [])
            if code not in (250, 251):
                _raise(code, msg)
            code, msg = s.docmd("DATA")
            if code != 354:
                self._reply((code, msg), "DATA")
                _raise(code, msg)
        except smtplib.SMTPServerDisconnected as e:
            raise _Dropped(f"{e.__class__.__name__}: {e}") from None
        except smtplib.SMTPException:  # (an OSError too) refused login, STARTTLS, greeting
            raise
        except OSError as e:  # reset, broken pipe, timeout, refused connection
            raise _Dropped(f"{e.__class__.__name__}: {e}") from None
        # The message goes out now: from here on a lost connection is never retried here.
        try:
            s.send(_dot_stuffed(data))
            code, msg = s.getreply()
        except OSError as e:  # smtplib's SMTPServerDisconnected is one too
            self._drop()
            raise TempFail(f"SMTP {t.host}:{t.port}: the connection was lost during DATA "
                           f"({e.__class__.__name__}: {e})") from None
        if code != 250:
            if code == 421:
                self._drop()
            _raise(code, msg)

    def _mail(self, s, mail_from: str, options: "list[str]") -> None:
        code, msg = self._reply(s.docmd("MAIL", f"FROM:<{mail_from}>" + _opts(options)), "MAIL")
        if code != 250:
            raise TempFail(f"SMTP MAIL FROM refused ({code} {_text(msg).strip()[:150]}): "
                           f"see envelope_sender")

    def _rcpt(self, s, rcpt: str, options: "list[str]"):
        return self._reply(s.docmd("RCPT", f"TO:<{rcpt}>" + _opts(options)), "RCPT")

    def _reply(self, reply, command: str):
        """A 421 means the server is closing the connection: it never took this reply."""
        code, msg = reply
        if code == 421:
            raise _Dropped(f"{command} answered 421 {_text(msg).strip()[:150]}")
        return code, msg

    def _connect(self):
        import smtplib

        t = self.t
        # EHLO with the host name as configured: smtplib's default, socket.getfqdn(), may
        # wait on DNS, in every delivery.
        helo = t.helo or socket.gethostname() or "localhost"
        if t.ssl:
            s = smtplib.SMTP_SSL(t.host, t.port, local_hostname=helo, timeout=t.timeout,
                                 context=_tls_context(t))
        else:
            s = smtplib.SMTP(t.host, t.port, local_hostname=helo, timeout=t.timeout)
        try:
            s.ehlo_or_helo_if_needed()
            if t.starttls and not t.ssl:
                s.starttls(context=_tls_context(t))
                s.ehlo()
            if t.username:
                s.login(t.username, _password(t))
        except BaseException:
            s.close()
            raise
        self._s, self._used = s, False
        return s

    def _drop(self) -> None:
        s, self._s = self._s, None
        if s is not None:
            s.close()


def _opts(options: "list[str]") -> str:
    return "".join(" " + o for o in options)


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends only (a bare CR or LF could end the
    data early on a lax server), leading dots doubled, and the final ``.`` line."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _password(t) -> str:
    if t.password_file:
        try:
            with open(t.password_file, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as e:
            raise TempFail(f"cannot read transport.password_file: {e.strerror}") from None
    return t.password


def _tls_context(t):
    import ssl

    if not t.tls_verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=t.ca_file or None)


def _text(msg) -> str:
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


def _raise(code: int, msg, temporary: bool = False) -> None:
    why = f"SMTP {code} {_text(msg).strip()[:200]}"
    if 500 <= code < 600 and not temporary:
        raise PermFail(why)
    raise TempFail(why)
