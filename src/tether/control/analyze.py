"""Cross-reference checks over the whole world, ``istioctl analyze`` style. Pure.

Each finding has a stable code, the resource it is about, the field path, what is
wrong and a one-line fix. Codes:

- TTH0101 a route (or mirror) sends to a host no registered workload or ServiceEntry defines
- TTH0102 a route names a subset no DestinationRule for that host defines
- TTH0103 the weights of a route's destinations do not sum to 100
- TTH0104 several VirtualServices claim the same host for the mesh
- TTH0105 a VirtualService is bound to a Gateway that does not exist
"""

from __future__ import annotations

import msgspec

from tether.control.model import Resource
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.gateway_entry import ServiceEntrySpec
from tether.control.model.virtual_service import Destination, VirtualServiceSpec
from tether.control.translate.hosts import host_matches, qualify
from tether.control.world import World

Key = tuple[str, str, str]


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One problem: ``code`` (TTH01xx), ``resource`` key, field ``path``, ``message``, ``fix``."""

    code: str
    severity: str
    resource: Key
    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        kind, namespace, name = self.resource
        where = f"{kind} {namespace}/{name}"
        return f"{self.severity.capitalize()} [{self.code}] ({where}) {self.message}"


def _known(fqdn: str, known: set[str]) -> bool:
    return any(host_matches(k, fqdn) for k in known) if fqdn not in known else True


def analyze(world: World) -> tuple[Finding, ...]:
    """Return every finding about ``world``, sorted by resource key then code."""
    known: set[str] = set(world.services)
    subsets: dict[str, set[str]] = {}
    gateways: set[tuple[str, str]] = set()
    services: list[Resource] = []
    for r in world.resources:
        if isinstance(r.spec, ServiceEntrySpec):
            known.update(qualify(h, r.namespace) for h in r.spec.hosts)
        elif isinstance(r.spec, DestinationRuleSpec):
            host = qualify(r.spec.host, r.namespace)
            subsets.setdefault(host, set()).update(s.name for s in r.spec.subsets)
        elif r.kind == "Gateway":
            gateways.add((r.namespace, r.name))
        if isinstance(r.spec, VirtualServiceSpec):
            services.append(r)
    findings: list[Finding] = []
    for r in services:
        findings.extend(_check_virtual_service(r, known, subsets, gateways))
    findings.extend(_conflicts(services))
    return tuple(sorted(findings, key=lambda f: (f.resource, f.code, f.path)))


def _finding(r: Resource, code: str, path: str, message: str, fix: str) -> Finding:
    return Finding(
        code=code, severity="warning", resource=r.key, path=path, message=message, fix=fix
    )


def _check_virtual_service(
    r: Resource, known: set[str], subsets: dict[str, set[str]], gateways: set[tuple[str, str]]
) -> list[Finding]:
    spec = r.spec
    assert isinstance(spec, VirtualServiceSpec)
    out: list[Finding] = []

    def destination(path: str, dest: Destination) -> None:
        fqdn = qualify(dest.host, r.namespace)
        if not _known(fqdn, known):
            out.append(_finding(
                r, "TTH0101", f"{path}.host",
                f"routes to host {dest.host!r} ({fqdn}) that no workload or ServiceEntry defines",
                f"start a workload named {fqdn.split('.')[0]!r} or add a ServiceEntry for {fqdn}",
            ))
        elif dest.subset and dest.subset not in subsets.get(fqdn, ()):
            out.append(_finding(
                r, "TTH0102", f"{path}.subset",
                f"routes to subset {dest.subset!r} of {fqdn} that no DestinationRule defines",
                f"add subset {dest.subset!r} to a DestinationRule with host {fqdn}",
            ))

    for i, http in enumerate(spec.http):
        base = f"spec.http[{i}]"
        for j, rd in enumerate(http.route):
            destination(f"{base}.route[{j}].destination", rd.destination)
        weights = [rd.weight for rd in http.route]
        if len(weights) > 1 or any(w is not None for w in weights):
            total = sum(w or 0 for w in weights)
            implied = len(weights) == 1 and weights[0] in (None, 0)
            if total != 100 and not implied:
                out.append(_finding(
                    r, "TTH0103", f"{base}.route",
                    f"destination weights sum to {total}, not 100",
                    "make the weights of this route's destinations add up to 100",
                ))
        if http.mirror is not None:
            destination(f"{base}.mirror", http.mirror)
        for j, mp in enumerate(http.mirrors):
            destination(f"{base}.mirrors[{j}].destination", mp.destination)
    for kind in ("tcp", "tls"):
        for i, l4 in enumerate(getattr(spec, kind)):
            for j, rd in enumerate(l4.route):
                destination(f"spec.{kind}[{i}].route[{j}].destination", rd.destination)
    for i, gw in enumerate(spec.gateways):
        if gw == "mesh":
            continue
        ns, _, name = gw.rpartition("/")
        if (ns or r.namespace, name) not in gateways:
            out.append(_finding(
                r, "TTH0105", f"spec.gateways[{i}]",
                f"is bound to gateway {gw!r} that does not exist",
                f"create Gateway {name!r} in namespace {ns or r.namespace} or fix the name",
            ))
    return out


def _conflicts(services: list[Resource]) -> list[Finding]:
    owners: dict[str, list[Resource]] = {}
    for r in services:
        spec = r.spec
        assert isinstance(spec, VirtualServiceSpec)
        if spec.gateways and "mesh" not in spec.gateways:
            continue  # gateway-only services do not claim the host for sidecars
        for host in spec.hosts:
            owners.setdefault(qualify(host, r.namespace), []).append(r)
    out: list[Finding] = []
    for host, rs in sorted(owners.items()):
        if len(rs) < 2:
            continue
        for r in rs:
            others = ", ".join(f"{o.namespace}/{o.name}" for o in rs if o is not r)
            out.append(_finding(
                r, "TTH0104", "spec.hosts",
                f"claims host {host} for the mesh, as do {others}; only one takes effect",
                "merge these VirtualServices into one per host",
            ))
    return out
