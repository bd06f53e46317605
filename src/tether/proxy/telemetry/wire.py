"""What a proxy pushes to the control plane (``POST /v1/telemetry/push``): frozen, compact.

Both sides import these types: the proxy builds them, the control plane decodes them.
Latency histograms share one bucket layout (``LATENCY_BUCKETS_MS``) so that counts
from many proxies and many pushes add up bucket by bucket.
"""

from __future__ import annotations

import msgspec

from tether.core.identity import ProxyNode

# Upper bounds (ms) of the latency buckets; one more bucket counts everything above.
LATENCY_BUCKETS_MS: tuple[float, ...] = (
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
)  # fmt: skip

Attribute = str | int | float | bool


class EdgeKey(msgspec.Struct, frozen=True, array_like=True):
    """Who called whom through which route, as one reporter (``source``|``destination``) saw it."""

    reporter: str
    source_workload: str
    source_namespace: str
    source_principal: str
    destination_workload: str
    destination_namespace: str
    destination_principal: str
    destination_service: str
    route: str


class Aggregate(msgspec.Struct, frozen=True):
    """Counts for one edge and route over one push interval."""

    key: EdgeKey
    codes: dict[str, int]
    latency: list[int]
    latency_sum_ms: float = 0.0
    flags: dict[str, int] = {}
    request_bytes: int = 0
    response_bytes: int = 0

    @property
    def requests(self) -> int:
        """Return the number of requests counted."""
        return sum(self.codes.values())


class EdgeCounts:
    """Mutable counts of one edge in ``Aggregate``'s layout, all zero to start. The proxy adds
    requests into them between two pushes; the control plane adds pushed aggregates up."""

    __slots__ = ("codes", "flags", "latency", "latency_sum", "request_bytes", "response_bytes")

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.flags: dict[str, int] = {}
        self.latency = [0] * (len(LATENCY_BUCKETS_MS) + 1)
        self.latency_sum = 0.0
        self.request_bytes = 0
        self.response_bytes = 0


class SpanRecord(msgspec.Struct, frozen=True):
    """One finished span: ``kind`` is ``server`` (inbound) or ``client`` (outbound)."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    service: str
    workload: str
    namespace: str
    attributes: dict[str, Attribute] = {}
    error: bool = False


class RequestSummary(msgspec.Struct, frozen=True):
    """One finished request as ``tether tap`` prints it."""

    at: float
    reporter: str
    method: str
    authority: str
    path: str
    status: int
    flags: str
    duration_ms: float
    source_workload: str
    source_namespace: str
    destination_workload: str
    destination_namespace: str
    destination_service: str
    request_id: str = ""
    trace_id: str = ""
    request_bytes: int = 0
    response_bytes: int = 0


class Push(msgspec.Struct, frozen=True):
    """One push: what happened since the previous one, and what had to be dropped."""

    node: ProxyNode
    interval: float
    aggregates: list[Aggregate] = []
    spans: list[SpanRecord] = []
    requests: list[RequestSummary] = []
    dropped_spans: int = 0
    dropped_requests: int = 0
