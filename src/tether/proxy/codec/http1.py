"""Sans-IO pieces of HTTP/1.1: header lists, limits, and the bytes of heads and chunks.

Parsing itself is httptools (llhttp); this module holds what we add around it: the
protective limits of DESIGN §7, hop-by-hop rules, and serialisation. Nothing here
touches a socket.
"""

from __future__ import annotations

from collections.abc import Iterator

MAX_HEADER_BYTES = 60 * 1024
MAX_HEADER_COUNT = 100

# RFC 9110 §7.6.1 connection-specific fields, plus the de-facto Proxy-Connection.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"trailer",
    }
)

REASONS: dict[int, bytes] = {
    100: b"Continue",
    200: b"OK",
    201: b"Created",
    204: b"No Content",
    301: b"Moved Permanently",
    302: b"Found",
    304: b"Not Modified",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}

CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


class Headers:
    """An ordered list of header fields; names are lower-case ``bytes``.

    The codecs lower-case names as they parse (as Envoy does: HTTP/1.1 names are
    case-insensitive, and HTTP/2 requires lower case), so lookups compare bytes
    directly. A request has a dozen fields: a linear scan beats a dict per request.
    """

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[bytes, bytes]] | None = None) -> None:
        self.items: list[tuple[bytes, bytes]] = items if items is not None else []

    def get(self, lname: bytes, default: bytes | None = None) -> bytes | None:
        """Return the first value of ``lname`` (lower-case), or ``default``."""
        for name, value in self.items:
            if name == lname:
                return value
        return default

    def get_all(self, lname: bytes) -> list[bytes]:
        """Return every value of ``lname`` in order."""
        return [v for n, v in self.items if n == lname]

    def add(self, name: bytes, value: bytes) -> None:
        """Append a field (keeps existing ones)."""
        self.items.append((name, value))

    def set(self, lname: bytes, value: bytes) -> None:
        """Replace every field ``lname`` with one field holding ``value``."""
        self.remove(lname)
        self.items.append((lname, value))

    def put(self, lname: bytes, value: bytes) -> None:
        """Set ``lname`` to ``value``: replace the first field in place, or append one."""
        items = self.items
        for i, (name, _) in enumerate(items):
            if name == lname:
                items[i] = (name, value)
                return
        items.append((lname, value))

    def remove(self, lname: bytes) -> None:
        """Delete every field named ``lname``."""
        items = self.items
        for name, _ in items:
            if name == lname:
                self.items = [(n, v) for n, v in items if n != lname]
                return

    def __contains__(self, lname: object) -> bool:
        return isinstance(lname, bytes) and self.get(lname) is not None

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def strip_hop_by_hop(headers: Headers) -> None:
    """Remove hop-by-hop fields and any field the ``Connection`` header names, in place."""
    items = headers.items
    drop: frozenset[bytes] | set[bytes] = HOP_BY_HOP
    for name, value in items:
        if name == b"connection":
            drop = HOP_BY_HOP | {t.strip().lower() for t in value.split(b",")}
    for name, _ in items:
        if name in drop:
            headers.items = [(n, v) for n, v in items if n not in drop]
            return


def request_head(method: bytes, target: bytes, headers: Headers) -> bytes:
    """Return the bytes of an HTTP/1.1 request line and header block."""
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers.items:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def response_head(status: int, reason: bytes, headers: Headers, version: bytes = b"1.1") -> bytes:
    """Return the bytes of a status line and header block."""
    parts = [b"HTTP/", version, b" ", str(status).encode(), b" ", reason or REASONS.get(status, b""), b"\r\n"]
    for name, value in headers.items:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> bytes:
    """Return ``data`` framed as one chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def last_chunk(trailers: Headers | None) -> bytes:
    """Return the zero-length chunk ending a chunked body, with ``trailers`` if any."""
    if not trailers:
        return LAST_CHUNK
    lines = [b"0\r\n"]
    for name, value in trailers.items:
        lines.append(name + b": " + value + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def status_has_body(status: int, method: bytes) -> bool:
    """Return whether a response with ``status`` to ``method`` may carry a body (RFC 9112 §6.3)."""
    return not (method == b"HEAD" or status < 200 or status in (204, 304))


class HeaderLimits:
    """Counts header fields and bytes of one message against DESIGN §7's limits."""

    __slots__ = ("count", "size")

    def __init__(self) -> None:
        self.count = 0
        self.size = 0

    def add(self, name: bytes, value: bytes) -> bool:
        """Account for one field; return False once a limit is exceeded."""
        self.count += 1
        self.size += len(name) + len(value) + 4
        return self.count <= MAX_HEADER_COUNT and self.size <= MAX_HEADER_BYTES

    def reset(self) -> None:
        """Start counting a new message."""
        self.count = 0
        self.size = 0
