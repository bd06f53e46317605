"""Cluster runtime: picking among endpoints that are not ejected, panic, retry host avoidance,
hash keys and the generated hash cookie, ejections kept across rebuilds."""

from __future__ import annotations

import asyncio
import random

import pytest

from tether.core.schema.snapshot import Cluster, ConnectionPool, ConsistentHash, Endpoint, OutlierDetection
from tether.core.tasks import TaskGroup
from tether.proxy.errors import NoHealthyUpstream
from tether.proxy.upstream.cluster import build_cluster
from tether.proxy.upstream.pool import ConnectionLimiter, PoolManager
from tether.testing.clock import FakeClock
from tether.testing.factories import make_exchange


def spec(n: int = 3, **fields: object) -> Cluster:
    endpoints = tuple(Endpoint(address="127.0.0.1", port=9000 + i) for i in range(n))
    return Cluster(name="outbound|80||svc.default.svc.cluster.local", service="svc.default.svc.cluster.local",
                   port=80, endpoints=endpoints, **fields)  # type: ignore[arg-type]  # struct keyword fields


def test_plain_cluster_round_robins_and_has_no_limits() -> None:
    c = build_cluster(spec(), PoolManager(TaskGroup("t")).pool)
    assert [c.pick().port for _ in range(4)] == [9000, 9001, 9002, 9000]
    assert c.limiter is None and c.terms is None and c.outlier is None and c.max_requests is None


def test_connection_pool_fields() -> None:
    pool = ConnectionPool(max_connections=2, http1_max_pending_requests=1, http2_max_requests=5,
                          max_requests_per_connection=1, max_retries=4, connect_timeout_ms=250, idle_timeout_ms=1500)
    manager = PoolManager(TaskGroup("t"))
    c = build_cluster(spec(connection_pool=pool), manager.pool)
    assert c.limiter is not None and c.limiter.max_connections == 2 and c.limiter.max_pending == 1
    assert c.terms is not None and c.terms.max_requests == 1
    assert (c.max_requests, c.max_retries, c.connect_timeout) == (5, 4, 0.25)
    assert manager.pool("127.0.0.1", 9000).idle_timeout == 1.5


def test_ejected_endpoints_are_skipped_then_all_ejected_is_uh() -> None:
    clock = FakeClock()
    od = OutlierDetection(consecutive_5xx=1, max_ejection_percent=100, interval_ms=1000, base_ejection_time_ms=5000)
    c = build_cluster(spec(2, outlier_detection=od), PoolManager(TaskGroup("t")).pool, clock)
    first = c.endpoints[0]
    c.report(first, 503)
    assert first.ejected
    assert {c.pick().port for _ in range(4)} == {9001}
    c.report(c.endpoints[1], 500)
    with pytest.raises(NoHealthyUpstream):
        c.pick()
    clock.advance(5)
    assert c.pick() in c.endpoints, "the interval sweep brings them back"
    assert not first.ejected


def test_panic_uses_every_endpoint() -> None:
    od = OutlierDetection(consecutive_5xx=1, max_ejection_percent=100, min_health_percent=50)
    c = build_cluster(spec(2, outlier_detection=od), PoolManager(TaskGroup("t")).pool, FakeClock())
    c.report(c.endpoints[0], 500)
    c.report(c.endpoints[1], 500)
    assert {c.pick().port for _ in range(4)} == {9000, 9001}


def test_ejections_survive_a_rebuild() -> None:
    manager = PoolManager(TaskGroup("t"))
    od = OutlierDetection(consecutive_5xx=1, max_ejection_percent=100)
    c = build_cluster(spec(2, outlier_detection=od), manager.pool, FakeClock())
    c.report(c.endpoints[0], 500)
    again = build_cluster(spec(2, outlier_detection=od), manager.pool, FakeClock())
    assert again.endpoints[0].ejected
    assert {again.pick().port for _ in range(3)} == {9001}


def test_retry_avoids_the_previous_endpoint() -> None:
    c = build_cluster(spec(3, lb_policy="RANDOM"), PoolManager(TaskGroup("t")).pool, rng=random.Random(4))
    previous = c.endpoints[1]
    assert all(c.pick(None, previous) is not previous for _ in range(50))
    single = build_cluster(spec(1), PoolManager(TaskGroup("t")).pool)
    assert single.pick(None, single.endpoints[0]) is single.endpoints[0]


def test_least_request_is_the_balancer_for_istios_default() -> None:
    c = build_cluster(spec(2, lb_policy="LEAST_REQUEST"), PoolManager(TaskGroup("t")).pool, rng=random.Random(1))
    c.endpoints[0].active_requests = 3
    assert {c.pick().port for _ in range(10)} == {9001}


def test_hash_by_header_is_sticky() -> None:
    c = build_cluster(spec(3, consistent_hash=ConsistentHash(header="x-user")), PoolManager(TaskGroup("t")).pool)
    ex = make_exchange(headers=[(b"host", b"svc"), (b"x-user", b"alice")])
    key, cookie = c.key_of(ex)
    assert cookie is None and key is not None
    assert len({c.pick(key).port for _ in range(10)}) == 1


def test_hash_cookie_is_generated_when_absent_with_a_ttl() -> None:
    ch = ConsistentHash(cookie="route", cookie_ttl_ms=60_000)
    c = build_cluster(spec(3, consistent_hash=ch), PoolManager(TaskGroup("t")).pool)
    key, cookie = c.key_of(make_exchange())
    assert key is not None and cookie is not None and len(cookie) == 16
    with_cookie = make_exchange(headers=[(b"host", b"svc"), (b"cookie", f"route={cookie}".encode())])
    assert c.key_of(with_cookie) == (key, None), "the next request with the cookie lands on the same key"
    no_ttl = build_cluster(spec(3, consistent_hash=ConsistentHash(cookie="route")), PoolManager(TaskGroup("t")).pool)
    assert no_ttl.key_of(make_exchange()) == (None, None)


def test_in_flight_counts_and_limits_outlive_a_rebuild() -> None:
    manager = PoolManager(TaskGroup("t"))
    first = build_cluster(spec(connection_pool=ConnectionPool(max_connections=1)), manager.pool)
    first.load.active_requests = 2
    assert first.limiter is not None
    first.limiter.busy = 1
    again = build_cluster(spec(connection_pool=ConnectionPool(max_connections=3, http1_max_pending_requests=4)),
                          manager.pool)
    assert again.load is first.load and again.load.active_requests == 2
    assert again.limiter is first.limiter and (again.limiter.max_connections, again.limiter.max_pending) == (3, 4)
    unlimited = build_cluster(spec(), manager.pool)
    assert unlimited.limiter is None and unlimited.load is first.load


async def test_resize_lets_waiters_through() -> None:
    limiter = ConnectionLimiter(1, None)
    await limiter.acquire()
    waiters = [asyncio.ensure_future(limiter.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    limiter.resize(3, None)
    await asyncio.sleep(0)
    assert [w.done() for w in waiters] == [True, True, False] and limiter.busy == 3
    waiters[2].cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiters[2]
