"""The downstream side: an asyncio protocol that parses requests and writes responses.

Requests on one connection are answered strictly in order (pipelining), by one
long-lived task per connection that hands each exchange to the filter chain. Bodies
stream both ways with backpressure. The protective limits of DESIGN §7 are enforced
here; timeouts are enforced by the owning ``Listener``'s sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import httptools

from tether.proxy.codec.body import Body, BodyError
from tether.proxy.codec.framing import error_bytes, frame_response
from tether.proxy.codec.http1 import (
    CONTINUE_100,
    HeaderLimits,
    Headers,
    chunk,
    last_chunk,
)
from tether.proxy.exchange import Exchange, Response

if TYPE_CHECKING:
    from tether.proxy.listener import Listener

log = logging.getLogger(__name__)

Handler = Callable[[Exchange], Awaitable[Response]]
MAX_PIPELINE = 16


class _Reject(Exception):
    """Raised inside a parser callback to stop parsing with a status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class ServerConnection(asyncio.Protocol):
    """One downstream connection: parse, queue, serve in order, write back."""

    # Set by the inbound mTLS gate (proxy/tls/inbound.py) once the client certificate verified.
    peer_principal: str | None = None

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.clock = listener.clock
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client_address = ""
        self.queue: deque[Exchange] = deque()
        self.parsing: Exchange | None = None
        self.in_flight: Exchange | None = None
        self.response_started = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._trailers: list[tuple[bytes, bytes]] | None = None
        self._url = b""
        self._limits = HeaderLimits()
        self._ready: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending_reject: tuple[int, str] | None = None
        self._reading_paused = False
        self.write_paused = False
        self.closed = False
        self.header_deadline: float | None = None
        self.last_activity = self.clock.monotonic()

    # asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        self.client_address = peer[0] if peer else ""
        self.listener.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.connections.discard(self)
        for ex in (self.parsing, *self.queue):
            if ex is not None:
                ex.body.fail(ConnectionResetError("downstream closed"))
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ConnectionResetError("downstream closed"))
        if self._task is not None and self.in_flight is not None:
            self.in_flight.add_flag("DC")
            self._task.cancel()
        elif self._ready is not None and not self._ready.done():
            self._ready.cancel()

    def data_received(self, data: bytes) -> None:
        self.last_activity = self.clock.monotonic()
        try:
            self.parser.feed_data(data)
        except _Reject as exc:
            self._reject(exc.status, str(exc))
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Reject):
                self._reject(cause.status, str(cause))
            else:
                log.exception("parser callback failed")
                self._reject(400, "bad request")
        except httptools.HttpParserUpgrade:
            self._reject(501, "protocol upgrade is not supported")
        except httptools.HttpParserError as exc:
            self._reject(400, f"malformed request: {exc}")

    def eof_received(self) -> bool | None:
        if self.parsing is not None:
            self.parsing.body.fail(ConnectionResetError("downstream half-closed mid-request"))
        # Keep the socket open for pending responses only when something is queued.
        return bool(self.in_flight or self.queue)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # parser callbacks ----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._headers = []
        self._trailers = None
        self._url = b""
        self._limits.reset()
        self.header_deadline = self.last_activity + self.listener.header_timeout

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > 16 * 1024:
            raise _Reject(414, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._limits.add(name, value):
            raise _Reject(431, "request header fields too large")
        if self._trailers is not None:
            self._trailers.append((name.lower(), value))
        else:
            self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.header_deadline = None
        parser = self.parser
        headers = Headers(self._headers)
        version = parser.get_http_version()
        if version == "1.1" and headers.get(b"host") is None:
            raise _Reject(400, "missing Host header")
        chunked = False
        length: int | None = None
        te = headers.get(b"transfer-encoding")
        if te is not None:
            chunked = True
        else:
            cl = headers.get(b"content-length")
            if cl is not None:
                length = int(cl)
        if not chunked and not length:
            body = Body.complete(b"")
        else:
            body = Body(length, chunked, self._pause_reading, self._resume_reading)
            expect = headers.get(b"expect")
            if expect is not None and expect.lower() == b"100-continue":
                headers.remove(b"expect")
                body.on_first_read = self._send_continue
        now_wall = self.clock.wall()
        ex = Exchange(
            parser.get_method(),
            self._url,
            headers,
            body,
            version,
            self.client_address,
            self.last_activity,
            now_wall,
            self.listener.direction,
        )
        ex.keep_alive = parser.should_keep_alive()
        if self.peer_principal is not None:
            ex.extra = {"peer_principal": self.peer_principal}
        self._trailers = []
        self.parsing = ex if not body.done else None
        self._enqueue(ex)

    def on_body(self, data: bytes) -> None:
        if self.parsing is not None:
            self.parsing.body.feed(data)

    def on_message_complete(self) -> None:
        ex = self.parsing
        if ex is not None:
            ex.body.finish(Headers(self._trailers) if self._trailers else None)
            self.parsing = None

    # flow control --------------------------------------------------------------
    def _pause_reading(self) -> None:
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.transport is not None and self._reading_paused and len(self.queue) < MAX_PIPELINE:
            self._reading_paused = False
            self.transport.resume_reading()

    def _send_continue(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(CONTINUE_100)

    async def _drained(self) -> None:
        if self.write_paused and not self.closed:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                await self._drain
            finally:
                self._drain = None

    # serving -------------------------------------------------------------------
    def _enqueue(self, ex: Exchange) -> None:
        self.queue.append(ex)
        if len(self.queue) >= MAX_PIPELINE:
            self._pause_reading()
        if self._task is None:
            self._task = self.listener.tasks.spawn(f"conn:{self.client_address}", self._serve())
        elif self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    async def _serve(self) -> None:
        handler = self.listener.handler
        loop = asyncio.get_running_loop()
        while not self.closed:
            if not self.queue:
                if self._pending_reject is not None:
                    status, detail = self._pending_reject
                    self._write_error(status, detail)
                    return
                self._ready = loop.create_future()
                try:
                    await self._ready
                except asyncio.CancelledError:
                    return
                finally:
                    self._ready = None
                continue
            ex = self.queue.popleft()
            if self._reading_paused and len(self.queue) < MAX_PIPELINE and not ex.body.paused:
                self._resume_reading()
            self.in_flight = ex
            self.response_started = False
            try:
                response = await handler(ex)
                keep = await self._write_response(ex, response)
            except asyncio.CancelledError:
                self.listener.complete(ex)
                raise
            except (ConnectionError, BodyError):
                keep = False
            except Exception:
                log.exception("unhandled error serving %s %s", ex.method, ex.target)
                if not self.response_started:
                    self._write_error(500, "internal error")
                keep = False
            self.in_flight = None
            self.listener.complete(ex)
            if not keep or not ex.body.done:
                self._close()
                return
            self.last_activity = self.clock.monotonic()

    async def _write_response(self, ex: Exchange, resp: Response) -> bool:
        """Write ``resp`` for ``ex``; return whether the connection may serve another request."""
        transport = self.transport
        assert transport is not None
        ex.status = resp.status
        keep = ex.keep_alive and not self.listener.draining
        framing = frame_response(resp, ex.method, ex.http_version, keep, ex.body.done)
        self.response_started = True
        transport.write(framing.head)
        sent = framing.sent
        body = framing.stream
        if body is not None:
            chunked = framing.chunked
            try:
                while True:
                    data = await body.read()
                    if not data:
                        break
                    sent += len(data)
                    transport.write(chunk(data) if chunked else data)
                    self.last_activity = self.clock.monotonic()  # a flowing response is not idle
                    if self.write_paused:
                        await self._drained()
            except BodyError:
                ex.add_flag("UPE")
                ex.bytes_sent = sent
                return False
            finally:
                if resp.upstream is not None:
                    resp.upstream.finished_streaming(body)
            if chunked:
                transport.write(last_chunk(body.trailers))
        ex.bytes_sent = sent
        if self.write_paused:
            await self._drained()
        return framing.keep_alive

    def _write_error(self, status: int, detail: str) -> None:
        if self.transport is None or self.closed:
            return
        self.transport.write(error_bytes(status, detail))
        self._close()

    def _reject(self, status: int, detail: str) -> None:
        """Answer a request that cannot be parsed, after any queued responses, then close."""
        self.listener.rejected(status)
        self._pause_reading()
        if self.parsing is not None:
            self.parsing.body.fail(ConnectionResetError(detail))
            self.parsing = None
        if self.in_flight is None and not self.queue:
            self._write_error(status, detail)
        else:
            self._pending_reject = (status, detail)

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    # called by the listener's sweep ---------------------------------------------
    def sweep(self, now: float) -> None:
        """Enforce header, stream-idle and idle timeouts at time ``now``."""
        listener = self.listener
        if self.header_deadline is not None and now >= self.header_deadline:
            if self.in_flight is None and not self.queue:
                self._write_error(408, "request headers not received in time")
            else:
                self._close()
            return
        idle_for = now - self.last_activity
        if self.in_flight is not None or self.queue:
            if idle_for >= listener.stream_idle_timeout:
                if self.in_flight is not None and not self.response_started:
                    self._write_error(408, "stream idle timeout")
                else:
                    self._close()
        elif idle_for >= listener.idle_timeout or listener.draining:
            self._close()
