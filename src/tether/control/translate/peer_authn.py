"""PeerAuthentication and DestinationRule ``tls`` → a proxy's mTLS settings. Pure.

Inbound (``InboundTls``): the most specific PeerAuthentication wins, as in Istio: a
workload policy (selector matching the workload, in its namespace; the oldest, here the
first by name, if several), else the namespace's (no selector), else the mesh's (no
selector, in the root namespace ``tether-system``), else PERMISSIVE. ``UNSET`` inherits
from the level above. ``portLevelMtls`` of the workload policy sets single workload ports.

Outbound: a cluster's ``tls_mode`` comes from its DestinationRule (``ISTIO_MUTUAL`` or
``DISABLE``; the port-level setting, then the subset's, override the top level). Unset is
auto mTLS: endpoints whose workload's PeerAuthentication is DISABLE are marked
``plaintext``, the others get mTLS when they have a principal. ``SIMPLE``/``MUTUAL`` (TLS
origination with user certificates) are not supported and leave the cluster on auto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import msgspec

from tether.control.model.destination_rule import ClientTLSSettings, DestinationRuleSpec
from tether.control.model.resource import Resource
from tether.control.model.security import PeerAuthenticationSpec
from tether.control.translate.hosts import labels_match
from tether.control.translate.services import workload_labels
from tether.core.identity import ProxyNode
from tether.core.schema.security import ROOT_NAMESPACE
from tether.core.schema.snapshot import Cluster
from tether.core.schema.tls import DISABLE, ISTIO_MUTUAL, MODES, PERMISSIVE, InboundTls

if TYPE_CHECKING:
    from tether.control.world import World

KIND = "PeerAuthentication"


def _mode(spec: PeerAuthenticationSpec | None) -> str | None:
    mode = spec.mtls.mode if spec is not None and spec.mtls is not None else None
    return mode if mode in MODES else None  # None and UNSET inherit


def _policies(world: World) -> list[tuple[Resource, PeerAuthenticationSpec]]:
    return [(r, r.spec) for r in world.of_kind(KIND) if isinstance(r.spec, PeerAuthenticationSpec)]


def inbound_tls_for(world: World, node: ProxyNode) -> InboundTls | None:
    """Return the PeerAuthentication in force for ``node``, or None when no policy applies (PERMISSIVE)."""
    policies = _policies(world)
    if not policies:
        return None
    labels = workload_labels(node)
    mesh = next(((r, s) for r, s in policies if r.namespace == ROOT_NAMESPACE and s.selector is None), None)
    namespace = next(((r, s) for r, s in policies if r.namespace == node.namespace and s.selector is None), None)
    workload = next(((r, s) for r, s in policies if r.namespace == node.namespace and s.selector is not None
                     and labels_match(s.selector.match_labels, labels)), None)
    if mesh is None and namespace is None and workload is None:
        return None
    mode, source = PERMISSIVE, ""
    for found in (mesh, namespace, workload):
        if found is not None and _mode(found[1]) is not None:
            mode, source = _mode(found[1]) or mode, f"{KIND}/{found[0].namespace}/{found[0].name}"
    ports: dict[int, str] = {}
    if workload is not None:
        for key, setting in workload[1].port_level_mtls.items():
            port_mode = setting.mode if setting.mode in MODES else None
            if port_mode is not None and str(key).isdigit():
                ports[int(key)] = port_mode
    return InboundTls(mode=mode, port_modes=ports, policy=source)


def _tls(settings: ClientTLSSettings | None) -> str | None:
    mode = settings.mode if settings is not None else None
    return mode if mode in (ISTIO_MUTUAL, DISABLE) else None


def cluster_tls_mode(rule: DestinationRuleSpec | None, subset: str, port: int) -> str:
    """Return ``ISTIO_MUTUAL``, ``DISABLE`` or ``""`` (auto) for one subset and port of ``rule``'s host."""
    if rule is None:
        return ""
    found: str | None = None
    policies = [rule.traffic_policy, *(s.traffic_policy for s in rule.subsets if subset and s.name == subset)]
    for tp in policies:
        if tp is None:
            continue
        found = _tls(tp.tls) or found
        for pl in tp.port_level_settings:
            if pl.port is not None and pl.port.number == port:
                found = _tls(pl.tls) or found
    return found or ""


_modes_cache: WeakKeyDictionary[World, dict[tuple[str, int], bool]] = WeakKeyDictionary()


def _plaintext_endpoints(world: World) -> dict[tuple[str, int], bool]:
    """Return ``{(address, port): True}`` for registered workloads whose PeerAuthentication is DISABLE."""
    cached = _modes_cache.get(world)
    if cached is None:
        cached = {}
        if _policies(world):
            for w in world.workloads:
                tls = inbound_tls_for(world, w.node)
                if tls is not None and tls.mode == DISABLE:
                    cached[(w.address, w.port)] = True
        _modes_cache[world] = cached
    return cached


def secure_cluster(world: World, cluster: Cluster, rule: DestinationRuleSpec | None) -> Cluster:
    """Return ``cluster`` with its ``tls_mode`` and, for auto mTLS, its plaintext endpoints marked."""
    mode = cluster_tls_mode(rule, cluster.subset, cluster.port)
    endpoints = cluster.endpoints
    plaintext = _plaintext_endpoints(world) if mode == "" else {}
    if plaintext:
        endpoints = tuple(
            msgspec.structs.replace(e, plaintext=True) if (e.address, e.port) in plaintext else e
            for e in endpoints
        )
    if mode == cluster.tls_mode and endpoints is cluster.endpoints:
        return cluster
    return msgspec.structs.replace(cluster, tls_mode=mode, endpoints=endpoints)
