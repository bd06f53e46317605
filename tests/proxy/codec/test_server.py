"""The downstream connection's timeouts (DESIGN §7), on virtual time, without sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from tether.proxy.codec.server import ServerConnection
from tether.proxy.exchange import Exchange, Response
from tether.proxy.listener import Listener, ListenerSettings
from tether.testing.clock import FakeClock


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name == "peername" else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _never(ex: Exchange) -> Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def connection(clock: FakeClock) -> tuple[ServerConnection, FakeTransport, Listener]:
    settings = ListenerSettings(header_timeout=10, idle_timeout=3600, stream_idle_timeout=300)
    listener = Listener("t", "inbound", _never, clock, settings)
    conn = ServerConnection(listener)
    transport = FakeTransport()
    conn.connection_made(transport)
    return conn, transport, listener


def test_headers_not_complete_in_time_get_408_and_close() -> None:
    clock = FakeClock()
    conn, transport, _ = connection(clock)
    conn.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n")
    clock.advance(9.9)
    conn.sweep(clock.monotonic())
    assert not transport.closed
    clock.advance(0.2)
    conn.sweep(clock.monotonic())
    assert transport.written.startswith(b"HTTP/1.1 408 ") and transport.closed


def test_an_idle_keep_alive_connection_closes_after_an_hour_without_a_408() -> None:
    clock = FakeClock()
    conn, transport, _ = connection(clock)
    clock.advance(3599)
    conn.sweep(clock.monotonic())
    assert not transport.closed
    clock.advance(2)
    conn.sweep(clock.monotonic())
    assert transport.closed and transport.written == b""


async def test_a_stream_idle_for_five_minutes_gets_408() -> None:
    clock = FakeClock()
    conn, transport, listener = connection(clock)
    conn.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await asyncio.sleep(0)  # the serving task takes the request; the handler never answers
    assert conn.in_flight is not None
    clock.advance(299)
    conn.sweep(clock.monotonic())
    assert not transport.closed
    clock.advance(2)
    conn.sweep(clock.monotonic())
    assert transport.written.startswith(b"HTTP/1.1 408 ") and transport.closed
    await listener.tasks.close()


async def test_a_response_still_flowing_is_not_idle() -> None:
    from tether.proxy.codec.body import Body

    clock = FakeClock()
    body = Body(None, True)

    async def streaming(ex: Exchange) -> Response:
        return Response(200, body=body)

    settings = ListenerSettings(header_timeout=10, idle_timeout=3600, stream_idle_timeout=300)
    listener = Listener("t", "inbound", streaming, clock, settings)
    conn = ServerConnection(listener)
    transport = FakeTransport()
    conn.connection_made(transport)
    conn.data_received(b"GET /download HTTP/1.1\r\nHost: a\r\n\r\n")
    for _ in range(4):  # 8 minutes of a slow download, a chunk every 2 minutes
        await asyncio.sleep(0)
        clock.advance(120)
        body.feed(b"x" * 10)
        await asyncio.sleep(0)
        conn.sweep(clock.monotonic())
        assert not transport.closed
    body.finish()
    await asyncio.sleep(0)
    assert transport.written.endswith(b"0\r\n\r\n")
    await listener.tasks.close()
