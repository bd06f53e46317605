"""Local rate limiting: a token bucket per route and per destination cluster.

The bucket works like Envoy's local rate limit: it starts full (``max_tokens``) and every
``fill_interval_ms`` it gains ``tokens_per_fill`` tokens, never more than ``max_tokens``;
a request takes one token or is refused with 429 ``local_rate_limited`` (flag ``RL``).
The route's bucket is asked first, then the cluster's. Buckets live across snapshots as
long as the route (or cluster) keeps the same name and the same limit.
"""

from __future__ import annotations

from collections.abc import Callable

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.schema.snapshot import RateLimit
from tether.proxy.chain import Filter
from tether.proxy.errors import ProxyError
from tether.proxy.exchange import Exchange
from tether.proxy.routing import RouteEntry, RoutingTable


class RateLimited(ProxyError):
    status, flag, detail = 429, "RL", "local_rate_limited"


class TokenBucket:
    """A token bucket on injected time (seconds); pure, no I/O."""

    __slots__ = ("interval", "last_fill", "max_tokens", "per_fill", "tokens")

    def __init__(self, spec: RateLimit, now: float) -> None:
        self.max_tokens = spec.max_tokens
        self.per_fill = spec.tokens_per_fill
        self.interval = max(spec.fill_interval_ms, 1) / 1000.0
        self.tokens = spec.max_tokens
        self.last_fill = now

    def refill(self, now: float) -> None:
        """Add the tokens of every whole fill interval passed since the last fill."""
        fills = int((now - self.last_fill) / self.interval)
        if fills > 0:
            self.tokens = min(self.max_tokens, self.tokens + fills * self.per_fill)
            self.last_fill += fills * self.interval

    def try_take(self, now: float) -> bool:
        """Return True and take a token if one is available at ``now``, else False."""
        self.refill(now)
        if self.tokens > 0:
            self.tokens -= 1
            return True
        return False


BucketKey = tuple[str, str, RateLimit]


class RateLimitStats:
    """Counters of one filter: requests allowed and refused."""

    def __init__(self) -> None:
        self.allowed = 0
        self.limited = 0


class LocalRateLimit(Filter):
    """Refuses requests over the route's or the cluster's token bucket (429 ``RL``)."""

    name = "ratelimit"

    def applies(self, route: RouteEntry) -> bool:
        return route.spec.rate_limit is not None or any(c.spec.rate_limit is not None for c, _ in route.clusters)

    def __init__(self, table: Callable[[], RoutingTable | None], clock: Clock = SYSTEM_CLOCK) -> None:
        self.table = table
        self.clock = clock
        self.buckets: dict[BucketKey, TokenBucket] = {}
        self.stats = RateLimitStats()

    def bucket(self, key: BucketKey) -> TokenBucket:
        """Return the bucket for ``key``, creating a full one on first use."""
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(key[2], self.clock.monotonic())
        return bucket

    def on_request(self, ex: Exchange) -> None:
        """Take a token for ``ex`` from each bucket that applies; raises RateLimited."""
        route, cluster = ex.route, ex.cluster
        keys: list[BucketKey] = []
        if route is not None and route.spec.rate_limit is not None:
            keys.append(("route", route.name, route.spec.rate_limit))
        if cluster is not None and cluster.spec.rate_limit is not None:
            keys.append(("cluster", cluster.name, cluster.spec.rate_limit))
        if not keys:
            return
        now = self.clock.monotonic()
        for key in keys:
            if not self.bucket(key).try_take(now):
                self.stats.limited += 1
                raise RateLimited()
        self.stats.allowed += 1

    def on_snapshot(self) -> None:
        """Drop the buckets no route or cluster of the new snapshot uses any more."""
        table = self.table()
        if table is None or not self.buckets:
            return
        live: set[BucketKey] = set()
        for cluster in table.clusters.values():
            if cluster.spec.rate_limit is not None:
                live.add(("cluster", cluster.name, cluster.spec.rate_limit))
        for vh in {id(v): v for v in table.domains.values()}.values():
            for route in vh.routes:
                if route.spec.rate_limit is not None:
                    live.add(("route", route.name, route.spec.rate_limit))
        self.buckets = {k: v for k, v in self.buckets.items() if k in live}
