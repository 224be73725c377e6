"""Send the reply over SMTP (a local MTA, or a submission server with STARTTLS and AUTH).

Failure classes: a refused connection, a timeout or a 4xx is temporary (retry); a 5xx to the
recipient or the data is permanent for this reply (recorded, not retried in the window); a
refused login or MAIL FROM is our configuration's fault, not the reply's, so it is temporary:
the MTA keeps the message until the admin fixes it (or transport.give_up_after passes).
"""

import smtplib
import socket

from autoresponder.transports import PermFail, TempFail


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


def _transaction(s, mail_from: str, rcpt: str, data: bytes, dsn: bool) -> None:
    rcpt_options = ["NOTIFY=NEVER"] if dsn and s.has_extn("dsn") else []  # RFC 3834 §3.3
    try:
        refused = s.sendmail(mail_from, [rcpt], data, rcpt_options=rcpt_options)
    except smtplib.SMTPRecipientsRefused as e:
        code = e.recipients.get(rcpt, (0, b""))[0]
        if not rcpt_options or code not in (501, 504, 555):
            raise
        s.rset()  # a server that offers DSN but chokes on NOTIFY: send without it
        refused = s.sendmail(mail_from, [rcpt], data)
    if refused:
        code, msg = refused[rcpt]
        _raise(code, msg)


def send(t, mail_from: str, rcpt: str, data: bytes) -> str:
    try:
        # EHLO with the host name as configured: smtplib's default, socket.getfqdn(), may wait
        # on DNS, in every delivery.
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
            _transaction(s, mail_from, rcpt, data, t.dsn_notify_never)
        except BaseException:
            s.close()
            raise
        # The server took the reply (250 to DATA): whatever QUIT answers, it was sent. A
        # failure here must never turn into a retry, which would send it again.
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()
        return f"sent via {t.host}:{t.port}"
    except smtplib.SMTPAuthenticationError as e:
        raise TempFail(f"SMTP AUTH refused ({e.smtp_code} {_text(e.smtp_error)[:150]}): "
                       f"check transport.username and the password") from None
    except smtplib.SMTPSenderRefused as e:
        raise TempFail(f"SMTP MAIL FROM refused ({e.smtp_code} {_text(e.smtp_error)[:150]}): "
                       f"see envelope_sender") from None
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = e.recipients.get(rcpt, (451, b"refused"))
        _raise(code, msg)
    except smtplib.SMTPResponseException as e:
        _raise(e.smtp_code, e.smtp_error)
    except (smtplib.SMTPException, OSError, socket.timeout) as e:
        raise TempFail(f"SMTP {t.host}:{t.port}: {e.__class__.__name__}: {e}") from None
    except (UnicodeEncodeError, ValueError) as e:  # e.g. a non-ASCII (SMTPUTF8) address
        raise PermFail(f"SMTP cannot carry this reply: {e.__class__.__name__}: {e}") from None
    raise AssertionError("unreachable")


def _raise(code: int, msg) -> None:
    why = f"SMTP {code} {_text(msg).strip()[:200]}"
    if 500 <= code < 600:
        raise PermFail(why)
    raise TempFail(why)
