"""Reading the incoming message: the raw header block, a bounded body prefix, and drain.

The skip rules only need header fields, so they work on the raw header block, scanned with
bytes operations: no ``email`` package, no ``re``. The ``email`` package is loaded only by the
paths that need a real MIME tree (the bounce scan, building a reply).

Bounds (README, "Bad input"): at most ``HEADER_LIMIT`` bytes of header block and
``BODY_PREFIX`` bytes of body are kept; the rest of stdin is read and discarded so the MTA
never sees a broken pipe, whatever the size.

Reading has a deadline (``read_timeout`` in the config, ``READ_TIMEOUT`` by default): a writer
that never closes stdin would otherwise hold the process, and the MTA's delivery slot, until
the MTA's own limit kills it. Past the deadline the reader raises ``ReadTimeout``, which
delivery turns into a deferral (75): the MTA retries the whole message later.
"""

import sys

HEADER_LIMIT = 256 * 1024
BODY_PREFIX = 64 * 1024
READ_TIMEOUT = 600  # seconds; longer than any sane MTA hand-off, shorter than Postfix's 1000 s
_CHUNK = 65536


class ReadTimeout(Exception):
    """The input did not end before the read deadline: defer, never decide on half a message."""

    def __init__(self, timeout: float, size: int):
        super().__init__(f"stdin did not reach its end within the read deadline ({timeout:g} s, "
                         f"read_timeout) after {size} bytes; the message is deferred")
        self.timeout, self.size = timeout, size


def _deadline_reader(stream, timeout: "float | None"):
    """``read(n)`` on stream that waits at most until the deadline, in total, for each chunk.

    On a stream with a file descriptor (stdin from an MTA: a pipe, a socket or a file) the
    descriptor is polled with the time left and read with one ``read1`` (one system call:
    never a wait for a full chunk from a slow writer); streams without one (``io.BytesIO``)
    cannot block and are read directly. The stream must not have been read through its
    buffer before (what is buffered is returned first, but the poll cannot see it)."""
    if not timeout:
        return stream.read
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return stream.read
    import select
    import time

    read = getattr(stream, "read1", None) or stream.read
    deadline = time.monotonic() + timeout
    got = [0]
    if hasattr(select, "poll"):  # no FD_SETSIZE limit on the descriptor's number
        poller = select.poll()
        poller.register(fd, select.POLLIN)

        def ready(left: float) -> bool:
            return bool(poller.poll(int(left * 1000) + 1))
    else:
        def ready(left: float) -> bool:
            return bool(select.select([fd], [], [], left)[0])

    def read_by_deadline(n: int) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0 or not ready(left):
            raise ReadTimeout(timeout, got[0])
        chunk = read(n)
        got[0] += len(chunk)
        return chunk

    return read_by_deadline


class Message:
    """The parts of one incoming message the rules look at."""

    __slots__ = ("header_block", "body_prefix", "size", "fields", "_index", "defects")

    def __init__(self, header_block: bytes, body_prefix: bytes, size: int):
        self.header_block = header_block
        self.body_prefix = body_prefix
        self.size = size
        self.defects: "list[str]" = []
        self.fields = _parse_fields(header_block, self.defects)
        index: "dict[str, list[str]]" = {}
        for name, value in self.fields:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    def get(self, name: str, default: "str | None" = None) -> "str | None":
        """The first field of that name (unfolded, undecoded), or default."""
        v = self._index.get(name.lower())
        return v[0] if v else default

    def get_all(self, name: str) -> "list[str]":
        return self._index.get(name.lower(), [])

    def names(self):
        """Lower-cased names of every field present."""
        return self._index.keys()


def _split_head(data: bytes) -> "tuple[int, int]":
    """(end of header block, start of body) in data, or (-1, -1) if not seen yet."""
    if data.startswith(b"\n") or data.startswith(b"\r\n"):
        return 0, (1 if data.startswith(b"\n") else 2)
    lf = data.find(b"\n\n")
    crlf = data.find(b"\r\n\r\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        return crlf + 2, crlf + 4
    if lf != -1:
        return lf + 1, lf + 2
    return -1, -1


def read_message(stream=None, timeout: "float | None" = READ_TIMEOUT) -> Message:
    """Read one message from a binary stream (stdin by default), keeping only what is bounded;
    ReadTimeout if it has not ended within timeout seconds (None: no deadline)."""
    if stream is None:
        stream = sys.stdin.buffer
    read = _deadline_reader(stream, timeout)
    buf = b""
    size = 0
    head_end = body_start = -1
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        buf += chunk
        head_end, body_start = _split_head(buf)
        if head_end != -1 or len(buf) > HEADER_LIMIT:
            break
    if head_end == -1:
        if len(buf) > HEADER_LIMIT:  # an endless header block: keep the limit, rest is body
            cut = buf.rfind(b"\n", 0, HEADER_LIMIT)
            cut = cut + 1 if cut > 0 else HEADER_LIMIT
            head_end = body_start = cut
        else:  # no blank line at all: the whole input is a header block
            head_end = body_start = len(buf)
    if head_end > HEADER_LIMIT:  # the blank line came after the limit: keep whole lines
        cut = buf.rfind(b"\n", 0, HEADER_LIMIT)
        header_block = buf[:cut + 1 if cut > 0 else HEADER_LIMIT]
    else:
        header_block = buf[:head_end]
    body = buf[body_start:body_start + BODY_PREFIX]
    while len(body) < BODY_PREFIX:
        chunk = read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        body += chunk
    body = body[:BODY_PREFIX]
    while True:  # drain: an MTA or Pigeonhole writing to us must never get EPIPE
        chunk = read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
    return Message(header_block, body, size)


def drain(stream=None, timeout: "float | None" = READ_TIMEOUT) -> None:
    """Read and discard the input to its end (a writer must never get EPIPE), giving up at the
    deadline; for paths that answer without reading the message (bad arguments, bad config)."""
    try:
        read = _deadline_reader(sys.stdin.buffer if stream is None else stream, timeout)
        while read(_CHUNK):
            pass
    except (ReadTimeout, OSError, ValueError, AttributeError):
        pass


def from_bytes(data: bytes) -> Message:
    import io

    return read_message(io.BytesIO(data))


def _parse_fields(block: bytes, defects: "list[str]") -> "list[tuple[str, str]]":
    """Unfold and split the header block into (name, value) pairs, tolerating any bytes."""
    fields: "list[tuple[str, str]]" = []
    name = None
    parts: "list[bytes]" = []
    lines = block.split(b"\n")
    if lines and lines[0].startswith(b"From "):  # an mbox separator (pipe flag F)
        lines = lines[1:]
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                parts.append(line)
            else:
                defects.append("continuation line before any field")
            continue
        if name is not None:
            fields.append((name, _value(parts)))
            name, parts = None, []
        colon = line.find(b":")
        if colon <= 0:
            defects.append("line without a field name")
            continue
        raw_name = line[:colon].rstrip(b" \t")
        if not raw_name or any(c < 33 or c > 126 for c in raw_name):
            defects.append("invalid field name")
            continue
        name = raw_name.decode("ascii")
        parts = [line[colon + 1:]]
    if name is not None:
        fields.append((name, _value(parts)))
    return fields


def _value(parts: "list[bytes]") -> str:
    raw = b" ".join(p.strip(b" \t") for p in parts) if len(parts) > 1 else parts[0].strip(b" \t")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
