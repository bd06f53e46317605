"""The raw client against a canned server that sends exact bytes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tether.testing.rawhttp import PeerClosed, RawClient, build_request


@pytest.fixture
def canned() -> Iterator[tuple[int, list[bytes]]]:
    """A one-connection server: sends ``replies[0]`` after the first bytes arrive, then closes."""
    replies: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(replies[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], replies
    thread.join(5)
    listener.close()


def test_build_request_adds_content_length() -> None:
    assert build_request("POST", "/", [("Host", "h")], b"ab") == (
        b"POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 2\r\n\r\nab")


def test_reads_chunked_with_trailers_and_1xx(canned: tuple[int, list[bytes]]) -> None:
    port, replies = canned
    replies.append(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                   b"\r\n\r\n2;ext=1\r\nab\r\n1\r\nc\r\n0\r\nx-t: v\r\n\r\n")
    with RawClient(port) as client:
        client.send(b"GET / HTTP/1.1\r\n\r\n")
        resp = client.read_response()
    assert (resp.status, resp.body, resp.trailers) == (200, b"abc", (("x-t", "v"),))
    assert resp.informational == (100,)


def test_reads_until_close_without_length(canned: tuple[int, list[bytes]]) -> None:
    port, replies = canned
    replies.append(b"HTTP/1.0 200 OK\r\n\r\nall of it")
    with RawClient(port) as client:
        client.send(b"GET / HTTP/1.0\r\n\r\n")
        assert client.read_response().body == b"all of it"


def test_truncated_response_raises(canned: tuple[int, list[bytes]]) -> None:
    port, replies = canned
    replies.append(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with RawClient(port) as client:
        client.send(b"GET / HTTP/1.1\r\n\r\n")
        with pytest.raises(PeerClosed):
            client.read_response()


def test_closed_by_peer(canned: tuple[int, list[bytes]]) -> None:
    port, replies = canned
    replies.append(b"")
    with RawClient(port) as client:
        client.send(b"x")
        assert client.closed_by_peer()
