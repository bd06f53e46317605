"""Connection limits and pool terms: the pending queue, max requests per connection, idle timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from tether.core.schema.snapshot import Cluster, ConnectionPool, Route
from tether.proxy.codec.body import Body
from tether.proxy.errors import UpstreamConnectFailure
from tether.proxy.routing import RoutingTable
from tether.proxy.upstream.forward import forward
from tether.proxy.upstream.pool import ConnectionLimiter, Overflow, PoolManager
from tether.testing.factories import drain
from tether.testing.routed import cluster, route, routed
from tether.testing.sidecar import free_port
from tether.testing.upstream import ScriptableUpstream

TableFactory = Callable[[Sequence[Route], Sequence[Cluster]], RoutingTable]


async def test_limiter_admits_queues_and_overflows() -> None:
    limiter = ConnectionLimiter(1, 1)
    await limiter.acquire()
    waiting = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    assert limiter.pending == 1 and not waiting.done()
    with pytest.raises(Overflow) as refused:
        await limiter.acquire()
    assert (refused.value.status, refused.value.flag) == (503, "UO")
    limiter.release()
    await waiting
    assert (limiter.busy, limiter.pending) == (1, 0), "the slot was handed over, not freed"
    limiter.release()
    assert limiter.busy == 0


async def test_limiter_without_pending_limit_queues_in_order() -> None:
    limiter = ConnectionLimiter(1, None)
    await limiter.acquire()
    order: list[int] = []

    async def wait(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    waiters = [asyncio.ensure_future(wait(i)) for i in range(3)]
    await asyncio.sleep(0)
    for _ in range(3):
        limiter.release()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]


async def test_cancelled_waiter_leaves_the_queue() -> None:
    limiter = ConnectionLimiter(1, 5)
    await limiter.acquire()
    waiting = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limiter.pending == 0
    limiter.release()
    assert limiter.busy == 0


async def test_keep_alive_reuses_one_connection(up: ScriptableUpstream, table: TableFactory) -> None:
    tbl = table([route()], [cluster(port=up.port)])
    for _ in range(3):
        assert await drain(await forward(routed(tbl)))
    assert up.connections == 1


async def test_max_requests_per_connection_retires_connections(up: ScriptableUpstream, table: TableFactory) -> None:
    tbl = table([route()], [cluster(port=up.port, connection_pool=ConnectionPool(max_requests_per_connection=1))])
    for _ in range(3):
        await drain(await forward(routed(tbl)))
    assert up.connections == 3


async def test_connection_limit_queues_then_overflows(up: ScriptableUpstream, table: TableFactory) -> None:
    up.delay_all(0.3)
    pool = ConnectionPool(max_connections=1, http1_max_pending_requests=1)
    tbl = table([route()], [cluster(port=up.port, connection_pool=pool)])

    async def one() -> int:
        response = await forward(routed(tbl))
        await drain(response)
        return response.status

    results = await asyncio.gather(*(one() for _ in range(3)), return_exceptions=True)
    assert sorted(r for r in results if isinstance(r, int)) == [200, 200]
    assert [type(r) for r in results if not isinstance(r, int)] == [Overflow]
    assert up.request_count == 2 and up.connections == 1


async def test_slot_is_released_when_the_connection_fails(table: TableFactory) -> None:
    pool = ConnectionPool(max_connections=1, http1_max_pending_requests=0)
    tbl = table([route()], [cluster(port=free_port(), connection_pool=pool)])
    for _ in range(2):
        with pytest.raises(UpstreamConnectFailure):
            await forward(routed(tbl))
    limiter = tbl.clusters[next(iter(tbl.clusters))].limiter
    assert limiter is not None and limiter.busy == 0


async def test_idle_connections_close_after_the_idle_timeout(up: ScriptableUpstream, table: TableFactory,
                                                              pools: PoolManager) -> None:
    manager = pools
    tbl = table([route()], [cluster(port=up.port, connection_pool=ConnectionPool(idle_timeout_ms=100))])
    await drain(await forward(routed(tbl)))
    pool = manager.pool("127.0.0.1", up.port)
    assert len(pool.idle) == 1 and manager.sweep_interval() == 0.05
    for _ in range(100):
        if not pool.idle:
            break
        await asyncio.sleep(0.05)
    assert pool.idle == []


async def test_body_is_streamed_when_not_replayed(up: ScriptableUpstream, table: TableFactory) -> None:
    tbl = table([route()], [cluster(port=up.port)])
    body = Body(5, False)
    ex = routed(tbl, b"POST", b"/post", [(b"content-length", b"5")], body=body)
    body.feed(b"hello")
    body.finish()
    assert (await forward(ex)).status == 200
    assert up.requests[0].body == b"hello"
