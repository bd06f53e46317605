"""Where the completion hook leaves telemetry until a background task takes it away.

Everything here is bounded: per-edge counters (at most ``max_edges`` keys between two
pushes), span queues (full means the span is dropped and counted) and a ring of recent
request summaries. Nothing here blocks or does I/O, so a slow or dead collector or
control plane never reaches the request path.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import deque

from tether.proxy.telemetry.record import RawSummary, summary_of
from tether.proxy.telemetry.wire import (
    LATENCY_BUCKETS_MS,
    Aggregate,
    EdgeCounts,
    EdgeKey,
    RequestSummary,
    SpanRecord,
)


class SpanQueue:
    """A bounded FIFO of spans for one consumer; ``offer`` drops (and counts) when full."""

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._items: deque[SpanRecord] = deque()
        self.dropped = 0
        self.ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, span: SpanRecord) -> bool:
        """Queue ``span``; return False (and count a drop) when the queue is full."""
        if len(self._items) >= self.capacity:
            self.dropped += 1
            return False
        self._items.append(span)
        self.ready.set()
        return True

    def take(self, limit: int) -> list[SpanRecord]:
        """Remove and return up to ``limit`` spans, oldest first."""
        items = self._items
        count = min(limit, len(items))
        out = [items.popleft() for _ in range(count)]
        if not items:
            self.ready.clear()
        return out


class Counters(EdgeCounts):
    """Mutable counts of one edge between two pushes."""

    __slots__ = ()

    def add(self, status: int, flags: str, duration_ms: float, request_bytes: int, response_bytes: int) -> None:
        """Count one request."""
        code = str(status)
        self.codes[code] = self.codes.get(code, 0) + 1
        if flags != "-":
            self.flags[flags] = self.flags.get(flags, 0) + 1
        self.latency[bisect_left(LATENCY_BUCKETS_MS, duration_ms)] += 1
        self.latency_sum += duration_ms
        self.request_bytes += request_bytes
        self.response_bytes += response_bytes

    def freeze(self, key: EdgeKey) -> Aggregate:
        """Return the frozen aggregate of these counts under ``key``."""
        return Aggregate(
            key=key,
            codes=dict(self.codes),
            latency=list(self.latency),
            latency_sum_ms=round(self.latency_sum, 3),
            flags=dict(self.flags),
            request_bytes=self.request_bytes,
            response_bytes=self.response_bytes,
        )


class TelemetrySink:
    """Per-proxy telemetry buffers; what is collected depends on who consumes it.

    ``aggregate`` and ``keep_requests`` are switched on by the control-plane reporter;
    span queues are added by each exporter (OTLP, Zipkin, control plane).
    """

    def __init__(self, max_edges: int = 2000, ring: int = 256) -> None:
        self.max_edges = max_edges
        self.aggregate = False
        self.keep_requests = False
        self.edges: dict[EdgeKey, Counters] = {}
        self.dropped_edges = 0
        self.requests: deque[RawSummary] = deque(maxlen=ring)
        self.requests_seen = 0
        self.span_queues: list[SpanQueue] = []

    def add_span_queue(self, capacity: int = 2048) -> SpanQueue:
        """Return a new queue that receives every sampled span from now on."""
        queue = SpanQueue(capacity)
        self.span_queues.append(queue)
        return queue

    @property
    def wants_spans(self) -> bool:
        """Return True when some consumer takes spans."""
        return bool(self.span_queues)

    def count(self, key: EdgeKey, status: int, flags: str, duration_ms: float, req_bytes: int, resp_bytes: int) -> None:
        """Add one request to its edge's counters (dropped and counted past ``max_edges``)."""
        counters = self.edges.get(key)
        if counters is None:
            if len(self.edges) >= self.max_edges:
                self.dropped_edges += 1
                return
            counters = self.edges[key] = Counters()
        counters.add(status, flags, duration_ms, req_bytes, resp_bytes)

    def span(self, span: SpanRecord) -> None:
        """Hand ``span`` to every span queue."""
        for queue in self.span_queues:
            queue.offer(span)

    def request(self, raw: RawSummary) -> None:
        """Keep ``raw`` (see ``record.raw_summary``) in the ring; the oldest falls out when it is full."""
        self.requests_seen += 1
        self.requests.append(raw)

    def drain_aggregates(self) -> list[Aggregate]:
        """Return the counts since the last call and start new ones."""
        edges, self.edges = self.edges, {}
        return [counters.freeze(key) for key, counters in edges.items()]

    def drain_requests(self) -> tuple[list[RequestSummary], int]:
        """Return the summaries since the last call and how many fell out of the ring."""
        items = [summary_of(raw) for raw in self.requests]
        self.requests.clear()
        lost = self.requests_seen - len(items)
        self.requests_seen = 0
        return items, lost
