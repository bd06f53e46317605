from __future__ import annotations

from tether.proxy.codec.http1 import (
    HeaderLimits,
    Headers,
    chunk,
    last_chunk,
    request_head,
    response_head,
    status_has_body,
    strip_hop_by_hop,
)


def test_strip_hop_by_hop_includes_fields_named_by_connection() -> None:
    h = Headers([(b"connection", b"close, X-Secret"), (b"keep-alive", b"5"), (b"x-secret", b"1"), (b"accept", b"*/*")])
    strip_hop_by_hop(h)
    assert h.items == [(b"accept", b"*/*")]


def test_put_replaces_in_place_and_remove_drops_every_field() -> None:
    h = Headers([(b"host", b"a"), (b"x", b"1"), (b"x", b"2")])
    h.put(b"host", b"b")
    assert h.items[0] == (b"host", b"b")
    assert h.get_all(b"x") == [b"1", b"2"] and b"x" in h
    h.remove(b"x")
    assert h.items == [(b"host", b"b")]


def test_serialisation() -> None:
    assert request_head(b"GET", b"/", Headers([(b"host", b"a")])) == b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"
    assert response_head(204, b"", Headers()) == b"HTTP/1.1 204 No Content\r\n\r\n"
    assert chunk(b"abc") == b"3\r\nabc\r\n"
    assert last_chunk(Headers([(b"x-t", b"1")])) == b"0\r\nx-t: 1\r\n\r\n"


def test_body_rules() -> None:
    assert not status_has_body(200, b"HEAD")
    assert not status_has_body(304, b"GET")
    assert status_has_body(200, b"GET")


def test_header_limits() -> None:
    limits = HeaderLimits()
    assert all(limits.add(b"a", b"b") for _ in range(100))
    assert not limits.add(b"a", b"b")
    limits.reset()
    assert not limits.add(b"a", b"x" * 61 * 1024)
