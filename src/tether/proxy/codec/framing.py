"""Sans-IO: how a response goes on the wire for a given request (RFC 9112 §6).

``frame_response`` decides the body framing (none, content-length, chunked, close-delimited)
and the connection's fate, and returns the bytes to write first; the connection module
then streams whatever is left. No socket is touched here.
"""

from __future__ import annotations

from typing import NamedTuple

from tether.proxy.codec.body import Body
from tether.proxy.codec.http1 import Headers, response_head, status_has_body
from tether.proxy.exchange import Response


class Framing(NamedTuple):
    """The first write of a response, and what follows it."""

    head: bytes  # status line and header block, with any body already known appended
    sent: int  # body bytes included in ``head``
    stream: Body | None  # body still to stream after ``head``
    chunked: bool  # stream it in chunks (the length is unknown and the client speaks 1.1)
    keep_alive: bool  # the connection may serve another request afterwards


def frame_response(resp: Response, method: bytes, http_version: str, keep_alive: bool, request_done: bool) -> Framing:
    """Return how to send ``resp`` to a ``method`` request of ``http_version``.

    ``keep_alive`` is whether the client and the proxy want to go on; the connection closes
    anyway when the request body is not finished (``request_done``) or the response length
    is unknown to an HTTP/1.0 client. Adds content-length, transfer-encoding and connection
    fields to ``resp.headers`` as needed.
    """
    headers, body = resp.headers, resp.body
    http10 = http_version == "1.0"
    payload, stream, chunked = b"", None, False
    if not status_has_body(resp.status, method):
        pass
    elif isinstance(body, bytes):
        payload = body
        _default_length(headers, len(body))
    elif body.fully_buffered and not body.chunked:
        payload = body.take_all()
        _default_length(headers, len(payload))
    else:
        stream = body
        if body.length is None:
            if http10:
                keep_alive = False
            else:
                chunked = True
                headers.add(b"transfer-encoding", b"chunked")
    if not request_done:
        keep_alive = False
    if not keep_alive:
        headers.add(b"connection", b"close")
    elif http10:
        headers.add(b"connection", b"keep-alive")
    head = response_head(resp.status, resp.reason, headers)
    return Framing(head + payload if payload else head, len(payload), stream, chunked, keep_alive)


def error_bytes(status: int, detail: str) -> bytes:
    """Return a complete plain-text response that also closes the connection."""
    payload = detail.encode()
    headers = Headers(
        [(b"content-type", b"text/plain"), (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]
    )
    return response_head(status, b"", headers) + payload


def _default_length(headers: Headers, length: int) -> None:
    if headers.get(b"content-length") is None:
        headers.add(b"content-length", str(length).encode())
