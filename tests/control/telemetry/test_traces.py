from __future__ import annotations

from tether.control.telemetry.traces import TraceStore, trace_json
from tether.proxy.telemetry.wire import SpanRecord


def span(trace: str, sid: str, parent: str = "", kind: str = "client", start: int = 0, service: str = "a.default",
         error: bool = False) -> SpanRecord:
    return SpanRecord(trace, sid, parent, f"GET /{sid}", kind, start, start + 2_000_000, service, "a", "default",
                      error=error)


def test_spans_group_by_trace_in_start_order() -> None:
    store = TraceStore()
    store.add(span("t1", "s2", "s1", "server", start=10, service="b.default"))
    store.add(span("t1", "s1", start=5))
    spans = store.trace("T1".lower())
    assert spans is not None and [s.span_id for s in spans] == ["s1", "s2"]
    assert store.trace("nope") is None


def test_summaries_newest_first_with_service_filter() -> None:
    store = TraceStore()
    store.add(span("t1", "s1"))
    store.add(span("t2", "s2", service="b.default", error=True))
    all_ = store.summaries()
    assert [t["trace_id"] for t in all_] == ["t2", "t1"]
    assert all_[0]["errors"] == 1 and all_[0]["root"] == "GET /s2"
    assert [t["trace_id"] for t in store.summaries(service="b")] == ["t2"]
    assert len(store.summaries(limit=1)) == 1


def test_bounded_in_traces_and_spans_per_trace() -> None:
    store = TraceStore(max_traces=2, max_spans=2)
    for t in ("t1", "t2", "t3"):
        store.add(span(t, "s1"))
    assert len(store) == 2 and store.trace("t1") is None
    store.add(span("t3", "s2"))
    store.add(span("t3", "s3"))
    store.add(span("t3", "s1"))  # a resent span replaces, it does not count twice
    assert store.dropped == 1
    assert [s.span_id for s in store.trace("t3") or []] == ["s1", "s2"]


def test_trace_json_has_summary_and_spans() -> None:
    spans = [span("t1", "s1", start=0), span("t1", "s2", "s1", "server", start=1_000_000)]
    body = trace_json("t1", spans)
    assert body["spans"] == 2 and body["duration_ms"] == 3.0 and body["root"] == "GET /s1"
    assert [s["span_id"] for s in body["span_list"]] == ["s1", "s2"]
