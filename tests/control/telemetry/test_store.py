from __future__ import annotations

import pytest

from tether.control.telemetry.store import TelemetryStore, window_seconds
from tether.control.telemetry.tap import TapFilter
from tether.core.errors import UsageError
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.wire import Aggregate, EdgeKey, Push, RequestSummary, SpanRecord
from tether.testing.clock import FakeClock

KEY = EdgeKey("destination", "a", "default", "unknown", "b", "default", "p", "b.default.svc.cluster.local", "")


def push(n: int = 1) -> Push:
    return Push(
        node=ProxyNode(name="b"), interval=2.0,
        aggregates=[Aggregate(key=KEY, codes={"200": n}, latency=[n] + [0] * 15)],
        spans=[SpanRecord("a" * 32, "b" * 16, "", "GET /", "server", 0, 1, "b.default", "b", "default")],
        requests=[RequestSummary(0.0, "destination", "GET", "b", "/", 200, "-", 1.0, "a", "default", "b", "default",
                                 "b.default.svc.cluster.local")],
        dropped_spans=3,
    )


def test_window_names() -> None:
    assert [window_seconds(w) for w in ("1m", "10m", "1h")] == [60.0, 600.0, 3600.0]
    with pytest.raises(UsageError):
        window_seconds("5m")


def test_ingest_feeds_windows_traces_taps_and_reporters() -> None:
    clock = FakeClock()
    store = TelemetryStore(clock)
    sub = store.tap.subscribe(TapFilter())
    store.ingest(push(2))
    clock.advance(120)
    store.ingest(push(3))
    assert store.totals("1m")[1][KEY].requests == 3
    assert store.totals("10m")[1][KEY].requests == 5
    assert store.traces.trace("a" * 32) is not None
    assert sub.queue.qsize() == 2
    assert store.reporters[("default", "b")]["dropped_spans"] == 3
    assert store.pushes == 2


def test_old_data_is_pruned_as_pushes_arrive() -> None:
    clock = FakeClock()
    store = TelemetryStore(clock)
    store.ingest(push())
    clock.advance(7200)
    store.ingest(Push(node=ProxyNode(name="b"), interval=2.0))
    assert len(store.windows) == 0
