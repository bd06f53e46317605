"""Fan-out of request summaries to ``tap`` streams, each with its own filter and bound.

A subscriber whose queue is full loses lines (counted), so one slow reader never
holds up a push or another reader.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tether.proxy.telemetry.wire import RequestSummary


@dataclass(frozen=True)
class TapFilter:
    """Which requests a tap wants: ``service`` (caller or callee), path prefix, method, status.

    ``status`` is a code (``503``) or a class (``5xx``).
    """

    service: str | None = None
    path: str | None = None
    method: str | None = None
    status: str | None = None

    def matches(self, r: RequestSummary) -> bool:
        """Return True when ``r`` passes every condition that is set."""
        if self.service and not (
            self.service in (r.source_workload, r.destination_workload)
            or r.destination_service == self.service
            or r.destination_service.startswith(self.service + ".")
        ):
            return False
        if self.path and not r.path.startswith(self.path):
            return False
        if self.method and r.method.upper() != self.method.upper():
            return False
        if self.status:
            code = str(r.status)
            if self.status.lower().endswith("xx"):
                return code.startswith(self.status[0])
            return code == self.status
        return True


class Subscriber:
    """One open tap stream: its filter and a bounded queue of matching summaries."""

    def __init__(self, flt: TapFilter, capacity: int) -> None:
        self.filter = flt
        self.queue: asyncio.Queue[RequestSummary] = asyncio.Queue(capacity)
        self.dropped = 0


class TapHub:
    """The set of open tap streams."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.subscribers: set[Subscriber] = set()

    def subscribe(self, flt: TapFilter) -> Subscriber:
        """Return a new subscriber; call ``unsubscribe`` when its stream ends."""
        sub = Subscriber(flt, self.capacity)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub``."""
        self.subscribers.discard(sub)

    def publish(self, requests: list[RequestSummary]) -> None:
        """Hand each summary to every subscriber whose filter it matches."""
        for sub in self.subscribers:
            for r in requests:
                if sub.filter.matches(r):
                    try:
                        sub.queue.put_nowait(r)
                    except asyncio.QueueFull:
                        sub.dropped += 1
