"""The filter chain: the Filter protocol and ``compose``.

A filter may wrap the handler below it (to act on the request, the response, or
errors) and may observe every finished exchange through ``on_complete`` (called once
the response has been written, with final status, flags and byte counts). The order
of filters is written once per direction, in ``inbound.py`` and ``outbound.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from tether.proxy.exchange import Exchange, Response

Handler = Callable[[Exchange], Awaitable[Response]]
Completion = Callable[[Exchange], None]


class Filter:
    """Base filter: passes requests through and ignores completions. Override either."""

    name = "filter"

    def wrap(self, next_handler: Handler) -> Handler:
        """Return the handler that runs this filter, then ``next_handler``."""
        return next_handler

    def on_complete(self, ex: Exchange) -> None:
        """Observe a finished exchange."""

    def on_snapshot(self) -> None:
        """Drop state tied to the previous snapshot (called after every swap)."""


def compose(filters: Sequence[Filter], terminal: Handler) -> tuple[Handler, Completion]:
    """Return the handler running ``filters`` outermost-first around ``terminal``, and one
    completion callback calling every filter's ``on_complete`` in stack order."""
    handler = terminal
    for flt in reversed(filters):
        handler = flt.wrap(handler)
    hooks = tuple(f.on_complete for f in filters if type(f).on_complete is not Filter.on_complete)

    def complete(ex: Exchange) -> None:
        for hook in hooks:
            hook(ex)

    return handler, complete
