"""The terminal handler: send the exchange to an endpoint of its cluster."""

from __future__ import annotations

from tether.proxy.codec.http1 import request_head, strip_hop_by_hop
from tether.proxy.errors import NoRoute, UpstreamReset
from tether.proxy.exchange import Exchange, Response

IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})


def prepare_headers(ex: Exchange) -> None:
    """Make the request headers fit for the next hop: hop-by-hop fields out, framing and
    forwarding fields in."""
    headers = ex.headers
    strip_hop_by_hop(headers)
    if ex.body.chunked:
        headers.add(b"transfer-encoding", b"chunked")
    xff = headers.get(b"x-forwarded-for")
    client = ex.client_address.encode()
    headers.put(b"x-forwarded-for", xff + b", " + client if xff else client)
    if headers.get(b"x-forwarded-proto") is None:
        headers.add(b"x-forwarded-proto", ex.scheme)


async def forward(ex: Exchange) -> Response:
    """Send ``ex`` to one endpoint of ``ex.cluster`` and return the response head.

    Raises UpstreamConnectFailure, UpstreamReset, UpstreamProtocolError (the rescue
    layer answers them). A request without a body that meets a stale pooled connection
    is sent once more on a fresh one, as it cannot have been processed.
    """
    cluster = ex.cluster
    if cluster is None:
        raise NoRoute()
    endpoint = cluster.pick()
    ex.endpoint = endpoint
    prepare_headers(ex)
    head = request_head(ex.method, ex.path, ex.headers)
    pool = endpoint.pool
    endpoint.total_requests += 1
    endpoint.active_requests += 1
    try:
        conn, reused = await pool.acquire()
        try:
            return await conn.request(ex, head)
        except UpstreamReset:
            if not (reused and conn.fresh and ex.method in IDEMPOTENT and ex.body.received == 0):
                raise
        conn = await pool.connect()
        return await conn.request(ex, head)
    finally:
        endpoint.active_requests -= 1
