from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.proxy.telemetry.hook import TelemetryHook
from tether.proxy.telemetry.sink import TelemetrySink
from tether.testing.factories import make_exchange


def test_idle_sink_costs_nothing() -> None:
    sink = TelemetrySink()
    hook = TelemetryHook(ProxyNode(name="a"), "source", sink)
    ex = make_exchange()
    hook.on_complete(ex)
    assert sink.edges == {} and not sink.requests


def test_hook_feeds_counts_spans_and_summaries() -> None:
    sink = TelemetrySink()
    sink.aggregate = sink.keep_requests = True
    queue = sink.add_span_queue()
    hook = TelemetryHook(ProxyNode(name="a"), "source", sink)
    for flag in (b"1", b"0"):
        ex = make_exchange(target=b"/x")
        ex.trace_id, ex.span_id = "1" * 32, "2" * 16
        ex.headers.put(b"x-b3-sampled", flag)
        ex.status = 200
        hook.on_complete(ex)
    (agg,) = sink.drain_aggregates()
    assert agg.requests == 2
    assert len(queue) == 1  # only the sampled one
    items, _ = sink.drain_requests()
    assert [r.path for r in items] == ["/x", "/x"]


def test_spans_only_when_a_consumer_wants_them() -> None:
    sink = TelemetrySink()
    queue = sink.add_span_queue()
    hook = TelemetryHook(ProxyNode(name="a"), "destination", sink)
    ex = make_exchange(direction="inbound")
    ex.trace_id, ex.span_id = "1" * 32, "2" * 16
    ex.headers.put(b"x-b3-sampled", b"1")
    hook.on_complete(ex)
    (span,) = queue.take(10)
    assert span.kind == "server"
    assert sink.edges == {}


def test_keys_are_cached_per_edge_and_forgotten_on_snapshot() -> None:
    sink = TelemetrySink()
    sink.aggregate = True
    hook = TelemetryHook(ProxyNode(name="a"), "destination", sink)
    for peer in (("b", "default", "b", "v1"), ("b", "default", "b", "v1"), ("c", "default", "c", "v1")):
        ex = make_exchange(direction="inbound")
        ex.peer = peer
        ex.status = 200
        hook.on_complete(ex)
    assert len(hook._keys) == 2
    assert sorted(a.requests for a in sink.drain_aggregates()) == [1, 2]
    hook.on_snapshot()
    assert hook._keys == {}
