from __future__ import annotations

from tether.proxy.codec.body import Body
from tether.proxy.codec.framing import error_bytes, frame_response
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Response


def test_known_body_goes_with_the_head_and_gets_a_length() -> None:
    framing = frame_response(Response(200, Headers(), b"hello"), b"GET", "1.1", True, True)
    assert framing.head.endswith(b"content-length: 5\r\n\r\nhello")
    assert (framing.sent, framing.stream, framing.keep_alive) == (5, None, True)


def test_unknown_length_is_chunked_for_11_and_closes_for_10() -> None:
    body = Body(None, True)
    framing = frame_response(Response(200, Headers(), body), b"GET", "1.1", True, True)
    assert framing.chunked and framing.stream is body and b"transfer-encoding: chunked" in framing.head
    framing = frame_response(Response(200, Headers(), Body(None, True)), b"GET", "1.0", True, True)
    assert not framing.chunked and not framing.keep_alive and b"connection: close" in framing.head


def test_head_and_304_carry_no_body_and_keep_their_length() -> None:
    headers = Headers([(b"content-length", b"42")])
    framing = frame_response(Response(200, headers, Body.complete(b"")), b"HEAD", "1.1", True, True)
    assert framing.stream is None and framing.sent == 0 and b"content-length: 42" in framing.head
    assert frame_response(Response(304, Headers(), b""), b"GET", "1.1", True, True).sent == 0


def test_an_unfinished_request_body_closes_the_connection() -> None:
    framing = frame_response(Response(413, Headers(), b"too big"), b"POST", "1.1", True, False)
    assert not framing.keep_alive and b"connection: close" in framing.head


def test_http10_keep_alive_is_said_explicitly() -> None:
    framing = frame_response(Response(200, Headers(), b""), b"GET", "1.0", True, True)
    assert b"connection: keep-alive" in framing.head


def test_error_bytes_close_the_connection() -> None:
    data = error_bytes(408, "slow")
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and data.endswith(b"connection: close\r\n\r\nslow")
