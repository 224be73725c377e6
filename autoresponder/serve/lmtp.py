"""The LMTP session: aiosmtpd's `LMTP` protocol, made lenient and unable to say 5xx.

Postfix's lmtp client turns every 5xx into a bounce of the copy (LHLO, MAIL, RCPT and DATA
5xx bounce the whole message or that recipient; see contrib/postfix/README.md), and a bounce
of a copy made for the auto-responder is backscatter. So:

- MAIL and RCPT take whatever is between the angle brackets (the delivery line judges the
  address, a bad one is a skip), with any ESMTP parameters (DSN's ORCPT gives the original
  recipient); nothing about an address is refused.
- DATA is read here, not by aiosmtpd: lines of any length, any size, kept only up to what
  the rules read (message.HEADER_LIMIT + BODY_PREFIX), the rest counted and dropped, so there
  is no 552 and no "line too long"; then one answer per recipient (RFC 2033).
- Whatever 5xx aiosmtpd would still send for a protocol error (unknown command, bad syntax,
  command line too long) is rewritten to 4xx in `push`: a confused client retries, no copy is
  ever bounced.
- Bounds: idle timeout per command (421), a deadline for one message's transfer, a session
  cap per process (421 at connect), and 421 to everything once draining.
"""

from __future__ import annotations

import time

from aiosmtpd.lmtp import LMTP

from autoresponder.message import BODY_PREFIX, HEADER_LIMIT

KEEP = HEADER_LIMIT + BODY_PREFIX + 16  # read_message() of this prefix sees what it would see
RAW_KEEP = KEEP + 8192  # before unstuffing: a dot more per line that started with one
TERMINATOR = b"\r\n.\r\n"
MAX_RECIPIENTS = 1000  # per transaction; more get 452 and come in the next one (RFC 5321)
COMMAND_LIMIT = 8192


def _never_5xx(status: str) -> str:
    if status[:1] == "5":
        text = status[4:] if len(status) > 4 else "error"
        if text[:2] == "5." and text[2:3].isdigit():
            text = "4" + text[1:]
        else:
            text = "4.5.0 " + text
        return "451 " + text
    return status


