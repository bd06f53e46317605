"""The terminal handler: one attempt per call, outcomes fed to outlier detection, the hash cookie."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator, Sequence

import pytest

from tether.core.schema.snapshot import Cluster, ConnectionPool, ConsistentHash, Endpoint, OutlierDetection, Route
from tether.proxy.errors import NoHealthyUpstream, UpstreamConnectFailure
from tether.proxy.routing import RoutingTable
from tether.proxy.upstream.forward import forward
from tether.testing.factories import drain
from tether.testing.routed import cluster, route, routed
from tether.testing.sidecar import free_port
from tether.testing.upstream import ScriptableUpstream

TableFactory = Callable[[Sequence[Route], Sequence[Cluster]], RoutingTable]
EJECT_AT_ONCE = OutlierDetection(consecutive_5xx=1, max_ejection_percent=100)


async def test_a_5xx_ejects_and_then_there_is_no_healthy_upstream(up: ScriptableUpstream,
                                                                  table: TableFactory) -> None:
    tbl = table([route()], [cluster(port=up.port, outlier_detection=EJECT_AT_ONCE)])
    up.fail_next(1, 500)
    response = await forward(routed(tbl))
    await drain(response)
    assert response.status == 500
    with pytest.raises(NoHealthyUpstream) as refused:
        await forward(routed(tbl))
    assert (refused.value.status, refused.value.flag) == (503, "UH")
    assert up.request_count == 1


async def test_connect_failure_counts_as_an_error(table: TableFactory) -> None:
    tbl = table([route()], [cluster(port=free_port(), outlier_detection=EJECT_AT_ONCE)])
    with pytest.raises(UpstreamConnectFailure):
        await forward(routed(tbl))
    (runtime,) = tbl.clusters.values()
    assert runtime.endpoints[0].ejected


async def test_a_cancelled_attempt_counts_as_a_timeout(up: ScriptableUpstream, table: TableFactory) -> None:
    up.delay_all(5)
    tbl = table([route()], [cluster(port=up.port, outlier_detection=EJECT_AT_ONCE)])
    ex = routed(tbl)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await forward(ex)
    assert ex.endpoint is not None and ex.endpoint.ejected
    assert ex.endpoint.active_requests == 0


async def test_a_downstream_disconnect_is_not_the_hosts_fault(up: ScriptableUpstream, table: TableFactory) -> None:
    up.delay_all(5)
    tbl = table([route()], [cluster(port=up.port, outlier_detection=EJECT_AT_ONCE)])
    ex = routed(tbl)
    task = asyncio.ensure_future(forward(ex))
    await asyncio.sleep(0.05)
    ex.add_flag("DC")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ex.endpoint is not None and not ex.endpoint.ejected


async def test_second_attempt_goes_to_another_endpoint(table: TableFactory) -> None:
    with ScriptableUpstream() as a, ScriptableUpstream() as b:
        spec = cluster(port=a.port)
        spec = Cluster(name=spec.name, service=spec.service, port=80,
                       endpoints=(Endpoint(address="127.0.0.1", port=a.port),
                                  Endpoint(address="127.0.0.1", port=b.port)))
        tbl = table([route()], [spec])
        ex = routed(tbl)
        await drain(await forward(ex))
        first = ex.endpoint
        await drain(await forward(ex))
        assert ex.endpoint is not first
        assert (a.request_count, b.request_count) == (1, 1)
        assert len(b.requests[0].header_all("x-forwarded-for") + a.requests[0].header_all("x-forwarded-for")) == 2


async def test_hash_cookie_is_set_on_the_response(up: ScriptableUpstream, table: TableFactory) -> None:
    ch = ConsistentHash(cookie="stick", cookie_ttl_ms=3_600_000)
    tbl = table([route()], [cluster(port=up.port, consistent_hash=ch)])
    response = await forward(routed(tbl))
    await drain(response)
    (cookie,) = response.headers.get_all(b"set-cookie")
    assert cookie.startswith(b"stick=") and b"Max-Age=3600" in cookie and b"HttpOnly" in cookie
    again = await forward(routed(tbl, headers=[(b"cookie", cookie.split(b";")[0])]))
    await drain(again)
    assert again.headers.get(b"set-cookie") is None


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listener's accept queue is full: connecting to it hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in (*fillers, server):
        sock.close()


async def test_connect_timeout_is_a_connect_failure(unanswered_port: int, table: TableFactory) -> None:
    pool = ConnectionPool(connect_timeout_ms=100)
    tbl = table([route()], [cluster(port=unanswered_port, connection_pool=pool, outlier_detection=EJECT_AT_ONCE)])
    with pytest.raises(UpstreamConnectFailure) as failed:
        await forward(routed(tbl))
    assert failed.value.flag == "UF"
    (runtime,) = tbl.clusters.values()
    assert runtime.connect_timeout == 0.1 and runtime.endpoints[0].ejected
