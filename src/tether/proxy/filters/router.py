"""Route selection: which virtual host, route and cluster an exchange goes to.

Outbound: the authority comes from an absolute-form target (``GET http://order/feed``)
or the Host header; the virtual host answering to it is looked up, its routes tried in
order (first match wins), a cluster drawn by weight, and rewrites applied. Inbound:
every request goes to the local app's cluster.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tether.proxy.chain import Filter
from tether.proxy.errors import NoRoute
from tether.proxy.exchange import Exchange
from tether.proxy.routing import CompiledMatch, RequestView, RoutingTable
from tether.proxy.upstream.cluster import ClusterRuntime


def split_target(ex: Exchange) -> None:
    """Set ``ex.authority`` and ``ex.path`` from an absolute-form target or the Host header."""
    target = ex.target
    if target[:7].lower() == b"http://":
        rest = target[7:]
        slash = rest.find(b"/")
        if slash < 0:
            ex.authority, ex.path = rest, b"/"
        else:
            ex.authority, ex.path = rest[:slash], rest[slash:]
        ex.headers.put(b"host", ex.authority)
    else:
        ex.authority = ex.headers.get(b"host") or b""
        ex.path = target


def _port_of(authority: str) -> int:
    _, sep, port = authority.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return int(port)
    return 80


def _rewrite_path(path: str, match: CompiledMatch | bool, rewrite: str) -> str:
    """Return ``path`` rewritten as Istio's ``rewrite.uri`` does: a matched prefix is replaced,
    otherwise the whole path (query string kept)."""
    base, sep, query = path.partition("?")
    uri = match.spec.uri if isinstance(match, CompiledMatch) else None
    if uri is not None and uri.prefix is not None:
        rest = base[len(uri.prefix) :]
        if rewrite.endswith("/") and rest.startswith("/"):
            rest = rest[1:]
        new = rewrite + rest or "/"
    else:
        new = rewrite
    return new + sep + query


class OutboundRouter(Filter):
    """Looks up the route for an outbound request; raises NoRoute (404 ``NR``)."""

    name = "router"

    def __init__(self, table: Callable[[], RoutingTable | None], rng: random.Random) -> None:
        self.table = table
        self.rng = rng

    def on_request(self, ex: Exchange) -> None:
        """Set route and cluster on ``ex`` (and apply rewrites); raises NoRoute."""
        table = self.table()
        split_target(ex)
        if table is None:
            raise NoRoute("no configuration yet")
        authority = ex.authority.decode("latin-1")
        vhost = table.virtual_host(authority)
        if vhost is None:
            raise NoRoute(f"no route for host {authority!r}")
        path = ex.path.decode("latin-1")
        view = RequestView(ex.method.decode(), path, authority, ex.headers, _port_of(authority))
        for route in vhost.routes:
            matched = route.matching(view)
            if matched is not None:
                break
        else:
            raise NoRoute(f"no route matches {ex.method.decode()} {path} on {authority!r}")
        ex.route = route
        ex.cluster = route.pick_cluster(self.rng)
        if route.prefix_rewrite is not None:
            ex.original_path = ex.path
            ex.path = _rewrite_path(path, matched, route.prefix_rewrite).encode("latin-1")
        if route.authority_rewrite is not None:
            ex.authority = route.authority_rewrite.encode()
            ex.headers.put(b"host", ex.authority)


class InboundRouter(Filter):
    """Sends every inbound request to the local app's cluster."""

    name = "router"

    def __init__(self, cluster: Callable[[], ClusterRuntime | None]) -> None:
        self.cluster = cluster

    def on_request(self, ex: Exchange) -> None:
        cluster = self.cluster()
        if cluster is None:
            raise NoRoute("no local app port configured")
        ex.authority = ex.headers.get(b"host") or b""
        ex.cluster = cluster