class Session(LMTP):
    """One client connection. `service` provides `process(...)`, the limits and the state."""

    line_length_limit = COMMAND_LIMIT  # the StreamReader's limit; DATA has its own loop
    command_size_limit = COMMAND_LIMIT

    def __init__(self, service, **kw):
        self.service = service
        self.busy = False       # between the end of DATA and the last answer
        self.receiving = False  # inside DATA
        self._refused = False
        super().__init__(service, enable_SMTPUTF8=True, decode_data=False,
                         data_size_limit=None, hostname=service.hostname,
                         ident="autoresponder LMTP", timeout=service.limits.idle_timeout,
                         **kw)
        self.command_size_limits.clear()
        self.command_size_limits.default_factory = lambda: COMMAND_LIMIT
        for name, method in list(self._smtp_methods.items()):
            self._smtp_methods[name] = self._guarded(method)

    # --- connection --------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        if not self.service.admit(self):
            self._refused = True
            self.transport = transport
            transport.write(b"421 4.3.2 too many sessions or shutting down, try again later\r\n")
            transport.close()
            return
        super().connection_made(transport)

    def connection_lost(self, error) -> None:
        if self._refused:
            return
        self.service.release(self)
        super().connection_lost(error)

    def eof_received(self):
        if self._refused:
            return False
        return super().eof_received()

    def _timeout_cb(self) -> None:
        if self.busy:  # deciding: the message bound, not the idle one, applies
            self._reset_timeout()
            return
        if self.transport is not None:
            self.transport.write(b"421 4.4.2 idle timeout, closing\r\n")
        super()._timeout_cb()

    async def push(self, status) -> None:
        if isinstance(status, bytes):
            status = status.decode("utf-8", "replace")
        await super().push(_never_5xx(status))

    async def close_with_421(self, text: str = "4.3.2 service shutting down") -> None:
        if self.transport is None:
            return
        try:
            await super().push("421 " + text)
        except (ConnectionError, RuntimeError):
            pass
        if self.transport is not None:
            self.transport.close()

    def _guarded(self, method):
        async def guarded(arg):
            if self.service.draining and method.__name__ != "smtp_QUIT":
                await self.close_with_421()
                return
            await method(arg)
        guarded.__name__ = method.__name__
        return guarded

    # --- commands -----------------------------------------------------------------------------
    async def smtp_LHLO(self, arg) -> None:
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = (arg or "unknown").strip() or "unknown"
        for line in (f"250-{self.hostname}", "250-PIPELINING", "250-ENHANCEDSTATUSCODES",
                     "250-8BITMIME", "250 SMTPUTF8"):
            await self.push(line)

    async def smtp_MAIL(self, arg) -> None:
        if await self.check_helo_needed("LHLO"):
            return
        address, params = _address_and_params(arg, "FROM:")
        if address is None:
            await self.push("451 4.5.2 syntax: MAIL FROM:<address>")
            return
        if self.envelope.mail_from is not None:
            await self.push("451 4.5.1 nested MAIL command")
            return
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(params)
        await self.push("250 2.1.0 OK")

    async def smtp_RCPT(self, arg) -> None:
        if await self.check_helo_needed("LHLO"):
            return
        if self.envelope.mail_from is None:
            await self.push("451 4.5.1 need MAIL first")
            return
        address, params = _address_and_params(arg, "TO:")
        if address is None:
            await self.push("451 4.5.2 syntax: RCPT TO:<address>")
            return
        if len(self.envelope.rcpt_tos) >= MAX_RECIPIENTS:
            await self.push("452 4.5.3 too many recipients in one transaction")
            return
        orcpt = ""
        for p in params:
            if p[:6].upper() == "ORCPT=":
                orcpt = _decode_orcpt(p[6:])
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_options.append(orcpt)  # here: the original recipient, one per RCPT
        await self.push("250 2.1.5 OK")

    async def smtp_DATA(self, arg) -> None:
        if await self.check_helo_needed("LHLO"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("451 4.5.1 need RCPT first")
            return
        await self.push("354 2.0.0 end data with <CR><LF>.<CR><LF>")
        self.receiving = True
        try:
            got = await self._read_data()
        finally:
            self.receiving = False
        if got is None:
            return
        kept, size = got
        envelope = self.envelope
        self.busy = True
        try:
            answers = await self.service.deliver(envelope.mail_from, list(envelope.rcpt_tos),
                                                 list(envelope.rcpt_options), kept, size)
            self._set_post_data_state()
            for code, text in answers:
                await self.push(f"{code} {text}")
        finally:
            self.busy = False
            self._reset_timeout()

    async def _read_data(self) -> "tuple[bytes, int] | None":
        """Read up to the lone dot; keep a bounded prefix (dots unstuffed), count the rest.
        None when the client went away or took longer than the data deadline (421 sent).

        Read in large chunks, the end found by searching for CRLF.CRLF (not line by line:
        a 5 KB newsletter is a hundred lines, and a Python loop per line was a fifth of the
        service's time). Bytes a client pipelined after the dot go back to the reader."""
        reader = self._reader
        raw = bytearray()           # the stuffed message, up to RAW_KEEP bytes
        consumed = 0                # raw bytes read so far (not counting `carry`)
        carry = b"\r\n"             # the CRLF that ended DATA: ".\r\n" at once is empty
        loop_time = time.monotonic
        deadline = loop_time() + self.service.limits.data_timeout
        next_reset = loop_time() + 1.0
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return None
            buf = carry + chunk
            end = buf.find(TERMINATOR)
            if end != -1:
                stop = consumed - len(carry) + end + 2  # raw length of the message
                leftover = buf[end + len(TERMINATOR):]
                if leftover:
                    reader._buffer[0:0] = leftover  # aiosmtpd too reaches into _buffer
                if len(raw) < RAW_KEEP:
                    raw += chunk[:RAW_KEEP - len(raw)]
                del raw[max(stop, 0):]
                return _unstuff(bytes(raw))[:KEEP], max(stop, 0)
            if len(raw) < RAW_KEEP:
                raw += chunk[:RAW_KEEP - len(raw)]
            consumed += len(chunk)
            carry = buf[-4:]
            now = loop_time()
            if now > next_reset:
                self._reset_timeout()
                next_reset = now + 1.0
            if now > deadline:
                await self.close_with_421("4.4.2 message took too long to arrive")
                return None


def _unstuff(raw: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with a dot had one more prepended."""
    if raw.startswith(b"."):
        raw = raw[1:]
    return raw.replace(b"\r\n..", b"\r\n.") if b"\r\n.." in raw else raw


def _address_and_params(arg, keyword: str) -> "tuple[str | None, list[str]]":
    """Lenient MAIL/RCPT parsing: the text inside <...> (or the first word) and the words
    after it. None only when the keyword itself is missing."""
    if not arg or arg[:len(keyword)].upper() != keyword:
        return None, []
    rest = arg[len(keyword):].strip()
    if rest.startswith("<"):
        end = rest.rfind(">")
        if end == -1:
            return rest[1:].strip(), []
        # parameters never contain '>', so the last one closes the path
        address, tail = rest[1:end], rest[end + 1:]
    else:
        address, _, tail = rest.partition(" ")
    if address.startswith("@") and ":" in address:  # an obsolete source route: @a,@b:user@c
        address = address.split(":", 1)[1]
    return address.strip(), tail.split()


def _decode_orcpt(value: str) -> str:
    """ORCPT=rfc822;xtext (RFC 3461) or utf-8;... -> the address."""
    _, _, addr = value.partition(";")
    out = []
    i = 0
    while i < len(addr):
        ch = addr[i]
        if ch == "+" and _is_hex(addr[i + 1:i + 3]):
            out.append(chr(int(addr[i + 1:i + 3], 16)))
            i += 3
            continue
        if ch == "\\" and addr[i + 1:i + 3] == "x{":  # utf-8-addr-xtext
            end = addr.find("}", i)
            if end != -1 and _is_hex(addr[i + 3:end]):
                out.append(chr(int(addr[i + 3:end], 16)))
                i = end + 1
                continue
        out.append(ch)
        i += 1
    text = "".join(out)
    try:
        text = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return text


def _is_hex(s: str) -> bool:
    return bool(s) and all(c in "0123456789abcdefABCDEF" for c in s)
