"""Route timeout: one deadline over every attempt of a request (VirtualService ``timeout``).

The deadline runs from the moment the route is chosen until the response head arrives; it
covers retries and their back-off. When it passes, whatever attempt is in flight is
abandoned (its connection closed) and the caller gets 504 ``upstream request timeout`` with
flag ``UT``. Istio has no route timeout by default (``timeout_ms`` None or 0). A body still
streaming after the head is not cut by it (Envoy would reset the stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tether.proxy.chain import Filter, Handler
from tether.proxy.errors import UpstreamTimeout
from tether.proxy.exchange import Exchange, Response
from tether.proxy.routing import RouteEntry

T = TypeVar("T")


class RouteTimeoutExpired(UpstreamTimeout):
    """The route's deadline passed before a response head arrived (504 ``UT``)."""


def route_timeout(route: RouteEntry | None) -> float | None:
    """Return the route's deadline in seconds, or None when it has none (0 also means none)."""
    if route is None or not route.timeout_ms:
        return None
    return route.timeout_ms / 1000.0


async def within(seconds: float, work: Callable[[], Awaitable[T]], error: type[UpstreamTimeout]) -> T:
    """Return the result of ``work()``, or raise ``error`` if it takes longer than ``seconds``.

    A TimeoutError that ``work`` raises itself is passed through unchanged.
    """
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await work()
    except TimeoutError:
        if scope.expired():
            raise error() from None
        raise


class RouteTimeout(Filter):
    """Puts the route's deadline around everything below it."""

    name = "timeout"

    def wrap(self, next_handler: Handler) -> Handler:
        async def deadline(ex: Exchange) -> Response:
            seconds = route_timeout(ex.route)
            if seconds is None:
                return await next_handler(ex)
            return await within(seconds, lambda: next_handler(ex), RouteTimeoutExpired)

        return deadline
