"""Circuit breaking: every attempt is admitted against its cluster's request limit, or refused.

DestinationRule ``connectionPool.http.http2MaxRequests`` caps the requests a cluster has in
flight (Envoy applies it to HTTP/1.1 too); one more is answered at once with 503 and flag
``UO``, never queued. The connection limit and the pending queue (``maxConnections``,
``http1MaxPendingRequests``) are enforced where connections are taken, in
``upstream/pool.py``; both refuse with the same ``Overflow`` error. The count kept here is also
what the retry budget is a share of.
"""

from __future__ import annotations

from tether.proxy.chain import Filter, Handler
from tether.proxy.exchange import Exchange, Response
from tether.proxy.upstream.pool import Overflow

__all__ = ["CircuitBreaker", "Overflow", "admits"]


def admits(active: int, limit: int | None) -> bool:
    """Return whether one more request fits when ``active`` are in flight under ``limit``."""
    return limit is None or active < limit


class BreakerStats:
    """Circuit breaking: attempts refused over http2MaxRequests, and over the pending queue."""

    def __init__(self) -> None:
        self.overflow = 0
        self.pending_overflow = 0


class CircuitBreaker(Filter):
    """Counts each cluster's attempts in flight; raises Overflow (503 ``UO``) beyond the limit."""

    name = "circuit_breaker"

    def __init__(self) -> None:
        self.stats = BreakerStats()

    def wrap(self, next_handler: Handler) -> Handler:
        stats = self.stats

        async def admit(ex: Exchange) -> Response:
            cluster = ex.cluster
            if cluster is None:
                return await next_handler(ex)
            limit = cluster.max_requests
            load = cluster.load
            if limit is not None and load.active_requests >= limit:
                stats.overflow += 1
                raise Overflow()
            load.active_requests += 1
            try:
                return await next_handler(ex)
            except Overflow:
                stats.pending_overflow += 1  # the connection limit's queue was full
                raise
            finally:
                load.active_requests -= 1

        return admit
