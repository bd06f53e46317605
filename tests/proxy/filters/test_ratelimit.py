from __future__ import annotations

import pytest

from tether.core.schema.snapshot import RateLimit
from tether.proxy.chain import compose
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.ratelimit import LocalRateLimit, RateLimited, TokenBucket
from tether.proxy.rescue import error_response
from tether.proxy.routing import RoutingTable
from tether.testing.clock import FakeClock
from tether.testing.routed import cluster, route, routed, table

LIMIT = RateLimit(max_tokens=3, tokens_per_fill=2, fill_interval_ms=1000)


def test_bucket_starts_full_and_empties() -> None:
    bucket = TokenBucket(LIMIT, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_whole_intervals_only() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(LIMIT, clock.monotonic())
    while bucket.try_take(clock.monotonic()):
        pass
    clock.advance(0.999)
    assert not bucket.try_take(clock.monotonic())
    clock.advance(0.001)
    assert [bucket.try_take(clock.monotonic()) for _ in range(3)] == [True, True, False]


def test_bucket_never_exceeds_max_and_keeps_fill_phase() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(LIMIT, clock.monotonic())
    clock.advance(3600.5)
    assert [bucket.try_take(clock.monotonic()) for _ in range(4)] == [True, True, True, False]
    clock.advance(0.5)  # the fill boundary is 3601.0, counted from the start, not from the last take
    assert bucket.try_take(clock.monotonic())


def test_bucket_long_run_rate() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(RateLimit(max_tokens=10, tokens_per_fill=10, fill_interval_ms=1000), clock.monotonic())
    taken = 0
    for _ in range(10_000):  # 100 s offered at 100 req/s
        taken += bucket.try_take(clock.monotonic())
        clock.advance(0.01)
    assert taken == 10 + 99 * 10


async def ok(ex: Exchange) -> Response:
    return Response(200)


async def _call(flt: LocalRateLimit, tbl: RoutingTable) -> int:
    ex = routed(tbl)
    try:
        return (await compose([flt], ok)(ex)).status
    except RateLimited as exc:
        response = error_response(ex, exc)
        assert ex.response_flags == "RL"
        assert response.body == b"local_rate_limited"
        return response.status


async def test_route_limit_refuses_with_429_rl() -> None:
    clock = FakeClock()
    tbl = table([route(rate_limit=RateLimit(max_tokens=2, tokens_per_fill=1))])
    flt = LocalRateLimit(lambda: tbl, clock)
    assert [await _call(flt, tbl) for _ in range(3)] == [200, 200, 429]
    clock.advance(1.0)
    assert [await _call(flt, tbl) for _ in range(2)] == [200, 429]
    assert (flt.stats.allowed, flt.stats.limited) == (3, 2)


async def test_cluster_limit_applies_across_routes() -> None:
    clock = FakeClock()
    limited = cluster(rate_limit=RateLimit(max_tokens=1, tokens_per_fill=1))
    tbl = table([route()], [limited])
    flt = LocalRateLimit(lambda: tbl, clock)
    assert [await _call(flt, tbl) for _ in range(2)] == [200, 429]


async def test_no_limit_passes() -> None:
    tbl = table([route()])
    flt = LocalRateLimit(lambda: tbl, FakeClock())
    assert {await _call(flt, tbl) for _ in range(50)} == {200}
    assert flt.buckets == {}


async def test_buckets_survive_unchanged_snapshots_and_go_when_changed() -> None:
    clock = FakeClock()
    current = table([route(rate_limit=RateLimit(max_tokens=1, tokens_per_fill=1))])
    flt = LocalRateLimit(lambda: current, clock)
    assert await _call(flt, current) == 200
    current = table([route(rate_limit=RateLimit(max_tokens=1, tokens_per_fill=1))])
    flt.on_snapshot()
    assert await _call(flt, current) == 429, "same route, same limit: the bucket carries over"
    current = table([route(rate_limit=RateLimit(max_tokens=5, tokens_per_fill=1))])
    flt.on_snapshot()
    assert len(flt.buckets) == 0
    assert await _call(flt, current) == 200


@pytest.mark.parametrize("interval_ms", [0, 1])
def test_tiny_interval_is_safe(interval_ms: int) -> None:
    bucket = TokenBucket(RateLimit(max_tokens=1, tokens_per_fill=1, fill_interval_ms=interval_ms), 0.0)
    assert bucket.try_take(0.0)
    assert bucket.try_take(0.002)
