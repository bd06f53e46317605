from __future__ import annotations

from tether.proxy.telemetry.record import RawSummary
from tether.proxy.telemetry.sink import Counters, SpanQueue, TelemetrySink
from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, EdgeKey, RequestSummary, SpanRecord

KEY = EdgeKey("source", "a", "default", "p", "b", "default", "q", "b.default.svc.cluster.local", "")


def span(i: int) -> SpanRecord:
    return SpanRecord(f"{i:032x}", f"{i:016x}", "", "GET /", "client", 0, 1, "a.default", "a", "default")


def raw(path: str) -> RawSummary:
    return (0.0, "source", b"GET", b"b", path.encode(), 200, "-", 1.25, KEY, b"rid", "t" * 32, 1, 2)


def test_span_queue_drops_and_counts_when_full() -> None:
    queue = SpanQueue(capacity=2)
    assert queue.offer(span(1)) and queue.offer(span(2))
    assert not queue.offer(span(3))
    assert queue.dropped == 1 and len(queue) == 2
    assert queue.ready.is_set()
    assert [s.span_id for s in queue.take(5)] == [f"{1:016x}", f"{2:016x}"]
    assert not queue.ready.is_set()


def test_counters_bucket_latency_and_count_codes() -> None:
    c = Counters()
    c.add(200, "-", 0.3, 10, 20)
    c.add(503, "UF", 70_000.0, 0, 5)
    agg = c.freeze(KEY)
    assert agg.codes == {"200": 1, "503": 1}
    assert agg.flags == {"UF": 1}
    assert agg.latency[0] == 1 and agg.latency[len(LATENCY_BUCKETS_MS)] == 1
    assert agg.requests == 2
    assert (agg.request_bytes, agg.response_bytes) == (10, 25)


def test_sink_drains_and_starts_over() -> None:
    sink = TelemetrySink(max_edges=1)
    sink.count(KEY, 200, "-", 1.0, 0, 0)
    other = EdgeKey(*("x",) * 9)
    sink.count(other, 200, "-", 1.0, 0, 0)
    assert sink.dropped_edges == 1
    (agg,) = sink.drain_aggregates()
    assert agg.key == KEY and agg.requests == 1
    assert sink.drain_aggregates() == []


def test_sink_fans_spans_out_to_every_queue() -> None:
    sink = TelemetrySink()
    assert not sink.wants_spans
    first, second = sink.add_span_queue(), sink.add_span_queue(1)
    sink.span(span(1))
    sink.span(span(2))
    assert len(first) == 2 and len(second) == 1 and second.dropped == 1


def test_request_ring_keeps_the_newest_and_counts_the_lost() -> None:
    sink = TelemetrySink(ring=2)
    for path in ("/1", "/2", "/3"):
        sink.request(raw(path))
    items, lost = sink.drain_requests()
    assert [r.path for r in items] == ["/2", "/3"] and lost == 1
    assert items[0] == RequestSummary(0.0, "source", "GET", "b", "/2", 200, "-", 1.25, "a", "default", "b", "default",
                                      "b.default.svc.cluster.local", "rid", "t" * 32, 1, 2)
    assert sink.drain_requests() == ([], 0)
