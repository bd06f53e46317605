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
    h = Headers([(b"Connection", b"close, X-Secret"), (b"Keep-Alive", b"5"), (b"X-Secret", b"1"), (b"Accept", b"*/*")])
    strip_hop_by_hop(h)
    assert h.items == [(b"Accept", b"*/*")]


def test_put_replaces_in_place_and_get_is_case_insensitive() -> None:
    h = Headers([(b"Host", b"a"), (b"X", b"1")])
    h.put(b"host", b"b")
    assert h.items[0] == (b"Host", b"b")
    assert h.get(b"x") == b"1" and b"x" in h


def test_serialisation() -> None:
    assert request_head(b"GET", b"/", Headers([(b"Host", b"a")])) == b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
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
