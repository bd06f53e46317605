"""The world translation sees: accepted resources plus registered workloads, indexed once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from tether.control.model.check_routes import applies_to_mesh
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.gateway_api import HTTPRouteSpec
from tether.control.model.gateway_entry import GatewaySpec
from tether.control.model.resource import Resource
from tether.control.model.smi import HTTPRouteGroupSpec, TrafficSplitSpec
from tether.control.model.virtual_service import VirtualServiceSpec
from tether.control.translate.gamma import http_route_parents
from tether.control.translate.hosts import qualify
from tether.control.translate.select import DrEntry, HostIndex, VsEntry
from tether.control.translate.services import Service, build_services
from tether.core.identity import ProxyNode


class Workload(msgspec.Struct, frozen=True):
    """A registered proxy: who it is and its sidecar inbound listener (``address:port``)."""

    node: ProxyNode
    address: str
    port: int


@dataclass(frozen=True, eq=False)
class World:
    """Resources and workloads; never changed once built (build a new one for a change).

    Indexes (``services``, ``virtual_services``, ``destination_rules``, ``gateways``) are
    computed at construction; resources of each kind are sorted by ``(namespace, name)``.
    """

    resources: tuple[Resource, ...] = ()
    workloads: tuple[Workload, ...] = ()
    services: dict[str, Service] = field(init=False, repr=False)
    virtual_services: tuple[tuple[Resource, VirtualServiceSpec, tuple[str, ...]], ...] = field(
        init=False, repr=False
    )
    destination_rules: tuple[tuple[Resource, DestinationRuleSpec, str], ...] = field(
        init=False, repr=False
    )
    gateways: tuple[tuple[Resource, GatewaySpec], ...] = field(init=False, repr=False)
    by_kind: dict[str, tuple[Resource, ...]] = field(init=False, repr=False)
    mesh_vs_index: HostIndex[VsEntry] = field(init=False, repr=False)
    http_routes: dict[str, list[tuple[Resource, HTTPRouteSpec]]] = field(init=False, repr=False)
    traffic_splits: dict[str, tuple[Resource, TrafficSplitSpec]] = field(init=False, repr=False)
    route_groups: dict[tuple[str, str], HTTPRouteGroupSpec] = field(init=False, repr=False)
    dr_index: HostIndex[DrEntry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        resources = tuple(sorted(self.resources, key=lambda r: (r.kind, r.namespace, r.name)))
        workloads = tuple(self.workloads)
        set_ = object.__setattr__
        set_(self, "resources", resources)
        set_(self, "workloads", workloads)
        by_kind: dict[str, list[Resource]] = {}
        for r in resources:
            by_kind.setdefault(r.kind, []).append(r)
        set_(self, "by_kind", {k: tuple(v) for k, v in by_kind.items()})
        set_(self, "services", build_services(
            resources, ((w.node, w.address, w.port) for w in workloads)))
        set_(self, "virtual_services", tuple(
            (r, r.spec, tuple(qualify(h, r.namespace) for h in r.spec.hosts))
            for r in resources if isinstance(r.spec, VirtualServiceSpec)))
        set_(self, "destination_rules", tuple(
            (r, r.spec, qualify(r.spec.host, r.namespace))
            for r in resources if isinstance(r.spec, DestinationRuleSpec)))
        set_(self, "gateways", tuple(
            (r, r.spec) for r in resources if isinstance(r.spec, GatewaySpec)))
        set_(self, "mesh_vs_index", HostIndex(
            (host, (r, spec)) for r, spec, hosts in self.virtual_services
            if applies_to_mesh(spec.gateways) for host in hosts))
        set_(self, "dr_index", HostIndex((host, (r, spec)) for r, spec, host in self.destination_rules))
        routes: dict[str, list[tuple[Resource, HTTPRouteSpec]]] = {}
        splits: dict[str, tuple[Resource, TrafficSplitSpec]] = {}
        groups: dict[tuple[str, str], HTTPRouteGroupSpec] = {}
        for r in resources:
            if isinstance(r.spec, HTTPRouteSpec):
                for fqdn in {f for f, _ in http_route_parents(r, r.spec)}:
                    routes.setdefault(fqdn, []).append((r, r.spec))
            elif isinstance(r.spec, TrafficSplitSpec):
                splits.setdefault(qualify(r.spec.service, r.namespace), (r, r.spec))
            elif isinstance(r.spec, HTTPRouteGroupSpec):
                groups[(r.namespace, r.name)] = r.spec
        set_(self, "http_routes", routes)
        set_(self, "traffic_splits", splits)
        set_(self, "route_groups", groups)

    def of_kind(self, kind: str) -> tuple[Resource, ...]:
        """Return the resources of ``kind`` sorted by ``(namespace, name)``."""
        return self.by_kind.get(kind, ())


def workloads_of(items: Iterable[Workload]) -> tuple[Workload, ...]:
    """Return ``items`` sorted by namespace, name and address (a stable registry order)."""
    return tuple(sorted(items, key=lambda w: (w.node.namespace, w.node.name, w.address, w.port)))
