"""The control plane's telemetry state: rolling windows, the trace store, the tap hub."""

from __future__ import annotations

from typing import Any

from tether.control.telemetry.tap import TapHub
from tether.control.telemetry.traces import TraceStore
from tether.control.telemetry.windows import WINDOWS, RollingWindows, Totals
from tether.core.clock import Clock
from tether.core.errors import UsageError
from tether.proxy.telemetry.wire import EdgeKey, Push

PRUNE_EVERY = 30.0


def window_seconds(name: str) -> float:
    """Return the length of a named window (``1m``, ``10m``, ``1h``); raises UsageError."""
    try:
        return WINDOWS[name]
    except KeyError:
        raise UsageError(f"window must be one of {', '.join(WINDOWS)}, got {name!r}") from None


class TelemetryStore:
    """Everything the proxies pushed, bounded, with the views the API serves."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.windows = RollingWindows()
        self.traces = TraceStore()
        self.tap = TapHub()
        self.pushes = 0
        self.reporters: dict[tuple[str, str], dict[str, Any]] = {}
        self._pruned_at = clock.wall()

    def ingest(self, push: Push) -> None:
        """Add one push: counts into the windows, spans into the store, requests to the taps."""
        now = self.clock.wall()
        for agg in push.aggregates:
            self.windows.add(agg, now)
        for span in push.spans:
            self.traces.add(span)
        if push.requests and self.tap.subscribers:
            self.tap.publish(push.requests)
        self.pushes += 1
        node = push.node
        self.reporters[(node.namespace, node.name)] = {
            "name": node.name, "namespace": node.namespace, "kind": node.kind, "last_push": now,
            "dropped_spans": push.dropped_spans, "dropped_requests": push.dropped_requests,
        }
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.windows.prune(now)

    def totals(self, window: str) -> tuple[float, dict[EdgeKey, Totals]]:
        """Return ``(seconds, totals per edge)`` for a named window; raises UsageError."""
        seconds = window_seconds(window)
        return seconds, self.windows.query(seconds, self.clock.wall())
