"""A compact HTTP/1.1 server for the control API, on asyncio streams and httptools.

It is made for small JSON requests and long-lived chunked streams (the proxies' watch),
not for proxying: requests are read whole (bounded), answered one at a time per
connection, keep-alive by default. A handler returns a ``Response`` or a
``StreamResponse``; raising ``HttpError`` answers with ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httptools

from tether.core.errors import TetherError
from tether.core.tasks import TaskGroup

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024

REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
    413: "Content Too Large", 422: "Unprocessable Content", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}


class HttpError(TetherError):
    """Answer the request with ``status`` and ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class Request:
    """One parsed request. Header names are lower case; ``peer`` is the client's IP."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    peer: str

    def json(self) -> Any:
        """Return the decoded JSON body; raises HttpError(400) when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HttpError(400, f"request body is not JSON: {exc}") from None


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_response(obj: Any, status: int = 200) -> Response:
    """Return a JSON response of ``obj`` (which must be JSON-serialisable)."""
    return Response(status=status, body=json.dumps(obj).encode() + b"\n")


class ChunkWriter:
    """Writes one chunk at a time of a streamed response; ``send`` waits for the socket."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def send(self, data: bytes) -> None:
        """Write ``data`` as one chunk and drain; raises ConnectionError if the peer left."""
        if not data:
            return
        self._writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await self._writer.drain()


@dataclass(frozen=True)
class StreamResponse:
    """A chunked response whose body ``produce`` writes until it returns or the client leaves."""

    produce: Callable[[ChunkWriter], Awaitable[None]]
    status: int = 200
    content_type: str = "application/x-ndjson"
    on_close: Callable[[], None] = field(default=lambda: None)


Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


class _Parser:
    """httptools callbacks collecting complete requests."""

    def __init__(self) -> None:
        self.done: list[tuple[str, str, dict[str, str], bytes, bool]] = []
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._head = 0
        self.parser = httptools.HttpRequestParser(self)
        self.max_body = 0

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", {}, [], 0
        self._head = 0

    def _count(self, n: int) -> None:
        self._head += n
        if self._head > MAX_HEAD:
            raise HttpError(431, f"request line and headers over {MAX_HEAD} bytes")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self.max_body:
            raise HttpError(413, f"request body over {self.max_body} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        keep = bool(self.parser.should_keep_alive())
        url = self._url.decode("latin-1")
        self.done.append((method, url, self._headers, b"".join(self._body), keep))


class HttpServer:
    """Serves ``handler`` on one listening socket; ``close()`` ends every connection."""

    def __init__(self, handler: Handler, *, max_body: int = 8 << 20, idle_timeout: float = 300.0,
                 tls: ssl.SSLContext | None = None):
        self.handler = handler
        self.tls = tls  # serve HTTPS (``tether control --tls``)
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._conns = TaskGroup("control-http")
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port) and return the bound port."""
        self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        """Stop listening and close every open connection (streams included)."""
        if self._server is not None:
            self._server.close()
        await self._conns.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Hand the connection to an owned task so close() can cancel it.
        peer = writer.get_extra_info("peername")
        name = f"conn-{peer[0]}:{peer[1]}" if peer else "conn"
        task = self._conns.spawn(name, self._serve(reader, writer))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("?", 0))[0]
        parser = _Parser()
        parser.max_body = self.max_body
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                if not data:
                    return
                try:
                    parser.parser.feed_data(data)
                except HttpError as exc:
                    await _write(writer, _error(exc), keep=False)
                    return
                except httptools.HttpParserError as exc:
                    cause = exc.__context__  # an HttpError raised inside a parser callback
                    err = cause if isinstance(cause, HttpError) else HttpError(400, f"bad: {exc}")
                    await _write(writer, _error(err), keep=False)
                    return
                while parser.done:
                    method, url, headers, body, keep = parser.done.pop(0)
                    split = urlsplit(url)
                    request = Request(
                        method=method,
                        path=unquote(split.path),
                        query=dict(parse_qsl(split.query)),
                        headers=headers,
                        body=body,
                        peer=str(peer),
                    )
                    if not await self._answer(request, reader, writer, keep) or not keep:
                        return
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        keep: bool,
    ) -> bool:
        """Handle one request; return False when the connection must close."""
        try:
            result = await self.handler(request)
        except HttpError as exc:
            result = _error(exc)
        except Exception:
            log.exception("control API handler failed for %s %s", request.method, request.path)
            result = _error(HttpError(500, "internal error (see the control plane's log)"))
        if isinstance(result, Response):
            await _write(writer, result, keep)
            return True
        await self._stream(result, reader, writer)
        return False

    async def _stream(
        self, result: StreamResponse, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = (
            f"HTTP/1.1 {result.status} {REASONS.get(result.status, 'OK')}\r\n"
            f"content-type: {result.content_type}\r\ntransfer-encoding: chunked\r\n"
            "cache-control: no-cache\r\n\r\n"
        )
        writer.write(head.encode())
        group = TaskGroup("control-stream")
        try:
            producer = group.spawn("produce", _quiet(result.produce(ChunkWriter(writer))))
            # The client sends nothing more on a stream; EOF from it means it left.
            eof = group.spawn("client-eof", reader.read())
            await asyncio.wait({producer, eof}, return_when=asyncio.FIRST_COMPLETED)
            if producer.done() and not producer.cancelled() and producer.exception() is None:
                writer.write(b"0\r\n\r\n")
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
        finally:
            await group.close()
            result.on_close()


async def _quiet(produce: Awaitable[None]) -> None:
    # A client that leaves mid-stream is normal (proxy restart), not a failure to log.
    with contextlib.suppress(ConnectionError):
        await produce


def _error(exc: HttpError) -> Response:
    body = {"error": exc.message, **exc.extra}
    return json_response(body, exc.status)


async def _write(writer: asyncio.StreamWriter, response: Response, keep: bool) -> None:
    lines = [
        f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'OK')}",
        f"content-type: {response.content_type}",
        f"content-length: {len(response.body)}",
    ]
    lines += [f"{k}: {v}" for k, v in response.headers]
    if not keep:
        lines.append("connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + response.body)
    await writer.drain()
