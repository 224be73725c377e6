"""One log line per message: account, sender, message-id, decision, rule, reason.

Targets: syslog (facility ``mail`` by default, like every MTA component), stderr, a file, or
nothing. Lines are ``key=value`` pairs with quoted values, easy to grep and to parse.
"""

import os
import sys
import time


# Characters that must never reach a terminal, a log file or syslog raw: the C0 controls,
# DEL, the C1 controls (U+0080-U+009F: CSI, OSC ... in 8-bit form), the Unicode line and
# paragraph separators, and the bidirectional controls, which reorder what a reader sees
# (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069).
_CONTROLS = ([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F,
              0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_TEXT_TABLE: "dict[int, str] | None" = None
_JSON_TABLE: "dict[int, str] | None" = None


def escape_controls(text: str) -> str:
    """Text with every control character written as an escape (``\\x1b``, ``\\u202e``,
    ``\\n``), so a header value can neither drive the terminal of an admin reading a log or
    ``explain`` nor reorder or split what they see. Everything else is left as it is."""
    global _TEXT_TABLE
    if text.isascii() and text.isprintable():  # the usual case, no table needed
        return text
    if _TEXT_TABLE is None:
        _TEXT_TABLE = {c: _SHORT.get(c) or (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")
                       for c in _CONTROLS}
    return text.translate(_TEXT_TABLE)


def escape_json_controls(text: str) -> str:
    """A JSON document with the controls ``json.dumps(ensure_ascii=False)`` leaves raw (DEL,
    C1, separators, bidi controls) written as ``\\uXXXX``: the same JSON value, safe to print.
    Valid only for JSON text, where such characters can occur only inside strings."""
    global _JSON_TABLE
    if text.isascii() and text.isprintable():
        return text
    if _JSON_TABLE is None:
        _JSON_TABLE = {c: f"\\u{c:04x}" for c in _CONTROLS if c >= 0x7F}
    return text.translate(_JSON_TABLE)


def _quote(value) -> str:
    s = "" if value is None else str(value)
    s = escape_controls(s.replace("\\", "\\\\").replace('"', '\\"'))
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
        sys.stderr.write(f"autoresponder: {escape_controls(text)}\n")
        sys.stderr.flush()
    except OSError:
        pass
