"""The upstream side: one keep-alive HTTP/1.1 connection to an endpoint.

A connection carries one exchange at a time. ``request`` writes the head and the
body (streaming it when it is not all here yet) and returns the response as soon as
its head arrives; the body keeps flowing into a ``Body``. When the response is
complete and both sides allow it, the connection goes back to its pool.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import httptools

from tether.proxy.codec.body import Body, BodyError
from tether.proxy.codec.http1 import Headers, chunk, last_chunk, strip_hop_by_hop
from tether.proxy.errors import DownstreamBodyError, UpstreamProtocolError, UpstreamReset
from tether.proxy.exchange import Exchange, Response

if TYPE_CHECKING:
    from tether.proxy.upstream.pool import EndpointPool


class ClientConnection(asyncio.Protocol):
    """A connection to one upstream endpoint, owned by an ``EndpointPool``."""

    def __init__(self, pool: EndpointPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.requests = 0
        self._waiter: asyncio.Future[Response] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._trailers: list[tuple[bytes, bytes]] | None = None
        self._body: Body | None = None
        self._head_only = False
        self._request_sent = True
        self._keep_alive = True
        self._received_any = False
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._pump: asyncio.Task[None] | None = None

    # asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(UpstreamReset())
        body = self._body
        if body is not None and not body.done:
            if body.length is None and not body.chunked:
                body.finish()  # close-delimited: EOF is the end
            else:
                body.fail(ConnectionResetError("upstream closed mid-body"))
        self._body = None
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ConnectionResetError("upstream closed"))
        if self._pump is not None:
            self._pump.cancel()

    def data_received(self, data: bytes) -> None:
        self._received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(UpstreamProtocolError(f"upstream sent a malformed response: {exc}"))
            elif self._body is not None:
                self._body.fail(exc)
            self.close()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # parser callbacks ----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._headers = []
        self._trailers = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._trailers is not None:
            self._trailers.append((name.lower(), value))
        else:
            self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self._headers = []
            return  # an interim response; the final one follows
        headers = Headers(self._headers)
        chunked = headers.get(b"transfer-encoding") is not None
        cl = headers.get(b"content-length")
        self._keep_alive = self.parser.should_keep_alive()
        strip_hop_by_hop(headers)
        if self._head_only or status in (204, 304):
            body = Body.complete(b"")
        else:
            transport = self.transport
            assert transport is not None
            length = None if chunked or cl is None else int(cl)
            body = Body(length, chunked, transport.pause_reading, transport.resume_reading)
            if length == 0:
                body.finish()
            self._body = body
        self._trailers = []
        response = Response(status, headers, body)
        response.upstream = self
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(response)
        if body.done:
            self._message_done()

    def on_body(self, data: bytes) -> None:
        if self._body is not None:
            self._body.feed(data)

    def on_message_complete(self) -> None:
        if self._waiter is None or not self._waiter.done():
            return  # end of an interim (1xx) response
        body = self._body
        if body is not None:
            body.finish(Headers(self._trailers) if self._trailers else None)
        self._message_done()

    # exchange ------------------------------------------------------------------
    def _message_done(self) -> None:
        self._body = None
        self._waiter = None
        if self._head_only:
            # llhttp cannot be told the response was to HEAD: start a fresh parser.
            self.parser = httptools.HttpResponseParser(self)
        self.pool.finished(self, reusable=self._keep_alive and self._request_sent)

    def finished_streaming(self, body: Body) -> None:
        """Called by the downstream writer: close if it stopped before the body's end."""
        if not body.done:
            self.close()

    def close(self) -> None:
        """Close the socket; pending waiters fail with UpstreamReset."""
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    @property
    def fresh(self) -> bool:
        """Return whether nothing came back yet on this exchange (safe to retry elsewhere)."""
        return not self._received_any

    async def request(self, ex: Exchange, head: bytes) -> Response:
        """Send ``head`` and ``ex.body``; return the response once its head arrives.

        Raises UpstreamReset if the connection closes first, UpstreamProtocolError on a
        malformed response, DownstreamBodyError if the request body breaks off.
        """
        transport = self.transport
        assert transport is not None
        self.requests += 1
        self._head_only = ex.method == b"HEAD"
        self._received_any = False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        self._waiter = waiter
        body = ex.body
        if body.fully_buffered:
            data = body.take_all()
            if body.chunked:
                data = (chunk(data) if data else b"") + last_chunk(body.trailers)
            transport.write(head + data if data else head)
            self._request_sent = True
        else:
            transport.write(head)
            self._request_sent = False
            self._pump = self.pool.tasks.spawn("request-body", self._send_body(body))
        try:
            return await waiter
        except asyncio.CancelledError:
            self.close()
            raise

    async def _send_body(self, body: Body) -> None:
        transport = self.transport
        assert transport is not None
        framed = body.chunked
        try:
            while True:
                data = await body.read()
                if not data:
                    break
                transport.write(chunk(data) if framed else data)
                if self._write_paused:
                    self._drain = asyncio.get_running_loop().create_future()
                    try:
                        await self._drain
                    finally:
                        self._drain = None
            if framed:
                transport.write(last_chunk(body.trailers))
            self._request_sent = True
        except BodyError:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(DownstreamBodyError())
            self.close()
        finally:
            self._pump = None
