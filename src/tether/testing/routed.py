"""Unit-test helpers for route policies: a routing table from snapshot parts, and exchanges
routed through it exactly as the outbound router does (no sockets)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import msgspec

from tether.core.schema.snapshot import Cluster, Endpoint, Route, Snapshot, VirtualHost, WeightedCluster
from tether.core.tasks import TaskGroup
from tether.proxy.codec.body import Body
from tether.proxy.exchange import Exchange
from tether.proxy.filters.router import OutboundRouter
from tether.proxy.routing import RoutingTable, compile_table
from tether.proxy.upstream.pool import EndpointPool
from tether.testing.factories import make_exchange

SERVICE = "upstream.default.svc.cluster.local"
CLUSTER = f"outbound|80||{SERVICE}"


def cluster(name: str = CLUSTER, port: int = 80, **fields: object) -> Cluster:
    """Return a one-endpoint cluster (endpoint 127.0.0.1:``port``) with extra ``fields``."""
    spec = Cluster(name=name, service=SERVICE, port=80, endpoints=(Endpoint(address="127.0.0.1", port=port),))
    return msgspec.structs.replace(spec, **fields)


def route(name: str = "r0", clusters: Sequence[str] = (CLUSTER,), **fields: object) -> Route:
    """Return a catch-all route to ``clusters`` (equal weights) with extra ``fields``."""
    weighted = tuple(WeightedCluster(cluster=c, weight=100 // max(len(clusters), 1)) for c in clusters)
    return msgspec.structs.replace(Route(name=name, clusters=weighted), **fields)


def table(routes: Sequence[Route], clusters: Sequence[Cluster] = ()) -> RoutingTable:
    """Return the routing table of one virtual host ``upstream`` (port 80) with ``routes``.

    ``clusters`` defaults to the one cluster every route of ``route()`` names.
    """
    vhost = VirtualHost(name=f"{SERVICE}:80", domains=("upstream", "upstream:80", SERVICE), port=80,
                        routes=tuple(routes))
    snapshot = Snapshot(virtual_hosts=(vhost,), clusters=tuple(clusters) or (cluster(),))
    tasks = TaskGroup("test-pools")
    return compile_table(snapshot, lambda address, port: EndpointPool(address, port, tasks, 1.0))


def routed(
    tbl: RoutingTable,
    method: bytes = b"GET",
    target: bytes = b"/",
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: Body | None = None,
    rng: random.Random | None = None,
) -> Exchange:
    """Return an exchange for ``Host: upstream`` with route and cluster chosen by the router.

    Raises NoRoute as the router would.
    """
    ex = make_exchange(method, target, [(b"host", b"upstream"), *headers])
    if body is not None:
        ex.body = body
    OutboundRouter(lambda: tbl, rng or random.Random(1)).on_request(ex)
    return ex
