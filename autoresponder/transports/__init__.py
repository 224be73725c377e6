"""How replies leave: sendmail, SMTP, or a directory of .eml files.

Each transport's ``send(config, mail_from, rcpt, data)`` returns a short detail string, or
raises TempFail (retry later: delivery exits 75 after releasing the ledger claim) or PermFail
(the server refused this reply for good: recorded, never retried in the window).
"""


class TempFail(Exception):
    pass


class PermFail(Exception):
    pass


def send(config, mail_from: str, rcpt: str, data: bytes) -> str:
    kind = config.transport.kind
    if kind == "smtp":
        from autoresponder.transports.smtp import send as impl
    elif kind == "sendmail":
        from autoresponder.transports.sendmail import send as impl
    else:
        from autoresponder.transports.file import send as impl
    return impl(config.transport, mail_from, rcpt, data)
