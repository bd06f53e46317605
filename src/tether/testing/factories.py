"""Factories for unit tests of pure proxy logic: exchanges without sockets, and a reader of
response bodies."""

from __future__ import annotations

from tether.proxy.codec.body import Body
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response


def make_exchange(
    method: bytes = b"GET",
    target: bytes = b"/",
    headers: list[tuple[bytes, bytes]] | None = None,
    direction: str = "outbound",
) -> Exchange:
    """Return an exchange as the server codec would build it, with an empty complete body."""
    return Exchange(
        method,
        target,
        Headers([(n.lower(), v) for n, v in headers or [(b"host", b"upstream")]]),
        Body.complete(b""),
        "1.1",
        "127.0.0.1",
        100.0,
        1_700_000_000.25,
        direction,
    )


async def drain(response: Response) -> bytes:
    """Return the whole body of ``response`` (read to its end, so its connection goes back to the pool)."""
    body = response.body
    if isinstance(body, bytes):
        return body
    out = b""
    while data := await body.read():
        out += data
    return out
