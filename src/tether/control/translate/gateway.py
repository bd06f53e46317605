"""Gateway proxies: Istio ``Gateway`` servers plus the VirtualServices bound to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tether.control.model.gateway_entry import GatewaySpec
from tether.control.model.resource import Resource
from tether.control.model.virtual_service import Destination
from tether.control.translate.hosts import host_matches, labels_match, qualify
from tether.control.translate.routes import http_routes
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Route, VirtualHost

if TYPE_CHECKING:
    from tether.control.world import World

HTTP_PROTOCOLS = frozenset({"", "HTTP", "HTTP2", "GRPC"})


class ClusterSink(Protocol):
    def cluster_for(self, dest: Destination, namespace: str, vhost_port: int) -> str: ...


def gateway_labels(node: ProxyNode) -> dict[str, str]:
    """Return the labels Gateway selectors are matched against: ``istio=<name>`` unless set."""
    labels = dict(node.labels)
    labels.setdefault("istio", node.name)
    return labels


def _selected(world: World, node: ProxyNode) -> list[tuple[Resource, GatewaySpec]]:
    labels = gateway_labels(node)
    return [(r, spec) for r, spec in world.gateways if labels_match(spec.selector, labels)]


def _bound(vs_gateways: tuple[str, ...], vs_namespace: str, gw: Resource) -> str | None:
    """Return how the VirtualService names ``gw`` in its ``gateways``, or None if it does not."""
    for ref in vs_gateways:
        ns, _, name = ref.rpartition("/")
        if name == gw.name and (ns or vs_namespace) == gw.namespace:
            return ref
    return None


def _server_hosts_cover(server_hosts: tuple[str, ...], host: str, vs_namespace: str) -> bool:
    for entry in server_hosts:
        ns, _, pattern = entry.rpartition("/")
        if ns not in ("", "*", ".", vs_namespace):
            continue
        if host_matches(pattern, host) or host_matches(host, pattern):
            return True
    return False


def gateway_hosts(world: World, node: ProxyNode, sink: ClusterSink) -> list[VirtualHost]:
    """Return the virtual hosts of gateway ``node``: one per (VirtualService host, server port).

    Domains are the host as written (``*`` for any Host) and ``host:port``; VirtualServices
    for the same host and port are merged in ``(namespace, name)`` order.
    """
    merged: dict[tuple[str, int], list[Route]] = {}
    for gw, spec in _selected(world, node):
        for server in spec.servers:
            if (server.port.protocol or "").upper() not in HTTP_PROTOCOLS:
                continue
            port = server.port.number
            for r, vs, _ in world.virtual_services:
                ref = _bound(vs.gateways, r.namespace, gw)
                if ref is None:
                    continue
                for raw in vs.hosts:
                    host = qualify(raw, r.namespace)
                    if not _server_hosts_cover(server.hosts, host, r.namespace):
                        continue
                    routes = http_routes(r.name, r.namespace, vs.http, port, node, sink.cluster_for, ref,
                                         r.annotations)
                    merged.setdefault((host, port), []).extend(routes)
    out = []
    for (host, port), routes in sorted(merged.items()):
        names = (host,) if host == "*" else (host, f"{host}:{port}")
        out.append(VirtualHost(name=f"{host}:{port}", domains=names, port=port, routes=tuple(routes)))
    return out
