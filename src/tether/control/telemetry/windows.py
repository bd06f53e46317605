"""Rolling windows of request counts per edge and route, kept in memory.

Pushes land in fixed time slots (``slot`` seconds each). A query for the last
``window`` seconds adds up the slots it covers; slots older than the longest window
(``horizon``) are dropped, and so are edges that saw nothing for that long.
"""

from __future__ import annotations

from collections import deque

from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, Aggregate, EdgeCounts, EdgeKey

WINDOWS = {"1m": 60.0, "10m": 600.0, "1h": 3600.0}


class Totals(EdgeCounts):
    """Counts added up over some slots of one edge (or of many, after ``merge``)."""

    __slots__ = ()

    def add(self, agg: Aggregate) -> None:
        """Add one pushed aggregate (ignores a latency list of the wrong length)."""
        for code, n in agg.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n
        for flags, n in agg.flags.items():
            self.flags[flags] = self.flags.get(flags, 0) + n
        if len(agg.latency) == len(self.latency):
            self.latency = [a + b for a, b in zip(self.latency, agg.latency, strict=True)]
        self.latency_sum += agg.latency_sum_ms
        self.request_bytes += agg.request_bytes
        self.response_bytes += agg.response_bytes

    def merge(self, other: Totals) -> None:
        """Add ``other`` into these totals."""
        for code, n in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n
        for flags, n in other.flags.items():
            self.flags[flags] = self.flags.get(flags, 0) + n
        self.latency = [a + b for a, b in zip(self.latency, other.latency, strict=True)]
        self.latency_sum += other.latency_sum
        self.request_bytes += other.request_bytes
        self.response_bytes += other.response_bytes

    @property
    def requests(self) -> int:
        """Return the number of requests."""
        return sum(self.codes.values())

    @property
    def failures(self) -> int:
        """Return the number of 5xx answers (and of requests that got no answer, status 0)."""
        return sum(n for code, n in self.codes.items() if code.startswith("5") or code == "0")

    def success_rate(self) -> float | None:
        """Return the share of requests not failed (None when there were none)."""
        total = self.requests
        return None if total == 0 else (total - self.failures) / total

    def quantile(self, q: float) -> float | None:
        """Return the ``q`` quantile of latency (ms), interpolated inside its bucket; None if empty.

        A quantile in the overflow bucket is reported as the largest bound.
        """
        total = sum(self.latency)
        if total == 0:
            return None
        rank = q * total
        running = 0
        for i, n in enumerate(self.latency):
            if running + n >= rank and n > 0:
                if i >= len(LATENCY_BUCKETS_MS):
                    return LATENCY_BUCKETS_MS[-1]
                lower = 0.0 if i == 0 else LATENCY_BUCKETS_MS[i - 1]
                upper = LATENCY_BUCKETS_MS[i]
                return lower + (upper - lower) * (rank - running) / n
            running += n
        return LATENCY_BUCKETS_MS[-1]


class RollingWindows:
    """Slots of totals per edge; ``add`` at push time, ``query`` for a window."""

    def __init__(self, slot: float = 10.0, horizon: float = 3600.0, max_edges: int = 20_000) -> None:
        self.slot = slot
        self.horizon = horizon
        self.max_edges = max_edges
        self.dropped = 0
        self._edges: dict[EdgeKey, deque[tuple[int, Totals]]] = {}

    def __len__(self) -> int:
        return len(self._edges)

    def add(self, agg: Aggregate, now: float) -> None:
        """Count ``agg`` in the slot of ``now`` (dropped and counted past ``max_edges``)."""
        index = int(now // self.slot)
        slots = self._edges.get(agg.key)
        if slots is None:
            if len(self._edges) >= self.max_edges:
                self.dropped += 1
                return
            slots = self._edges[agg.key] = deque()
        if not slots or slots[-1][0] != index:
            slots.append((index, Totals()))
        slots[-1][1].add(agg)

    def query(self, window: float, now: float) -> dict[EdgeKey, Totals]:
        """Return each edge's totals over the last ``window`` seconds (edges with none left out)."""
        first = int((now - window) // self.slot) + 1
        out: dict[EdgeKey, Totals] = {}
        for key, slots in self._edges.items():
            total: Totals | None = None
            for index, totals in reversed(slots):
                if index < first:
                    break
                if total is None:
                    total = Totals()
                total.merge(totals)
            if total is not None:
                out[key] = total
        return out

    def prune(self, now: float) -> None:
        """Drop slots older than the horizon, and edges left with none."""
        first = int((now - self.horizon) // self.slot) + 1
        for key in list(self._edges):
            slots = self._edges[key]
            while slots and slots[0][0] < first:
                slots.popleft()
            if not slots:
                del self._edges[key]
