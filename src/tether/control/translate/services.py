"""The service registry translation works from: registered workloads plus ServiceEntries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tether.control.model.gateway_entry import ServiceEntrySpec, ServicePort, WorkloadEntry
from tether.control.model.resource import Resource
from tether.control.translate.hosts import labels_match, qualify
from tether.core.identity import ProxyNode, service_fqdn
from tether.core.schema.snapshot import Endpoint

WORKLOAD_PORT = 80


@dataclass
class Service:
    """One service: its ports and the endpoints behind each, and who may see it.

    ``export_to`` is empty for "everyone"; ``from_workloads`` marks services made from
    registered workloads (their one port, 80, is Tether's convention, not the app's port).
    """

    fqdn: str
    namespace: str
    endpoints: dict[int, list[Endpoint]] = field(default_factory=dict)
    export_to: tuple[str, ...] = ()
    from_workloads: bool = False

    @property
    def ports(self) -> tuple[int, ...]:
        """Return the service ports, ascending."""
        return tuple(sorted(self.endpoints))


def workload_labels(node: ProxyNode) -> dict[str, str]:
    """Return the labels a workload's endpoints carry: its own plus ``app=<name>`` if absent."""
    labels = dict(node.labels)
    labels.setdefault("app", node.name)
    return labels


def workload_endpoint(node: ProxyNode, address: str, port: int) -> Endpoint:
    """Return the endpoint of one registered workload."""
    return Endpoint(address=address, port=port, labels=workload_labels(node), workload=node.name,
                    namespace=node.namespace, principal=node.principal)


def _entry_port(ep: WorkloadEntry, port: ServicePort) -> int:
    if port.name and port.name in ep.ports:
        return ep.ports[port.name]
    return port.target_port or port.number


def _entry_endpoints(
    spec: ServiceEntrySpec, namespace: str, host: str, port: ServicePort,
    workloads: Iterable[tuple[ProxyNode, str, int]],
) -> list[Endpoint]:
    if spec.workload_selector is not None:
        selector = spec.workload_selector.labels
        return [workload_endpoint(node, address, wport) for node, address, wport in workloads
                if node.namespace == namespace and labels_match(selector, workload_labels(node))]
    out = []
    for ep in spec.endpoints:
        address = ep.address or host
        principal = f"cluster.local/ns/{namespace}/sa/{ep.service_account}" if ep.service_account else ""
        out.append(Endpoint(address=address, port=_entry_port(ep, port), labels=dict(ep.labels),
                            namespace=namespace, principal=principal))
    if not out and spec.resolution != "STATIC" and not host.startswith("*"):
        # DNS (and NONE, which a proxy addressed by name can only honour this way): the host itself.
        out.append(Endpoint(address=host, port=port.target_port or port.number, namespace=namespace))
    return out


def build_services(
    resources: Iterable[Resource], workloads: Iterable[tuple[ProxyNode, str, int]]
) -> dict[str, Service]:
    """Return every service by FQDN: one per workload name (port 80) and per ServiceEntry host.

    ``workloads`` yields ``(node, address, port)``; gateway proxies are not services.
    """
    workloads = list(workloads)
    services: dict[str, Service] = {}
    for node, address, port in workloads:
        if node.kind == "gateway":
            continue
        fqdn = service_fqdn(node.name, node.namespace)
        svc = services.setdefault(fqdn, Service(fqdn, node.namespace, from_workloads=True))
        svc.endpoints.setdefault(WORKLOAD_PORT, []).append(workload_endpoint(node, address, port))
    for r in resources:
        if not isinstance(r.spec, ServiceEntrySpec):
            continue
        for raw_host in r.spec.hosts:
            host = qualify(raw_host, r.namespace)
            entry = services.get(host)
            if entry is None:
                entry = services[host] = Service(host, r.namespace, export_to=r.spec.export_to)
            for sp in r.spec.ports:
                eps = _entry_endpoints(r.spec, r.namespace, host, sp, workloads)
                entry.endpoints.setdefault(sp.number, []).extend(eps)
    for svc in services.values():
        for port, eps in svc.endpoints.items():
            svc.endpoints[port] = sorted(eps, key=lambda e: (e.address, e.port, e.workload))
    return services
