"""Clusters and endpoints as the proxy runs them: balancing, ejections, limits and counters."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.schema.snapshot import Cluster, ConnectionPool, Endpoint
from tether.proxy.errors import NoHealthyUpstream
from tether.proxy.upstream.balancer import Balancer, hash64, hash_key, make_balancer
from tether.proxy.upstream.outlier import HostHealth, OutlierDetector
from tether.proxy.upstream.pool import ClusterLoad, ConnectionLimiter, EndpointPool, Terms

if TYPE_CHECKING:
    from tether.proxy.exchange import Exchange

PoolLookup = Callable[[str, int], EndpointPool]
HOST_RETRIES = 3  # picks tried to avoid the previous attempt's endpoint (Istio's previous_hosts)


class EndpointRuntime:
    """One endpoint with its pool, live counters and outlier record."""

    __slots__ = (
        "active_requests",
        "address",
        "health",
        "healthy",
        "host",
        "labels",
        "namespace",
        "pool",
        "port",
        "principal",
        "total_requests",
        "workload",
    )

    def __init__(self, spec: Endpoint, pool: EndpointPool, health: HostHealth | None = None) -> None:
        self.address = spec.address
        self.port = spec.port
        self.host = f"{spec.address}:{spec.port}"
        self.labels = spec.labels
        self.workload = spec.workload or spec.labels.get("app", "unknown")
        self.namespace = spec.namespace
        self.principal = spec.principal
        self.pool = pool
        self.active_requests = 0
        self.total_requests = 0
        self.healthy = True
        self.health = health if health is not None else HostHealth()

    @property
    def ejected(self) -> bool:
        """Return whether outlier detection has taken this endpoint out of balancing."""
        return self.health.ejected


class ClusterRuntime:
    """A cluster of a snapshot, ready to pick endpoints and to admit requests."""

    def __init__(
        self,
        spec: Cluster,
        endpoints: list[EndpointRuntime],
        balancer: Balancer,
        clock: Clock = SYSTEM_CLOCK,
        load: ClusterLoad | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.service = spec.service
        self.endpoints = endpoints
        self.balancer = balancer
        self.clock = clock
        service_name, _, rest = spec.service.partition(".")
        self.service_name = service_name
        self.service_namespace = rest.partition(".")[0] if rest else "unknown"
        self.hashing = spec.consistent_hash
        self.load = load if load is not None else ClusterLoad()
        pool = spec.connection_pool or ConnectionPool()
        self.max_requests = pool.http2_max_requests
        self.max_retries = pool.max_retries
        self.connect_timeout = pool.connect_timeout_ms / 1000.0
        limiter = self.load.limiter
        if pool.max_connections is None:
            limiter = None
        elif limiter is None:
            limiter = ConnectionLimiter(pool.max_connections, pool.http1_max_pending_requests)
        else:
            limiter.resize(pool.max_connections, pool.http1_max_pending_requests)
        self.load.limiter = self.limiter = limiter
        limited = self.limiter is not None or pool.max_requests_per_connection is not None
        self.terms = Terms(self.limiter, pool.max_requests_per_connection) if limited else None
        od = spec.outlier_detection
        self.outlier = OutlierDetector(od, [e.health for e in endpoints], clock) if od and endpoints else None
        self.available = self._available()

    def _available(self) -> list[EndpointRuntime]:
        outlier = self.outlier
        if outlier is None or outlier.panic():
            return self.endpoints
        return [e for e in self.endpoints if not e.health.ejected]

    def pick(self, ex_key: int | None = None, avoid: EndpointRuntime | None = None) -> EndpointRuntime:
        """Return the endpoint for the next attempt, preferring one other than ``avoid``;
        raises NoHealthyUpstream if none can serve."""
        outlier = self.outlier
        if outlier is not None and outlier.due() and outlier.sweep():
            self.available = self._available()
        candidates = self.available
        if not candidates:
            raise NoHealthyUpstream()
        endpoint = self.balancer.pick(candidates, ex_key)
        if avoid is not None and endpoint is avoid and len(candidates) > 1:
            for _ in range(HOST_RETRIES):
                endpoint = self.balancer.pick(candidates, None)
                if endpoint is not avoid:
                    break
        return endpoint

    def report(self, endpoint: EndpointRuntime, status: int) -> None:
        """Feed one result of ``endpoint`` to outlier detection (no-op without it)."""
        outlier = self.outlier
        if outlier is not None and outlier.report(endpoint.health, status):
            self.available = self._available()

    def refresh(self) -> None:
        """Run the outlier sweep if it is due (the admin calls this before showing ejections)."""
        outlier = self.outlier
        if outlier is not None and outlier.due() and outlier.sweep():
            self.available = self._available()

    def key_of(self, ex: Exchange) -> tuple[int | None, str | None]:
        """Return the request's consistent-hash key and, when the hash cookie is absent and has a
        ttl, the cookie value to set on the response (Envoy generates one the same way)."""
        spec = self.hashing
        if spec is None:
            return None, None
        headers = ex.headers
        query = ex.path.partition(b"?")[2]
        key = hash_key(spec, headers, query, ex.client_address)
        if key is None and spec.cookie is not None and spec.cookie_ttl_ms:
            seed = ex.client_address.encode() + b"|" + ex.request_id + b"|" + str(self.clock.wall()).encode()
            value = f"{hash64(seed):016x}"
            return hash64(value.encode()), value
        return key, None


def build_cluster(
    spec: Cluster, pool_for: PoolLookup, clock: Clock = SYSTEM_CLOCK, rng: random.Random | None = None
) -> ClusterRuntime:
    """Return the runtime of ``spec`` with its endpoints bound to their (shared) pools; outlier
    records and in-flight counters come from the pools, so they outlive a snapshot swap."""
    endpoints = []
    idle_timeout = spec.connection_pool.idle_timeout_ms if spec.connection_pool else None
    for e in spec.endpoints:
        pool = pool_for(e.address, e.port)
        if idle_timeout is not None:
            pool.idle_timeout = idle_timeout / 1000.0
        health = pool.host_health(spec.name) if spec.outlier_detection is not None else None
        endpoints.append(EndpointRuntime(e, pool, health))
    balancer = make_balancer(spec.lb_policy, rng or random.Random(), spec.consistent_hash)
    manager = endpoints[0].pool.manager if endpoints else None
    load = manager.load(spec.name) if manager is not None else None
    return ClusterRuntime(spec, endpoints, balancer, clock, load)
