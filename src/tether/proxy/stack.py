"""What the filters of a stack are built from: one object per proxy."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.identity import ProxyNode
from tether.core.tasks import TaskGroup
from tether.proxy.filters.access_log import AccessLogSink
from tether.proxy.filters.metrics import RequestSeries
from tether.proxy.routing import RoutingTable
from tether.proxy.telemetry.sink import TelemetrySink
from tether.proxy.upstream.cluster import ClusterRuntime


@dataclass(frozen=True)
class StackContext:
    """The node, the current routing table and shared sinks the filters need."""

    node: ProxyNode
    table: Callable[[], RoutingTable | None]
    local_app: Callable[[], ClusterRuntime | None]
    rng: random.Random
    access_log: AccessLogSink
    request_series: RequestSeries
    trace_sample_rate: float = 0.01
    telemetry: TelemetrySink = field(default_factory=TelemetrySink)
    clock: Clock = SYSTEM_CLOCK
    tasks: TaskGroup = field(default_factory=lambda: TaskGroup("filters"))
