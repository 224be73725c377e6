"""A raw LMTP client for tests: every reply line as the server sent it, per-recipient answers
after DATA, and no repair of whatever odd input a test wants to send."""

from __future__ import annotations

import socket
from dataclasses import dataclass


class Closed(Exception):
    """The server closed the connection; `.lines` holds what it said before."""

    def __init__(self, lines):
        super().__init__(f"connection closed after {lines!r}")
        self.lines = lines


@dataclass
class Reply:
    code: int
    lines: "list[str]"

    @property
    def text(self) -> str:
        return " | ".join(self.lines)


def connect(address: tuple, timeout: float = 15.0) -> "Client":
    kind = address[0]
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = address[1]
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (address[1], address[2])
    s.settimeout(timeout)
    s.connect(target)
    return Client(s)


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.seen: "list[int]" = []   # every reply code received, for never-5xx checks

    def reply(self) -> Reply:
        lines = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                raise Closed(lines)
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if text[3:4] != "-":
                code = int(text[:3])
                self.seen.append(code)
                return Reply(code, lines)

    def cmd(self, line: "str | bytes") -> Reply:
        if isinstance(line, str):
            line = line.encode("utf-8", "surrogateescape")
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def send_data(self, data: bytes, rcpt_count: int) -> "list[Reply]":
        """DATA already answered 354: the dot-stuffed message and one reply per recipient."""
        body = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if body and not body.endswith(b"\r\n"):
            body += b"\r\n"
        stuffed = b"".join((b"." + ln if ln.startswith(b".") else ln)
                           for ln in body.splitlines(keepends=True))
        self.sock.sendall(stuffed + b".\r\n")
        return [self.reply() for _ in range(rcpt_count)]

    def deliver(self, sender: str, rcpts: "list[str]", data: bytes) -> "list[Reply]":
        """One whole transaction; answers per recipient (a non-250 RCPT gets no DATA answer)."""
        self.cmd("LHLO client.test")
        self.cmd(f"MAIL FROM:<{sender}>")
        ok = []
        answers: "list[Reply | None]" = []
        for r in rcpts:
            a = self.cmd(f"RCPT TO:<{r}>")
            answers.append(None if a.code == 250 else a)
            if a.code == 250:
                ok.append(r)
        if not ok:
            return [a for a in answers if a is not None]
        d = self.cmd("DATA")
        if d.code != 354:
            return [d]
        got = iter(self.send_data(data, len(ok)))
        return [a if a is not None else next(got) for a in answers]

    def quit(self) -> None:
        try:
            self.cmd("QUIT")
        except (Closed, OSError):
            pass
        self.close()

    def close(self) -> None:
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


def deliver(address: tuple, sender: str, rcpts: "list[str] | str", data: bytes,
            timeout: float = 30.0) -> "list[Reply]":
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    c = connect(address, timeout)
    try:
        greeting = c.reply()
        assert greeting.code == 220, greeting
        return c.deliver(sender, rcpts, data)
    finally:
        c.quit()
