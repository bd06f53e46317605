"""Route tables compiled from a snapshot, and the pure matching of a request to a route.

Nothing here does I/O: ``compile_table`` turns a snapshot into lookup structures once
per snapshot, and ``RoutingTable.match`` picks a route for a request view.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.errors import ConfigRejected
from tether.core.schema.snapshot import Route, RouteMatch, Snapshot, StringMatch
from tether.proxy.chain import Handler
from tether.proxy.codec.http1 import Headers
from tether.proxy.upstream.cluster import ClusterRuntime, PoolLookup, build_cluster

Predicate = Callable[[str], bool]


def string_predicate(match: StringMatch) -> Predicate:
    """Return a test for Istio's StringMatch (exact, prefix or full-match regex)."""
    if match.exact is not None:
        exact = match.exact
        return lambda value: value == exact
    if match.prefix is not None:
        prefix = match.prefix
        return lambda value: value.startswith(prefix)
    if match.regex is not None:
        pattern = re.compile(match.regex)
        return lambda value: pattern.fullmatch(value) is not None
    return lambda value: True


class RequestView:
    """What matching looks at: method, path (without query), query, authority, headers, port."""

    __slots__ = ("authority", "headers", "method", "path", "port", "query")

    def __init__(self, method: str, target: str, authority: str, headers: Headers, port: int) -> None:
        self.method = method
        self.path, _, self.query = target.partition("?")
        self.authority = authority
        self.headers = headers
        self.port = port


class CompiledMatch:
    """One RouteMatch as a list of predicates over a RequestView (all must hold)."""

    def __init__(self, spec: RouteMatch) -> None:
        self.spec = spec
        tests: list[Callable[[RequestView], bool]] = []
        if spec.uri is not None:
            uri = string_predicate(spec.uri)
            tests.append(lambda r: uri(r.path))
        if spec.method is not None:
            method = string_predicate(spec.method)
            tests.append(lambda r: method(r.method))
        if spec.authority is not None:
            authority = string_predicate(spec.authority)
            tests.append(lambda r: authority(r.authority))
        for header in spec.headers:
            tests.append(_header_test(header.name.lower().encode(), header.match, header.present))
        if spec.query_params:
            params = {k: string_predicate(v) for k, v in spec.query_params.items()}
            tests.append(lambda r: _query_ok(r.query, params))
        if spec.port is not None:
            port = spec.port
            tests.append(lambda r: r.port == port)
        self.tests = tuple(tests)

    def __call__(self, request: RequestView) -> bool:
        return all(test(request) for test in self.tests)


def _header_test(name: bytes, match: StringMatch | None, present: bool) -> Callable[[RequestView], bool]:
    value_ok = string_predicate(match) if match is not None else None

    def test(request: RequestView) -> bool:
        value = request.headers.get(name)
        if value is None:
            return not present
        if not present:
            return False
        return value_ok is None or value_ok(value.decode("latin-1"))

    return test


def _query_ok(query: str, params: Mapping[str, Predicate]) -> bool:
    values = dict(parse_qsl(query, keep_blank_values=True))
    return all(name in values and test(values[name]) for name, test in params.items())


class RouteEntry:
    """A compiled route: its matches, weighted clusters and per-route settings."""

    def __init__(self, spec: Route, matches: list[CompiledMatch], clusters: list[tuple[ClusterRuntime, int]]) -> None:
        self.spec = spec
        self.name = spec.name
        self.matches = matches
        self.clusters = clusters
        self.total_weight = sum(w for _, w in clusters)
        self.timeout_ms: int | None = None
        self.prefix_rewrite: str | None = None
        self.authority_rewrite: str | None = None
        self.chain: Handler | None = None  # the policies of this route, composed on first use

    def matching(self, request: RequestView) -> CompiledMatch | bool | None:
        """Return the match that holds (True when the route matches everything), else None."""
        if not self.matches:
            return True
        for match in self.matches:
            if match(request):
                return match
        return None

    def pick_cluster(self, rng: random.Random) -> ClusterRuntime | None:
        """Return one cluster, drawn by weight (None for a route that answers by itself)."""
        clusters = self.clusters
        if not clusters:
            return None
        if len(clusters) == 1:
            return clusters[0][0]
        point = rng.random() * self.total_weight
        for cluster, weight in clusters:
            point -= weight
            if point < 0:
                return cluster
        return clusters[-1][0]


