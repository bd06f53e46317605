"""Which VirtualService and DestinationRule configure a host, as seen from one proxy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Generic, TypeVar

from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.resource import Resource
from tether.control.model.virtual_service import VirtualServiceSpec
from tether.control.translate.hosts import exported_to, host_matches, labels_match
from tether.control.translate.services import workload_labels
from tether.core.identity import ProxyNode

if TYPE_CHECKING:
    from tether.control.world import World

VsEntry = tuple[Resource, VirtualServiceSpec]
DrEntry = tuple[Resource, DestinationRuleSpec]
T = TypeVar("T")


class HostIndex(Generic[T]):
    """Entries by the host they configure: exact names in a dict, wildcards in a list."""

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        self.exact: dict[str, list[T]] = {}
        self.wild: list[tuple[str, T]] = []
        for host, item in items:
            if host.startswith("*"):
                self.wild.append((host, item))
            else:
                self.exact.setdefault(host, []).append(item)

    def lookup(self, fqdn: str) -> list[tuple[bool, T]]:
        """Return ``(exact, entry)`` for every entry whose host covers ``fqdn``."""
        found = [(True, e) for e in self.exact.get(fqdn, ())]
        found += [(False, e) for h, e in self.wild if host_matches(h, fqdn)]
        return found


def _rank(r: Resource, exact: bool, node: ProxyNode, service_ns: str) -> tuple[int, int, str, str]:
    # Istio's preference: the most specific host, then the client's namespace, then the service's.
    ns_rank = 0 if r.namespace == node.namespace else 1 if r.namespace == service_ns else 2
    return (0 if exact else 1, ns_rank, r.namespace, r.name)


def virtual_service_for(world: World, node: ProxyNode, fqdn: str, service_ns: str) -> VsEntry | None:
    """Return the VirtualService that routes ``fqdn`` for the sidecar ``node``, if any.

    Only VirtualServices that apply to sidecars (no ``gateways`` or ``mesh`` among them) and
    are exported to the node's namespace count; several for one host: the first by rank wins.
    """
    best: tuple[tuple[int, int, str, str], VsEntry] | None = None
    for is_exact, (r, spec) in world.mesh_vs_index.lookup(fqdn):
        if not exported_to(spec.export_to, r.namespace, node.namespace):
            continue
        rank = _rank(r, is_exact, node, service_ns)
        if best is None or rank < best[0]:
            best = (rank, (r, spec))
    return best[1] if best else None


def destination_rule_for(world: World, node: ProxyNode, fqdn: str, service_ns: str) -> DrEntry | None:
    """Return the DestinationRule for traffic from ``node`` to ``fqdn``, if any."""
    best: tuple[tuple[int, int, str, str], DrEntry] | None = None
    for is_exact, (r, spec) in world.dr_index.lookup(fqdn):
        if not exported_to(spec.export_to, r.namespace, node.namespace):
            continue
        sel = spec.workload_selector
        if sel is not None and (
            r.namespace != node.namespace or not labels_match(sel.match_labels, workload_labels(node))
        ):
            continue
        rank = _rank(r, is_exact, node, service_ns)
        if best is None or rank < best[0]:
            best = (rank, (r, spec))
    return best[1] if best else None
