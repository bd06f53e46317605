"""Exchanges built without sockets, and response bodies read to their end."""

from __future__ import annotations

from tether.proxy.codec.body import Body
from tether.proxy.exchange import Response
from tether.testing.factories import drain, make_exchange


def test_make_exchange_lowercases_header_names() -> None:
    ex = make_exchange(b"POST", b"/x", [(b"Host", b"order")])
    assert (ex.method, ex.target, ex.headers.get(b"host")) == (b"POST", b"/x", b"order")


async def test_drain_reads_bytes_and_streamed_bodies() -> None:
    assert await drain(Response(200, body=b"whole")) == b"whole"
    assert await drain(Response(200, body=Body.complete(b"streamed"))) == b"streamed"
