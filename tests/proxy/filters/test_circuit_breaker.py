"""Circuit breaker: requests in flight per cluster capped by http2MaxRequests; UO at once beyond."""

from __future__ import annotations

import asyncio

import pytest

from tether.core.schema.snapshot import ConnectionPool
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.circuit_breaker import CircuitBreaker, Overflow, admits
from tether.testing.routed import cluster, route, routed, table


def test_admits() -> None:
    assert admits(0, None) and admits(10**6, None)
    assert admits(0, 1) and not admits(1, 1)
    assert not admits(0, 0)


async def test_limit_refuses_at_once_and_frees_on_completion() -> None:
    tbl = table([route()], [cluster(connection_pool=ConnectionPool(http2_max_requests=1))])
    gate = asyncio.Event()

    async def held(ex: Exchange) -> Response:
        await gate.wait()
        return Response(200)

    breaker = CircuitBreaker()
    handler = breaker.wrap(held)
    first = asyncio.ensure_future(handler(routed(tbl)))
    await asyncio.sleep(0)
    with pytest.raises(Overflow) as refused:
        await handler(routed(tbl))
    assert (refused.value.status, refused.value.flag) == (503, "UO")
    assert (breaker.stats.overflow, breaker.stats.pending_overflow) == (1, 0)
    gate.set()
    assert (await first).status == 200
    (runtime,) = tbl.clusters.values()
    assert runtime.load.active_requests == 0
    gate.clear()
    gate.set()
    assert (await handler(routed(tbl))).status == 200


async def test_no_limit_counts_but_never_refuses() -> None:
    tbl = table([route()])

    async def ok(ex: Exchange) -> Response:
        assert ex.cluster is not None and ex.cluster.load.active_requests == 1
        return Response(200)

    assert (await CircuitBreaker().wrap(ok)(routed(tbl))).status == 200


async def test_pending_overflow_below_is_counted() -> None:
    async def full(ex: Exchange) -> Response:
        raise Overflow()

    breaker = CircuitBreaker()
    with pytest.raises(Overflow):
        await breaker.wrap(full)(routed(table([route()])))
    assert (breaker.stats.overflow, breaker.stats.pending_overflow) == (0, 1)