class VirtualHostEntry:
    def __init__(self, name: str, port: int, routes: list[RouteEntry]) -> None:
        self.name = name
        self.port = port
        self.routes = routes


class RoutingTable:
    """Everything compiled from one snapshot; replaced whole, never changed."""

    def __init__(
        self,
        snapshot: Snapshot,
        domains: dict[str, VirtualHostEntry],
        clusters: dict[str, ClusterRuntime],
        any_port: bool = False,
    ) -> None:
        self.snapshot = snapshot
        # A gateway's hosts match on any port (Istio: "<host>:*"); a sidecar's ports are services.
        self.any_port = any_port
        self.clusters = clusters
        self.domains = {d: v for d, v in domains.items() if not d.startswith("*")}
        # "*.example.com" patterns, longest suffix first; "*" alone catches everything else.
        self.wildcards = sorted(
            ((d[1:], v) for d, v in domains.items() if d.startswith("*.")), key=lambda p: -len(p[0])
        )
        self.catch_all = domains.get("*")

    def virtual_host(self, authority: str) -> VirtualHostEntry | None:
        """Return the virtual host answering to ``authority`` (case-insensitive), or None.

        Exact names win over ``*.suffix`` patterns (longest first), which win over ``*``.
        """
        vhost = self.domains.get(authority)
        if vhost is not None:
            return vhost
        lowered = authority.lower()
        vhost = self.domains.get(lowered)
        if vhost is not None:
            return vhost
        name, colon, port = lowered.rpartition(":")
        host = name if colon and port.isdigit() else lowered
        if self.any_port and host != lowered:
            vhost = self.domains.get(host)
            if vhost is not None:
                return vhost
        if self.wildcards:
            for suffix, candidate in self.wildcards:
                if host.endswith(suffix):
                    return candidate
        return self.catch_all


def compile_table(
    snapshot: Snapshot,
    pool_for: PoolLookup,
    gateway: bool = False,
    clock: Clock = SYSTEM_CLOCK,
    rng: random.Random | None = None,
) -> RoutingTable:
    """Return the routing table of ``snapshot`` (its ``gateway_hosts`` when ``gateway``); the
    clusters balance and eject on ``clock`` and ``rng``. Raises ConfigRejected if it is inconsistent."""
    clusters = {c.name: build_cluster(c, pool_for, clock, rng) for c in snapshot.clusters}
    domains: dict[str, VirtualHostEntry] = {}
    for vh in snapshot.gateway_hosts if gateway else snapshot.virtual_hosts:
        routes = []
        for route in vh.routes:
            targets = []
            for wc in route.clusters:
                cluster = clusters.get(wc.cluster)
                if cluster is None:
                    raise ConfigRejected(f"route {route.name!r} of {vh.name} names unknown cluster {wc.cluster!r}")
                targets.append((cluster, wc.weight))
            if not targets and route.redirect is None and route.direct_response is None:
                raise ConfigRejected(f"route {route.name!r} of {vh.name} has no destination")
            try:
                matches = [CompiledMatch(m) for m in route.matches]
            except re.error as exc:
                raise ConfigRejected(f"route {route.name!r} of {vh.name}: bad regex: {exc}") from exc
            entry = RouteEntry(route, matches, targets)
            entry.timeout_ms = route.timeout_ms
            entry.prefix_rewrite = route.prefix_rewrite
            entry.authority_rewrite = route.authority_rewrite
            routes.append(entry)
        entry_vh = VirtualHostEntry(vh.name, vh.port, routes)
        for domain in vh.domains:
            domains.setdefault(domain.lower(), entry_vh)
    return RoutingTable(snapshot, domains, clusters, any_port=gateway)
