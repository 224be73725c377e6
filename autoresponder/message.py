"""Reading the incoming message: the raw header block, a bounded body prefix, and drain.

The skip rules only need header fields, so they work on the raw header block, scanned with
bytes operations: no ``email`` package, no ``re``. The ``email`` package is loaded only by the
paths that need a real MIME tree (the bounce scan, building a reply).

Bounds (README, "Bad input"): at most ``HEADER_LIMIT`` bytes of header block and
``BODY_PREFIX`` bytes of body are kept; the rest of stdin is read and discarded so the MTA
never sees a broken pipe, whatever the size.
"""

import sys

HEADER_LIMIT = 256 * 1024
BODY_PREFIX = 64 * 1024
_CHUNK = 65536


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


def read_message(stream=None) -> Message:
    """Read one message from a binary stream (stdin by default), keeping only what is bounded."""
    if stream is None:
        stream = sys.stdin.buffer
    buf = b""
    size = 0
    head_end = body_start = -1
    while True:
        chunk = stream.read(_CHUNK)
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
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        body += chunk
    body = body[:BODY_PREFIX]
    while True:  # drain: an MTA or Pigeonhole writing to us must never get EPIPE
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
    return Message(header_block, body, size)


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
