"""Fault injection (VirtualService ``fault``): delays and aborts standing in for the upstream.

For each request the delay and the abort are drawn independently, each with its own
percentage, from the injected ``random.Random``. A chosen delay is served first (flag
``DI``), then, if an abort was chosen, the request is answered with its status and the
body ``fault filter abort`` (flag ``FI``) without reaching the upstream; otherwise it goes
on as usual.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import msgspec

from tether.core.schema.snapshot import FaultPolicy
from tether.proxy.chain import Filter, Handler
from tether.proxy.errors import ProxyError
from tether.proxy.exchange import Exchange, Response
from tether.proxy.routing import RouteEntry

Sleep = Callable[[float], Awaitable[None]]


class FaultAbort(ProxyError):
    """An injected abort; its status is the policy's ``httpStatus``."""

    status, flag, detail = 500, "FI", "fault filter abort"

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status


class FaultDecision(msgspec.Struct, frozen=True):
    """What to do to one request: a delay in ms (None for none) and an abort status (None)."""

    delay_ms: int | None = None
    abort_status: int | None = None


NO_FAULT = FaultDecision()


def chosen(percent: float, rng: random.Random) -> bool:
    """Return True for ``percent`` % of draws (0 never draws, 100 always)."""
    if percent >= 100.0:
        return True
    if percent <= 0.0:
        return False
    return rng.random() * 100.0 < percent


def decide(policy: FaultPolicy, rng: random.Random) -> FaultDecision:
    """Return the faults ``policy`` injects into one request, drawing from ``rng``."""
    delay = policy.delay_ms if policy.delay_ms is not None and chosen(policy.delay_percent, rng) else None
    abort = policy.abort_status if policy.abort_status is not None and chosen(policy.abort_percent, rng) else None
    if delay is None and abort is None:
        return NO_FAULT
    return FaultDecision(delay_ms=delay, abort_status=abort)


class FaultStats:
    """Counters of one filter: delays and aborts injected."""

    def __init__(self) -> None:
        self.delays = 0
        self.aborts = 0


class FaultInjection(Filter):
    """Injects the route's delays and aborts. ``sleep`` is injectable for tests."""

    name = "fault"

    def applies(self, route: RouteEntry) -> bool:
        return route.spec.fault is not None

    def __init__(self, rng: random.Random, sleep: Sleep = asyncio.sleep) -> None:
        self.rng = rng
        self.sleep = sleep
        self.stats = FaultStats()

    def wrap(self, next_handler: Handler) -> Handler:
        async def fault(ex: Exchange) -> Response:
            route = ex.route
            policy = route.spec.fault if route is not None else None
            if policy is None:
                return await next_handler(ex)
            decision = decide(policy, self.rng)
            if decision.delay_ms is not None:
                self.stats.delays += 1
                ex.add_flag("DI")
                await self.sleep(decision.delay_ms / 1000.0)
            if decision.abort_status is not None:
                self.stats.aborts += 1
                raise FaultAbort(decision.abort_status)
            return await next_handler(ex)

        return fault
