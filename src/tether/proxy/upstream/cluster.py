"""Clusters and endpoints as the proxy runs them: balancing state and counters."""

from __future__ import annotations

from collections.abc import Callable

from tether.core.schema.snapshot import Cluster, Endpoint
from tether.proxy.errors import NoHealthyUpstream
from tether.proxy.upstream.balancer import Balancer, make_balancer
from tether.proxy.upstream.pool import EndpointPool

PoolLookup = Callable[[str, int], EndpointPool]


class EndpointRuntime:
    """One endpoint with its pool and live counters."""

    __slots__ = (
        "active_requests",
        "address",
        "ejected",
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

    def __init__(self, spec: Endpoint, pool: EndpointPool) -> None:
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
        self.ejected = False


class ClusterRuntime:
    """A cluster of a snapshot, ready to pick endpoints."""

    def __init__(self, spec: Cluster, endpoints: list[EndpointRuntime], balancer: Balancer) -> None:
        self.spec = spec
        self.name = spec.name
        self.service = spec.service
        self.endpoints = endpoints
        self.balancer = balancer
        service_name, _, rest = spec.service.partition(".")
        self.service_name = service_name
        self.service_namespace = rest.partition(".")[0] if rest else "unknown"

    def pick(self) -> EndpointRuntime:
        """Return the endpoint for the next request; raises NoHealthyUpstream if none can serve."""
        candidates = self.endpoints
        if not candidates:
            raise NoHealthyUpstream()
        return self.balancer.pick(candidates)


def build_cluster(spec: Cluster, pool_for: PoolLookup) -> ClusterRuntime:
    """Return the runtime of ``spec`` with its endpoints bound to their (shared) pools."""
    endpoints = [EndpointRuntime(e, pool_for(e.address, e.port)) for e in spec.endpoints]
    return ClusterRuntime(spec, endpoints, make_balancer(spec.lb_policy))
