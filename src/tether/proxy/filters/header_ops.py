"""Header manipulation (VirtualService ``headers.request`` / ``headers.response``).

Ops come from two levels: the route's, and those of the destination (weighted cluster)
the router drew. As in Envoy, the destination's ops run first and the route's after, so
a route-level ``set`` wins over a destination-level one. Within one level, ``remove``
runs first, then ``set`` (replaces every field of that name), then ``add`` (appends).
Request ops apply before anything below sees the request (the mirror and every retry
carry the result); response ops apply to the response headers on the way back.
"""

from __future__ import annotations

from tether.core.schema.snapshot import HeaderOps, WeightedCluster
from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.compiled import PolicyCache
from tether.proxy.routing import RouteEntry


class CompiledOps:
    """One HeaderOps with names lower-cased and values encoded once."""

    __slots__ = ("add", "remove", "set")

    def __init__(self, ops: HeaderOps) -> None:
        self.remove = tuple(name.lower().encode("latin-1") for name in ops.remove)
        self.set = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ops.set.items())
        self.add = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ops.add.items())

    def apply(self, headers: Headers) -> None:
        """Apply remove, then set, then add to ``headers`` in place."""
        for name in self.remove:
            headers.remove(name)
        for name, value in self.set:
            headers.set(name, value)
        for name, value in self.add:
            headers.add(name, value)


def chosen_destination(ex: Exchange) -> WeightedCluster | None:
    """Return the route destination whose cluster the router drew for ``ex``, or None."""
    route, cluster = ex.route, ex.cluster
    if route is None or cluster is None:
        return None
    for wc in route.spec.clusters:
        if wc.cluster == cluster.name:
            return wc
    return None


class HeaderOpsFilter(Filter):
    """Applies the route's and the chosen destination's header ops."""

    name = "header_ops"

    def applies(self, route: RouteEntry) -> bool:
        spec = route.spec
        return bool(
            spec.request_headers
            or spec.response_headers
            or any(w.request_headers or w.response_headers for w in spec.clusters)
        )

    def __init__(self) -> None:
        self.compiled = PolicyCache[HeaderOps, CompiledOps](CompiledOps)  # until the next snapshot

    def on_snapshot(self) -> None:
        self.compiled.clear()

    def plan(self, ex: Exchange) -> tuple[list[CompiledOps], list[CompiledOps]]:
        """Return the request ops and response ops for ``ex``, in the order they apply."""
        request: list[CompiledOps] = []
        response: list[CompiledOps] = []
        route = ex.route
        if route is None:
            return request, response
        dest = chosen_destination(ex)
        for level in (dest, route.spec):
            if level is None:
                continue
            if level.request_headers is not None:
                request.append(self.compiled(level.request_headers))
            if level.response_headers is not None:
                response.append(self.compiled(level.response_headers))
        return request, response

    def wrap(self, next_handler: Handler) -> Handler:
        async def header_ops(ex: Exchange) -> Response:
            request, response_ops = self.plan(ex)
            if request:
                for ops in request:
                    ops.apply(ex.headers)
                host = ex.headers.get(b"host")
                if host:
                    ex.authority = host  # an op on Host changes where the request says it goes
            response = await next_handler(ex)
            for ops in response_ops:
                ops.apply(response.headers)
            return response

        return header_ops
