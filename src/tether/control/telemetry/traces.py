"""A bounded in-memory store of sampled spans, grouped by trace.

At most ``max_traces`` traces (the oldest-started-first one is evicted) and at most
``max_spans`` spans per trace; enough to look at recent requests without a tracing
backend, never a memory leak.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import msgspec

from tether.proxy.telemetry.wire import SpanRecord


class TraceStore:
    """Spans by trace id; insertion order is arrival order of each trace's first span."""

    def __init__(self, max_traces: int = 2000, max_spans: int = 256) -> None:
        self.max_traces = max_traces
        self.max_spans = max_spans
        self._traces: OrderedDict[str, dict[str, SpanRecord]] = OrderedDict()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._traces)

    def add(self, span: SpanRecord) -> None:
        """Keep ``span`` (a duplicate span id replaces the earlier copy)."""
        spans = self._traces.get(span.trace_id)
        if spans is None:
            while len(self._traces) >= self.max_traces:
                self._traces.popitem(last=False)
            spans = self._traces[span.trace_id] = {}
        if len(spans) >= self.max_spans and span.span_id not in spans:
            self.dropped += 1
            return
        spans[span.span_id] = span

    def trace(self, trace_id: str) -> list[SpanRecord] | None:
        """Return the spans of ``trace_id`` ordered by start time, or None if unknown."""
        spans = self._traces.get(trace_id.lower())
        if spans is None:
            return None
        return sorted(spans.values(), key=lambda s: (s.start_ns, s.kind != "client"))

    def summaries(self, service: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest traces first, optionally only those touching ``service``."""
        out: list[dict[str, Any]] = []
        for trace_id in reversed(self._traces):
            spans = list(self._traces[trace_id].values())
            services = sorted({s.service for s in spans})
            if service is not None and not any(s == service or s.startswith(service + ".") for s in services):
                continue
            out.append(summary(trace_id, spans, services))
            if len(out) >= limit:
                break
        return out


def summary(trace_id: str, spans: list[SpanRecord], services: list[str]) -> dict[str, Any]:
    """Return the one-line view of a trace: root span, services, span count, timing, errors."""
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_id or s.parent_id not in ids]
    root = min(roots or spans, key=lambda s: s.start_ns)
    start = min(s.start_ns for s in spans)
    end = max(s.end_ns for s in spans)
    return {
        "trace_id": trace_id,
        "root": root.name,
        "root_service": root.service,
        "services": services,
        "spans": len(spans),
        "start_ns": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "errors": sum(1 for s in spans if s.error),
    }


def trace_json(trace_id: str, spans: list[SpanRecord]) -> dict[str, Any]:
    """Return a trace as JSON: its summary and every span."""
    services = sorted({s.service for s in spans})
    return {**summary(trace_id, spans, services), "span_list": msgspec.to_builtins(spans)}
