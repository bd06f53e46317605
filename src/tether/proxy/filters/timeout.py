"""Route timeout: one deadline over every attempt of a request (VirtualService ``timeout``).

The deadline runs from the moment the route is chosen until the response head arrives; it
covers retries and their back-off. When it passes, whatever attempt is in flight is
abandoned (its connection closed) and the caller gets 504 ``upstream request timeout`` with
flag ``UT``. Istio has no route timeout by default (``timeout_ms`` None or 0). A body still
streaming after the head is not cut by it (Envoy would reset the stream).

Deadlines are cheap because they are shared: ``Deadlines`` keeps one loop timer per 10 ms slot
for all the requests due in that slot (a timer per request costs more than the rest of the
policy chain), so a deadline fires up to 10 ms late, never early.
"""

from __future__ import annotations

import asyncio
import math

from tether.proxy.chain import Filter, Handler
from tether.proxy.errors import UpstreamTimeout
from tether.proxy.exchange import Exchange, Response
from tether.proxy.routing import RouteEntry

RESOLUTION = 0.01


class RouteTimeoutExpired(UpstreamTimeout):
    """The route's deadline passed before a response head arrived (504 ``UT``)."""


class Deadline:
    """One armed deadline: the task it cancels, and whether it did."""

    __slots__ = ("expired", "slot", "task")

    def __init__(self, task: asyncio.Task[object], slot: int) -> None:
        self.task = task
        self.slot = slot
        self.expired = False

    def cancelled_us(self) -> bool:
        """Return whether a CancelledError being handled is this deadline's doing (and, if so,
        withdraw the cancellation so the caller can answer instead)."""
        return self.expired and self.task.uncancel() == 0


class Deadlines:
    """Cancels the tasks whose deadline passed, with one timer per ``resolution`` slot."""

    def __init__(self, resolution: float = RESOLUTION) -> None:
        self.resolution = resolution
        self.slots: dict[int, set[Deadline]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def arm(self, seconds: float) -> Deadline:
        """Return a deadline cancelling the current task in ``seconds`` (rounded up to a slot)."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # timers of another (closed) loop will never fire
            self.loop = loop
            self.slots = {}
        task = asyncio.current_task()
        assert task is not None
        slot = math.ceil((loop.time() + seconds) / self.resolution)
        bucket = self.slots.get(slot)
        if bucket is None:
            bucket = self.slots[slot] = set()
            loop.call_at(slot * self.resolution, self._fire, slot)
        deadline = Deadline(task, slot)
        bucket.add(deadline)
        return deadline

    def disarm(self, deadline: Deadline) -> None:
        """Forget ``deadline`` (its work ended first, or it already fired). An emptied slot
        stays until its timer fires, for the next requests due in it."""
        bucket = self.slots.get(deadline.slot)
        if bucket is not None:
            bucket.discard(deadline)

    def _fire(self, slot: int) -> None:
        for deadline in self.slots.pop(slot, ()):
            deadline.expired = True
            deadline.task.cancel()


def route_timeout(route: RouteEntry | None) -> float | None:
    """Return the route's deadline in seconds, or None when it has none (0 also means none)."""
    if route is None or not route.timeout_ms:
        return None
    return route.timeout_ms / 1000.0


class TimeoutStats:
    """Route timeouts: requests answered 504 because the route's deadline passed."""

    def __init__(self) -> None:
        self.expired = 0


class RouteTimeout(Filter):
    """Puts the route's deadline around everything below it."""

    name = "timeout"

    def applies(self, route: RouteEntry) -> bool:
        return bool(route.timeout_ms)

    def __init__(self) -> None:
        self.deadlines = Deadlines()
        self.stats = TimeoutStats()

    def wrap(self, next_handler: Handler) -> Handler:
        deadlines, stats = self.deadlines, self.stats

        async def deadline(ex: Exchange) -> Response:
            route = ex.route
            if route is None or not route.timeout_ms:
                return await next_handler(ex)
            armed = deadlines.arm(route.timeout_ms / 1000.0)
            try:
                return await next_handler(ex)
            except asyncio.CancelledError:
                if armed.cancelled_us():
                    stats.expired += 1
                    raise RouteTimeoutExpired() from None
                raise
            finally:
                deadlines.disarm(armed)

        return deadline
