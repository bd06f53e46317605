"""The filter chain: the Filter protocol and ``compose``.

A filter may wrap the handler below it (to act on the request, the response, or
errors), or, when it only looks at or changes the request on its way down, implement
the cheaper synchronous ``on_request``; and it may observe every finished exchange
through ``on_complete`` (called once the response has been written, with final
status, flags and byte counts). The order of filters is written once per direction,
in ``inbound.py`` and ``outbound.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from tether.core.schema.snapshot import Snapshot
from tether.proxy.exchange import Exchange, Response

if TYPE_CHECKING:
    from tether.proxy.routing import RouteEntry

Handler = Callable[[Exchange], Awaitable[Response]]
Completion = Callable[[Exchange], None]
RequestHook = Callable[[Exchange], None]


class Filter:
    """Base filter: passes requests through and ignores completions. Override any hook."""

    name = "filter"

    def wrap(self, next_handler: Handler) -> Handler:
        """Return the handler that runs this filter, then ``next_handler``."""
        return next_handler

    def on_request(self, ex: Exchange) -> None:
        """Act on the request before the layers below see it; may raise a ProxyError."""

    def on_complete(self, ex: Exchange) -> None:
        """Observe a finished exchange."""

    def applies(self, route: RouteEntry) -> bool:
        """Return whether this filter has anything to do on ``route`` (filters below the router
        are left out of the chain of a route they would only pass through)."""
        return True

    def check_snapshot(self, snapshot: Snapshot) -> None:
        """Refuse a snapshot this filter cannot run, before it is swapped in: raise ConfigRejected."""

    def on_snapshot(self) -> None:
        """Drop state tied to the previous snapshot (called after every swap)."""


def _overrides(flt: Filter, hook: str) -> bool:
    return getattr(type(flt), hook) is not getattr(Filter, hook)


def _run_hooks_then(hooks: Sequence[RequestHook], inner: Handler) -> Handler:
    """Return one layer running consecutive ``on_request`` hooks, then ``inner``."""
    if len(hooks) == 1:
        (hook,) = hooks

        async def one(ex: Exchange) -> Response:
            hook(ex)
            return await inner(ex)

        return one
    frozen = tuple(hooks)

    async def several(ex: Exchange) -> Response:
        for each in frozen:
            each(ex)
        return await inner(ex)

    return several


def compose(filters: Sequence[Filter], terminal: Handler) -> Handler:
    """Return the handler running ``filters`` outermost-first around ``terminal``.

    Consecutive ``on_request`` hooks share one layer (one coroutine per request instead
    of one per filter); they run inside every wrapping filter above them."""
    handler = terminal
    pending: list[RequestHook] = []
    for flt in reversed(filters):
        if _overrides(flt, "on_request"):
            pending.insert(0, flt.on_request)
        if _overrides(flt, "wrap"):
            if pending:
                handler, pending = _run_hooks_then(pending, handler), []
            handler = flt.wrap(handler)
    if pending:
        handler = _run_hooks_then(pending, handler)
    return handler


def completion(filters: Sequence[Filter]) -> Completion:
    """Return one callback calling every filter's ``on_complete`` in stack order."""
    hooks = tuple(f.on_complete for f in filters if _overrides(f, "on_complete"))

    def complete(ex: Exchange) -> None:
        for hook in hooks:
            hook(ex)

    return complete


def per_route(filters: Sequence[Filter], terminal: Handler) -> Handler:
    """Return a handler running, for each exchange, the chain of its route: ``filters`` that
    apply to that route, around ``terminal``. Each route's chain is composed once, on first
    use, and kept on the route (a new snapshot brings new routes, so nothing goes stale)."""

    def chain_of(route: RouteEntry) -> Handler:
        handler = compose([f for f in filters if f.applies(route)], terminal)
        route.chain = handler
        return handler

    async def dispatch(ex: Exchange) -> Response:
        route = ex.route
        if route is None:
            return await terminal(ex)
        handler = route.chain
        if handler is None:
            handler = chain_of(route)
        return await handler(ex)

    return dispatch
