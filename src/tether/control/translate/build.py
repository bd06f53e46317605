"""``translate(world, node)``: the one snapshot a proxy runs. Pure and deterministic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.virtual_service import Destination
from tether.control.translate.gamma import gamma_routes
from tether.control.translate.hosts import exported_to, labels_match, qualify
from tether.control.translate.peer_authn import inbound_tls_for, secure_cluster
from tether.control.translate.policy import cluster_policy
from tether.control.translate.ratelimit import cluster_rate_limit
from tether.control.translate.route_policy import DEFAULT_RETRY
from tether.control.translate.routes import http_routes
from tether.control.translate.security import JwksLookup, authz_for, request_authn_for
from tether.control.translate.select import DrEntry, VsEntry, destination_rule_for, virtual_service_for
from tether.control.translate.services import Service
from tether.control.translate.smi import split_routes
from tether.core.identity import ProxyNode, host_aliases
from tether.core.schema.snapshot import Cluster, Route, Snapshot, VirtualHost, WeightedCluster, with_version

if TYPE_CHECKING:
    from tether.control.world import World

DEFAULT_PORT = 80


def cluster_name(port: int, subset: str, fqdn: str) -> str:
    """Return Istio's cluster name ``outbound|<port>|<subset>|<fqdn>``."""
    return f"outbound|{port}|{subset}|{fqdn}"


def domains(fqdn: str, port: int, client_namespace: str) -> tuple[str, ...]:
    """Return every Host a client in ``client_namespace`` may send for ``fqdn`` on ``port``.

    Each alias with ``:<port>``; on port 80 also bare (clients omit ``:80``).
    """
    out: list[str] = []
    for alias in host_aliases(fqdn, client_namespace):
        if port == DEFAULT_PORT:
            out.append(alias)
        out.append(f"{alias}:{port}")
    return tuple(out)


class _Builder:
    """Accumulates the clusters one snapshot needs while its virtual hosts are built."""

    def __init__(self, world: World, node: ProxyNode) -> None:
        self.world = world
        self.node = node
        self.clusters: dict[str, Cluster] = {}
        self.visible = {
            fqdn: svc for fqdn, svc in world.services.items()
            if exported_to(svc.export_to, svc.namespace, node.namespace)
        }
        self._rules: dict[str, DrEntry | None] = {}

    def rule_entry(self, svc: Service) -> DrEntry | None:
        """Return the DestinationRule (resource and spec) for ``svc`` as this node sees it."""
        if svc.fqdn not in self._rules:
            self._rules[svc.fqdn] = destination_rule_for(self.world, self.node, svc.fqdn, svc.namespace)
        return self._rules[svc.fqdn]

    def rule(self, svc: Service) -> DestinationRuleSpec | None:
        """Return the spec of the DestinationRule for ``svc``, if any."""
        entry = self.rule_entry(svc)
        return entry[1] if entry is not None else None

    def cluster(self, svc: Service | None, fqdn: str, port: int, subset: str) -> str:
        """Return the name of the cluster for ``fqdn:port`` (subset), adding it if new.

        A host or subset nobody defines still gets a cluster, with no endpoints: the proxy
        answers 503 (no healthy upstream) as Istio does, and the snapshot stays consistent.
        """
        name = cluster_name(port, subset, fqdn)
        if name in self.clusters:
            return name
        entry = self.rule_entry(svc) if svc is not None else None
        rule = entry[1] if entry is not None else None
        endpoints = tuple(svc.endpoints.get(port, ())) if svc is not None else ()
        if subset:
            labels = next((s.labels for s in (rule.subsets if rule else ()) if s.name == subset), None)
            endpoints = tuple(e for e in endpoints if labels is not None and labels_match(labels, e.labels))
        policy = cluster_policy(rule, subset, port)
        self.clusters[name] = Cluster(
            name=name, service=fqdn, port=port, subset=subset, endpoints=endpoints,
            lb_policy=policy.lb_policy, consistent_hash=policy.consistent_hash,
            connection_pool=policy.connection_pool, outlier_detection=policy.outlier_detection,
            retry_budget=policy.retry_budget,
            rate_limit=cluster_rate_limit(entry[0].annotations) if entry is not None else None,
        )
        self.clusters[name] = secure_cluster(self.world, self.clusters[name], rule)
        return name

    def cluster_for(self, dest: Destination, namespace: str, vhost_port: int) -> str:
        """Return the cluster a route destination written in ``namespace`` sends to."""
        fqdn = qualify(dest.host, namespace)
        svc = self.visible.get(fqdn)
        port = dest.port.number if dest.port is not None else None
        if svc is not None:
            ports = svc.ports
            if port is None:
                port = vhost_port if vhost_port in ports or not ports else ports[0]
            elif port not in ports and svc.from_workloads and len(ports) == 1:
                # Port 80 of a workload service is Tether's convention; any port names the app.
                port = ports[0]
        return self.cluster(svc, fqdn, port or DEFAULT_PORT, dest.subset or "")

    def subsets(self, svc: Service, port: int) -> None:
        rule = self.rule(svc)
        for subset in rule.subsets if rule is not None else ():
            self.cluster(svc, svc.fqdn, port, subset.name)

    def routes(self, svc: Service, port: int, default: str, found: VsEntry | None) -> list[Route]:
        """Return the routes of ``svc:port``: VirtualService, else HTTPRoutes, else TrafficSplit."""
        if found is not None and found[1].http:
            r, spec = found
            return http_routes(r.name, r.namespace, spec.http, port, self.node, self.cluster_for,
                               annotations=r.annotations)
        attached = self.world.http_routes.get(svc.fqdn)
        if attached and found is None:
            gamma = gamma_routes(attached, svc.fqdn, svc.namespace, port, self.node, self.cluster_for)
            if gamma is not None:
                return gamma
        split = self.world.traffic_splits.get(svc.fqdn)
        if split is not None and found is None:
            r, ts = split
            return split_routes(r, ts, self.world.route_groups, port, default, self.cluster_for)
        # Istio gives the default route its default retry policy too.
        return [Route(name="default", clusters=(WeightedCluster(cluster=default),), retry=DEFAULT_RETRY)]

    def mesh_hosts(self) -> list[VirtualHost]:
        out: list[VirtualHost] = []
        for fqdn in sorted(self.visible):
            svc = self.visible[fqdn]
            found = virtual_service_for(self.world, self.node, fqdn, svc.namespace)
            for port in svc.ports:
                default = self.cluster(svc, fqdn, port, "")
                self.subsets(svc, port)
                routes = self.routes(svc, port, default, found)
                out.append(VirtualHost(name=f"{fqdn}:{port}", domains=domains(fqdn, port, self.node.namespace),
                                       port=port, routes=tuple(routes)))
        return out


def translate(world: World, node: ProxyNode, jwks: JwksLookup | None = None) -> Snapshot:
    """Return the versioned snapshot for ``node`` (version = content hash; same input, same version).

    ``jwks`` gives the keys fetched for each RequestAuthentication ``jwksUri`` (see ``control.jwks``).
    """
    from tether.control.translate.gateway import gateway_hosts

    b = _Builder(world, node)
    vhosts = b.mesh_hosts()
    ghosts = gateway_hosts(world, node, b) if node.kind == "gateway" else []
    snapshot = Snapshot(
        virtual_hosts=tuple(vhosts),
        clusters=tuple(b.clusters[k] for k in sorted(b.clusters)),
        gateway_hosts=tuple(ghosts),
        authz=authz_for(world, node),
        request_authn=request_authn_for(world, node, jwks),
        inbound_tls=inbound_tls_for(world, node),
    )
    return with_version(snapshot)
