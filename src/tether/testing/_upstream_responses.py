"""What the scriptable upstream answers: the echo, the built-in paths, the scripted failures."""

from __future__ import annotations

import asyncio
from typing import Protocol

import msgspec

from tether.testing._upstream_types import Plan, ReceivedRequest

CHUNK = 64 * 1024
PATTERN = b"0123456789abcdef" * (CHUNK // 16)
"""``/bytes/<n>`` and ``/chunked/<n>`` send the first ``n`` bytes of this block repeated."""

FAST_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
_NO_BODY_STATUS = frozenset({204, 304})
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
            400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


class Writer(Protocol):
    """The connection as the responders see it."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> bool: ...

    def finish(self, data: bytes, keep_alive: bool) -> None: ...

    def reset(self) -> None: ...


def pattern_bytes(n: int) -> bytes:
    """Return the exact body ``/bytes/<n>`` and ``/chunked/<n>`` send (for moderate ``n``)."""
    return (PATTERN * (n // CHUNK + 1))[:n]


def echo_document(request: ReceivedRequest) -> bytes:
    """Return the JSON echo body describing ``request``."""
    return msgspec.json.encode({
        "method": request.method, "target": request.target, "path": request.path,
        "query": request.query, "http_version": request.http_version,
        "headers": [list(h) for h in request.headers],
        "trailers": [list(t) for t in request.trailers],
        "body_length": request.body_length, "body_sha256": request.body_sha256,
        "connection_id": request.connection_id,
    })


def _head(status: int, headers: list[tuple[str, str]], keep_alive: bool,
          version: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if not keep_alive:
        lines.append("connection: close")
    elif version == "1.0":
        lines.append("connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _int_after(path: str, prefix: str, default: int) -> int:
    try:
        return int(path[len(prefix):].strip("/") or default)
    except ValueError:
        return default


def small_response(request: ReceivedRequest, plan: Plan, keep_alive: bool) -> bytes:
    """Return the whole answer for everything but the streaming and timed paths."""
    path, head_only = request.path, request.method == "HEAD"
    headers: list[tuple[str, str]] = []
    status = 200
    if plan.fail_status is not None:
        status, body, ctype = plan.fail_status, b"scripted failure\n", "text/plain"
    elif path == "/fast":
        status, body, ctype = 200, b"ok", "text/plain"
    else:
        if path.startswith("/status/"):
            status = _int_after(path, "/status/", 200)
        elif path.startswith("/headers/"):
            count = _int_after(path, "/headers/", 0)
            headers += [(f"x-h-{i}", str(i)) for i in range(count)]
        body, ctype = echo_document(request), "application/json"
    if status in _NO_BODY_STATUS or 100 <= status < 200:
        return _head(status, headers, keep_alive, request.http_version)
    headers += [("content-type", ctype), ("content-length", str(len(body)))]
    head = _head(status, headers, keep_alive, request.http_version)
    return head if head_only else head + body


async def respond(conn: Writer, request: ReceivedRequest, plan: Plan, keep_alive: bool) -> None:
    """Answer ``request`` on ``conn``; streaming paths write with flow control."""
    path = request.path
    if plan.reset or (plan.fail_status is None and path == "/reset"):
        conn.reset()
        return
    if plan.fail_status is None:
        if path.startswith("/delay/"):
            await asyncio.sleep(_int_after(path, "/delay/", 0) / 1000)
        elif path.startswith("/bytes/"):
            await _stream(conn, request, _int_after(path, "/bytes/", 0), False, keep_alive)
            return
        elif path.startswith("/chunked/"):
            await _stream(conn, request, _int_after(path, "/chunked/", 0), True, keep_alive)
            return
    conn.finish(small_response(request, plan, keep_alive), keep_alive)


async def _stream(conn: Writer, request: ReceivedRequest, n: int, chunked: bool,
                  keep_alive: bool) -> None:
    if chunked:
        headers = [("content-type", "application/octet-stream"),
                   ("transfer-encoding", "chunked"), ("trailer", "x-trailer")]
    else:
        headers = [("content-type", "application/octet-stream"), ("content-length", str(n))]
    head = _head(200, headers, keep_alive, request.http_version)
    if request.method == "HEAD":
        conn.finish(head, keep_alive)
        return
    conn.write(head)
    left = n
    while left > 0:
        piece = PATTERN if left >= CHUNK else PATTERN[:left]
        left -= len(piece)
        if chunked:
            conn.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        else:
            conn.write(piece)
        if not await conn.drain():
            return
    conn.finish(b"0\r\nx-trailer: done\r\n\r\n" if chunked else b"", keep_alive)
