"""One log line per message: account, sender, message-id, decision, rule, reason.

Targets: syslog (facility ``mail`` by default, like every MTA component), stderr, a file, or
nothing. Lines are ``key=value`` pairs with quoted values, easy to grep and to parse.
"""

import os
import sys
import time


def _quote(value) -> str:
    s = "" if value is None else str(value)
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
    return f'"{s}"' if (not s or " " in s or "=" in s or '"' in s or "\\" in s) else s


def format_fields(fields: dict) -> str:
    return " ".join(f"{k}={_quote(v)}" for k, v in fields.items())


class Log:
    def __init__(self, config):
        self.target = config.log.target
        self.path = config.log.path
        self.facility = config.log.facility

    def write(self, fields: dict, level: str = "info") -> None:
        line = format_fields(fields)
        try:
            if self.target == "syslog":
                import syslog

                fac = getattr(syslog, "LOG_" + self.facility.upper())
                syslog.openlog("autoresponder", syslog.LOG_PID, fac)
                pri = {"info": syslog.LOG_INFO, "warning": syslog.LOG_WARNING,
                       "error": syslog.LOG_ERR}.get(level, syslog.LOG_INFO)
                syslog.syslog(pri, line)
            elif self.target == "stderr":
                sys.stderr.write(f"autoresponder[{os.getpid()}]: {line}\n")
                sys.stderr.flush()
            elif self.target == "file":
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                data = f"{stamp} autoresponder[{os.getpid()}]: {line}\n".encode(
                    "utf-8", "backslashreplace")
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, data)  # one write(2) with O_APPEND: lines never interleave
                finally:
                    os.close(fd)
        except OSError as e:  # logging must never cost a delivery
            try:
                sys.stderr.write(f"autoresponder: cannot write the log ({e}); {line}\n")
            except OSError:
                pass


def stderr_line(text: str) -> None:
    """For errors before the config is known. Never starts with a status code such as 5.7.1
    (Postfix would take it as the delivery status)."""
    try:
        sys.stderr.write(f"autoresponder: {text}\n")
        sys.stderr.flush()
    except OSError:
        pass
