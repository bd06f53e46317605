"""The terminal handler: send one attempt of the exchange to an endpoint of its cluster.

Each call is one attempt: the retry filter above may call it again on the same exchange, so
headers are prepared for the next hop only on the first attempt, and a retry prefers another
endpoint than the previous attempt's. Every outcome feeds the cluster's outlier detection.
"""

from __future__ import annotations

import asyncio

from tether.proxy.codec.http1 import request_head, strip_hop_by_hop
from tether.proxy.errors import NoRoute, UpstreamConnectFailure, UpstreamProtocolError, UpstreamReset
from tether.proxy.exchange import Exchange, Response
from tether.proxy.upstream.cluster import ClusterRuntime, EndpointRuntime

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


def _set_cookie(ex: Exchange, cluster: ClusterRuntime, value: str) -> None:
    spec = cluster.hashing
    assert spec is not None and spec.cookie is not None and spec.cookie_ttl_ms is not None
    if ex.extra is None:
        ex.extra = {}
    max_age = max(1, spec.cookie_ttl_ms // 1000)
    ex.extra["set_cookie"] = f"{spec.cookie}={value}; Max-Age={max_age}; HttpOnly".encode()


def _failed(cluster: ClusterRuntime, endpoint: EndpointRuntime, status: int) -> None:
    if cluster.outlier is not None:
        cluster.report(endpoint, status)


async def _send(ex: Exchange, cluster: ClusterRuntime, endpoint: EndpointRuntime, head: bytes) -> Response:
    """Return the response to ``head`` over a pooled connection. A slot of the cluster's limiter
    is held on entry; from here on the pool gives it back when the connection is released."""
    pool, limiter, terms = endpoint.pool, cluster.limiter, cluster.terms
    try:
        conn, reused = await pool.acquire(cluster.connect_timeout)
    except BaseException:
        if limiter is not None:
            limiter.release()
        raise
    if terms is not None:
        pool.bind(conn, terms)
    try:
        return await conn.request(ex, head)
    except UpstreamReset:
        if not (reused and conn.fresh and ex.method in IDEMPOTENT and ex.body.received == 0):
            raise
    if limiter is not None:
        limiter.take()  # the lost connection gave its slot back; the replacement needs one
    try:
        conn = await pool.connect(cluster.connect_timeout)
    except BaseException:
        if limiter is not None:
            limiter.release()
        raise
    if terms is not None:
        pool.bind(conn, terms)
    return await conn.request(ex, head)


async def forward(ex: Exchange) -> Response:
    """Send ``ex`` to one endpoint of ``ex.cluster`` and return the response head.

    Raises NoHealthyUpstream, Overflow (the cluster's connection limit and queue are full),
    UpstreamConnectFailure, UpstreamReset, UpstreamProtocolError (the rescue layer answers
    them). A request without a body that meets a stale pooled connection is sent once more
    on a fresh one, as it cannot have been processed.
    """
    cluster = ex.cluster
    if cluster is None:
        raise NoRoute()
    previous = ex.endpoint
    if cluster.hashing is None:
        endpoint = cluster.pick(None, previous)
    else:
        key, cookie = cluster.key_of(ex)
        endpoint = cluster.pick(key, previous)
        if cookie is not None:
            _set_cookie(ex, cluster, cookie)
    ex.endpoint = endpoint
    if previous is None:
        prepare_headers(ex)
    head = request_head(ex.method, ex.path, ex.headers)
    limiter = cluster.limiter
    if limiter is not None:
        if limiter.busy < limiter.max_connections and not limiter.waiters:
            limiter.busy += 1  # a free slot: no need to go through the queue
        else:
            await limiter.acquire()  # Overflow (UO) when the queue is full; nothing held then
    endpoint.total_requests += 1
    endpoint.active_requests += 1
    try:
        response = await _send(ex, cluster, endpoint, head)
    except (UpstreamConnectFailure, UpstreamReset):
        _failed(cluster, endpoint, 503)
        raise
    except UpstreamProtocolError:
        _failed(cluster, endpoint, 502)
        raise
    except asyncio.CancelledError:
        # A deadline cut this attempt short, unless the downstream went away (DC).
        if not (ex.flags and "DC" in ex.flags):
            _failed(cluster, endpoint, 504)
        raise
    finally:
        endpoint.active_requests -= 1
    if cluster.outlier is not None:
        health = endpoint.health
        if response.status >= 500 or health.consecutive_5xx or health.consecutive_gateway:
            cluster.report(endpoint, response.status)
    if ex.extra is not None and "set_cookie" in ex.extra:
        response.headers.add(b"set-cookie", ex.extra["set_cookie"])
    return response
