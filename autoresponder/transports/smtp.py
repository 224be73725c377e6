"""Send the reply over SMTP (a local MTA, or a submission server with STARTTLS and AUTH)."""

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


def send(t, mail_from: str, rcpt: str, data: bytes) -> str:
    cls = smtplib.SMTP_SSL if t.ssl else smtplib.SMTP
    try:
        with cls(t.host, t.port, timeout=t.timeout) as s:
            s.ehlo_or_helo_if_needed()
            if t.starttls and not t.ssl:
                s.starttls()
                s.ehlo()
            if t.username:
                s.login(t.username, _password(t))
            rcpt_options = []
            if t.dsn_notify_never and s.has_extn("dsn"):
                rcpt_options.append("NOTIFY=NEVER")  # RFC 3834 §3.3: no DSNs about a reply
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
            return f"sent via {t.host}:{t.port}"
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = e.recipients.get(rcpt, (451, b"refused"))
        _raise(code, msg)
    except smtplib.SMTPResponseException as e:
        _raise(e.smtp_code, e.smtp_error)
    except (smtplib.SMTPException, OSError, socket.timeout) as e:
        raise TempFail(f"SMTP {t.host}:{t.port}: {e.__class__.__name__}: {e}") from None
    raise AssertionError("unreachable")


def _raise(code: int, msg) -> None:
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    why = f"SMTP {code} {text.strip()[:200]}"
    if 500 <= code < 600:
        raise PermFail(why)
    raise TempFail(why)
