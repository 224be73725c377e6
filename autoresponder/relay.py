"""`deliver --via ADDRESS`: hand one message to a running `serve` over LMTP and exit 0 or 75.

For one-shot callers (Postfix's pipe, Dovecot's Sieve `execute`) that want the warm service's
cost: this module imports nothing beyond ``os``, ``sys`` and ``socket`` (no config parsing on
the path where the service answers), speaks just enough LMTP for one message, and maps the
answer to the exit code an MTA understands: 2xx -> 0, anything else -> 75. When the service
cannot be reached, the copy is deferred (75), or, with ``[deliver] fallback = "in-process"``,
decided in this process as plain `deliver` would.

Also home of ``parse_address``, the one parser of ``unix:PATH`` / ``inet:HOST:PORT`` (used by
the config and by `serve`), because it too must cost nothing to import.
"""

import os
import sys

CONNECT_TIMEOUT = 10.0
# The service bounds one message (serve.message_timeout, 2 min by default); Postfix's pipe
# allows the command 1000 s. Wait for the final answer a little longer than the first.
REPLY_TIMEOUT = 300.0
_LOOPBACK = "127.0.0.1"


class AddressError(ValueError):
    pass


def parse_address(text: str) -> tuple:
    """``unix:PATH`` -> ("unix", PATH); ``inet:HOST:PORT``, ``inet:[V6]:PORT`` or ``inet:PORT``
    (loopback) -> ("inet", HOST, PORT). Raises AddressError with the expected forms."""
    kind, sep, rest = text.partition(":")
    if sep and kind == "unix" and rest:
        return ("unix", rest)
    if sep and kind == "inet" and rest:
        host, port = _LOOPBACK, rest
        if rest.startswith("["):
            host, close, tail = rest[1:].partition("]")
            if not close or not tail.startswith(":"):
                raise AddressError(f"expected inet:[IPV6]:PORT, got {text!r}")
            port = tail[1:]
        elif ":" in rest:
            host, port = rest.rsplit(":", 1)
        if port.isdigit() and 0 < int(port) < 65536 and host:
            return ("inet", host, int(port))
    raise AddressError(f"expected unix:/PATH or inet:HOST:PORT, got {text!r}")


def connect(address: str, timeout: float = CONNECT_TIMEOUT):
    """A connected socket to the service (OSError when it cannot be reached).

    The C module ``_socket``, not ``socket``: the latter builds its IntEnums and imports
    ``selectors`` on import, several milliseconds a one-shot relay would pay per message."""
    import _socket

    parsed = parse_address(address)
    if parsed[0] == "unix":
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        target = parsed[1]
    else:
        family = _socket.AF_INET6 if ":" in parsed[1] else _socket.AF_INET
        s = _socket.socket(family, _socket.SOCK_STREAM)
        target = (parsed[1], parsed[2])
    s.settimeout(timeout)
    try:
        s.connect(target)
    except BaseException:
        s.close()
        raise
    return s


class ProtocolError(Exception):
    pass


class _Conn:
    """Reply lines in, command lines out, over one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > 4096:
                raise ProtocolError("reply line too long")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ProtocolError("the service closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def reply(self) -> "tuple[int, str]":
        """One (possibly multi-line) reply: (code, last line's text)."""
        while True:
            line = self._line()
            code = line[:3]
            if not code.isdigit():
                raise ProtocolError(f"unexpected reply {line[:80]!r}")
            if line[3:4] != b"-":
                return int(code), line[4:].decode("utf-8", "replace").strip()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


def xtext(value: str) -> str:
    """RFC 3461 xtext, for ORCPT."""
    out = []
    for ch in value.encode("utf-8"):
        if 33 <= ch <= 126 and ch not in (43, 61):  # not '+' or '='
            out.append(chr(ch))
        else:
            out.append(f"+{ch:02X}")
    return "".join(out)


def _stream_message(conn: _Conn, stream) -> None:
    """The message as DATA: CRLF line ends, leading dots doubled, sent in large writes."""
    out = bytearray()
    at_start = True
    while True:
        line = stream.readline(65536)
        if not line:
            break
        whole = line.endswith(b"\n")
        if whole:
            line = line[:-2] + b"\r\n" if line.endswith(b"\r\n") else line[:-1] + b"\r\n"
        if at_start and line.startswith(b"."):
            out += b"."
        out += line
        at_start = whole
        if len(out) >= 65536:
            conn.send(bytes(out))
            out.clear()
    if not at_start:
        out += b"\r\n"
    out += b".\r\n"
    conn.send(bytes(out))


def relay(sock, sender: str, recipient: str, original: str, stream) -> "tuple[int, str]":
    """Send one message over a connected socket (closed here); returns (LMTP code of the
    recipient's answer, its text). Raises ProtocolError or OSError (e.g. a timeout)."""
    try:
        conn = _Conn(sock)
        code, text = conn.reply()
        if code != 220:
            return code, f"greeting: {text}"
        sock.settimeout(REPLY_TIMEOUT)
        utf8 = not (sender + recipient + original).isascii()
        mail = f"MAIL FROM:<{sender}>" + (" SMTPUTF8" if utf8 else "")
        rcpt = f"RCPT TO:<{recipient}>"
        if original and original != recipient:
            rcpt += " ORCPT=" + ("utf-8;" if utf8 else "rfc822;") + xtext(original)
        # LMTP servers pipeline (RFC 2033): one write, then the four answers in order.
        conn.send(f"LHLO {_hostname()}\r\n{mail}\r\n{rcpt}\r\nDATA\r\n".encode(
            "utf-8", "surrogateescape"))
        answers = [conn.reply() for _ in range(4)]
        for (code, text), what in zip(answers[:3], ("LHLO", "MAIL", "RCPT")):
            if code // 100 != 2:
                return code, f"{what}: {text}"
        if answers[3][0] != 354:
            return answers[3][0], f"DATA: {answers[3][1]}"
        _stream_message(conn, stream)
        code, text = conn.reply()
        try:
            conn.send(b"QUIT\r\n")
        except OSError:
            pass
        return code, text
    finally:
        sock.close()


def _hostname() -> str:
    try:
        return os.uname().nodename or "localhost"
    except (AttributeError, OSError):
        return "localhost"


def split_via(argv: "list[str]") -> "tuple[str | None, list[str]]":
    """Take ``--via ADDRESS`` / ``--via=ADDRESS`` off deliver's argv."""
    via = None
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i:])
            break
        if a == "--via":
            via = argv[i + 1] if i + 1 < len(argv) else ""
            i += 2
            continue
        if a.startswith("--via="):
            via = a[6:]
        else:
            rest.append(a)
        i += 1
    return via, rest


