from __future__ import annotations

import pytest

from tether.control.telemetry.windows import RollingWindows, Totals
from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, Aggregate, EdgeKey

KEY = EdgeKey("destination", "a", "default", "unknown", "b", "default", "p", "b.default.svc.cluster.local", "")
OTHER = EdgeKey("source", "a", "default", "p", "c", "default", "q", "c.default.svc.cluster.local", "r")
T0 = 1_700_000_000.0


def agg(key: EdgeKey = KEY, codes: dict[str, int] | None = None, bucket: int = 3, n: int = 1) -> Aggregate:
    latency = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    latency[bucket] = n
    return Aggregate(key=key, codes=codes or {"200": n}, latency=latency, latency_sum_ms=float(n),
                     request_bytes=n, response_bytes=2 * n)


def test_totals_success_rate_counts_5xx_and_no_answer_as_failures() -> None:
    t = Totals()
    assert t.success_rate() is None and t.quantile(0.5) is None
    t.add(agg(codes={"200": 6, "404": 1, "503": 2, "0": 1}, n=10))
    assert t.requests == 10 and t.failures == 3
    assert t.success_rate() == pytest.approx(0.7)


def test_quantile_interpolates_inside_a_bucket() -> None:
    t = Totals()
    t.add(agg(bucket=0, n=50))  # 0..1 ms
    t.add(agg(bucket=2, n=50))  # 2..5 ms
    assert t.quantile(0.5) == pytest.approx(1.0)
    assert t.quantile(0.75) == pytest.approx(3.5)
    assert t.quantile(1.0) == pytest.approx(5.0)
    high = Totals()
    high.add(agg(bucket=len(LATENCY_BUCKETS_MS), n=1))
    assert high.quantile(0.99) == LATENCY_BUCKETS_MS[-1]


def test_wrong_bucket_layout_is_ignored_not_fatal() -> None:
    t = Totals()
    t.add(Aggregate(key=KEY, codes={"200": 1}, latency=[1, 2]))
    assert t.requests == 1 and sum(t.latency) == 0


def test_windows_cover_only_their_slots() -> None:
    w = RollingWindows(slot=10.0, horizon=3600.0)
    w.add(agg(n=1), T0)
    w.add(agg(n=2), T0 + 5)  # same slot
    w.add(agg(n=4), T0 + 300)
    w.add(agg(OTHER, n=8), T0 + 300)
    now = T0 + 330
    assert w.query(60, now)[KEY].requests == 4
    assert w.query(600, now)[KEY].requests == 7
    assert w.query(60, now)[OTHER].requests == 8
    assert KEY not in w.query(10, T0 + 900)


def test_prune_forgets_old_slots_and_edges() -> None:
    w = RollingWindows(slot=10.0, horizon=60.0)
    w.add(agg(), T0)
    w.add(agg(OTHER), T0 + 50)
    w.prune(T0 + 100)
    assert len(w) == 1
    assert w.query(3600, T0 + 100)[OTHER].requests == 1


def test_edge_limit_drops_and_counts() -> None:
    w = RollingWindows(max_edges=1)
    w.add(agg(), T0)
    w.add(agg(OTHER), T0)
    assert len(w) == 1 and w.dropped == 1