_FLAGS = {"--sender": 0, "-f": 0, "--recipient": 1, "-r": 1, "--original-recipient": 2,
          "-o": 2}


def envelope_args(argv: "list[str]") -> "list[str] | None":
    """[sender, recipient, original] from deliver's flags, else the SENDER / RECIPIENT /
    ORIG_RECIPIENT variables (Pigeonhole's); None when the arguments make no sense (the
    in-process path then reports them as deliver does)."""
    got: "list[str | None]" = [None, None, None]
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition("=")
        if a == "--":
            positional.extend(argv[i + 1:])
            break
        if eq and name in _FLAGS and name.startswith("--"):
            got[_FLAGS[name]] = value
        elif a in _FLAGS:
            if i + 1 >= len(argv):
                return None
            got[_FLAGS[a]] = argv[i + 1]
            i += 1
        elif a.startswith("-") and a != "-":
            return None
        else:
            positional.append(a)
        i += 1
    if positional:
        if len(positional) > 1 or got[1] is not None:
            return None
        got[1] = positional[0]
    env = os.environ
    for idx, var in enumerate(("SENDER", "RECIPIENT", "ORIG_RECIPIENT")):
        if got[idx] is None:
            got[idx] = env.get(var, "")
    return [g or "" for g in got]


def _exit():
    from autoresponder.outcomes import Exit  # spelled there only; imports nothing itself

    return Exit


def _say(text: str) -> None:
    """stderr, never starting with a status code (Postfix would take it as the DSN)."""
    try:
        sys.stderr.write(f"autoresponder: {text}\n")
        sys.stderr.flush()
    except OSError:
        pass


def _drain(stream) -> None:
    try:
        while stream.read(65536):
            pass
    except (OSError, ValueError):
        pass


def main(via: str, argv: "list[str]", config_path: "str | None", stream=None) -> "int | None":
    """Relay stdin to the service at `via`: 0 or 75. None means "deliver in-process instead"
    (service unreachable and the config says so, or arguments deliver must report)."""
    if stream is None:
        stream = sys.stdin.buffer
    env = envelope_args(argv)
    if env is None:
        return None
    try:
        parse_address(via)
    except AddressError as e:
        _drain(stream)
        _say(f"deliver --via: {e}; message deferred")
        return _exit().TEMPFAIL
    try:
        sock = connect(via)
    except OSError as e:  # nothing was read from stdin yet: in-process is still possible
        return _unreachable(via, e, config_path, stream)
    try:
        code, text = relay(sock, env[0], env[1], env[2], stream)
    except (OSError, ProtocolError) as e:
        _drain(stream)
        _say(f"relay to {via} failed: {e.__class__.__name__}: {e}; message deferred")
        return _exit().TEMPFAIL
    if code // 100 == 2:
        return _exit().OK
    _drain(stream)
    _say(f"the service at {via} answered {code} {text[:200]}; message deferred")
    return _exit().TEMPFAIL


def _unreachable(via: str, error: Exception, config_path: "str | None", stream) -> "int | None":
    if _fallback_in_process(config_path):
        _say(f"service at {via} unreachable ({error.__class__.__name__}); deciding in-process")
        return None
    _drain(stream)
    _say(f"service at {via} unreachable ({error.__class__.__name__}: {error}); message deferred")
    return _exit().TEMPFAIL


def _fallback_in_process(config_path: "str | None") -> bool:
    """Only now is the config read: the path where the service answers never pays for it."""
    from autoresponder import config as config_mod

    try:
        return config_mod.load(config_path).deliver.fallback == "in-process"
    except config_mod.ConfigError:
        return False


def maybe_relay(argv: "list[str]", config_path: "str | None") -> "tuple[int | None, list[str]]":
    """deliver's first step, before any config is read: with ``--via ADDRESS``, relay
    (exit code, argv); else (None, argv without --via): deliver goes on, and after loading
    its config relays if ``[deliver] via`` is set (see `from_config`)."""
    via, rest = split_via(argv)
    if via is None:
        return None, rest
    return main(via, rest, config_path), rest


def from_config(config, argv: "list[str]", config_path: "str | None") -> "int | None":
    """deliver's hook once its config is loaded: relay when ``[deliver] via`` is set."""
    via = config.deliver.via
    if not via:
        return None
    return main(via, argv, config_path)
