"""Each analysis finding, on small worlds built from YAML."""

from __future__ import annotations

from tether.control.analyze import Finding, analyze
from tether.control.model import parse_documents
from tether.control.world import Workload, World
from tether.core.identity import ProxyNode

WORKLOADS = (
    Workload(ProxyNode(name="order"), "127.0.0.1", 1001),
    Workload(ProxyNode(name="shipping"), "127.0.0.1", 1002),
)


def world(text: str, workloads: tuple[Workload, ...] = WORKLOADS) -> World:
    return World(resources=parse_documents(text, "t.yaml").resources, workloads=workloads)


def codes(findings: tuple[Finding, ...]) -> list[tuple[str, str, str]]:
    return [(f.code, f.resource[2], f.path) for f in findings]


VS = """
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: %(name)s}
spec:
  hosts: [%(host)s]
  %(gateways)s
  http:
  - route:
%(routes)s
"""


def vs(name: str = "v", host: str = "order", routes: str = "", gateways: str = "") -> str:
    routes = routes or "    - destination: {host: order}"
    return VS % {"name": name, "host": host, "routes": routes, "gateways": gateways}


def test_clean_world_has_no_findings() -> None:
    assert analyze(world(vs())) == ()


def test_route_to_unknown_host() -> None:
    found = analyze(world(vs(routes="    - destination: {host: billing}")))
    assert codes(found) == [("TTH0101", "v", "spec.http[0].route[0].destination.host")]
    assert "billing.default.svc.cluster.local" in found[0].message
    assert "ServiceEntry" in found[0].fix


def test_service_entry_defines_a_host() -> None:
    entry = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: billing}
spec:
  hosts: [billing.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
"""
    text = entry + vs(routes="    - destination: {host: billing.example.com}")
    assert analyze(world(text)) == ()


def test_subset_no_destination_rule_defines() -> None:
    routes = "    - destination: {host: order, subset: v2}"
    found = analyze(world(vs(routes=routes)))
    assert codes(found) == [("TTH0102", "v", "spec.http[0].route[0].destination.subset")]
    rule = """
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: order}
spec:
  host: order.default.svc.cluster.local
  subsets: [{name: v2, labels: {version: v2}}]
---
"""
    assert analyze(world(rule + vs(routes=routes))) == ()


def test_weights_not_summing_to_100() -> None:
    routes = (
        "    - destination: {host: order}\n      weight: 70\n"
        "    - destination: {host: shipping}\n      weight: 20"
    )
    found = analyze(world(vs(routes=routes)))
    assert codes(found) == [("TTH0103", "v", "spec.http[0].route")]
    assert "sum to 90" in found[0].message
    ok = routes.replace("weight: 20", "weight: 30")
    assert analyze(world(vs(routes=ok))) == ()


def test_conflicting_virtual_services_for_one_host() -> None:
    text = vs(name="a") + "---\n" + vs(name="b", host="order.default.svc.cluster.local")
    found = analyze(world(text))
    assert codes(found) == [("TTH0104", "a", "spec.hosts"), ("TTH0104", "b", "spec.hosts")]
    assert "default/b" in found[0].message


def test_gateway_bound_virtual_service_without_gateway() -> None:
    text = vs(host="shop.example.com", gateways="gateways: [ingress]")
    found = analyze(world(text))
    assert codes(found) == [("TTH0105", "v", "spec.gateways[0]")]
    gateway = """
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: ingress}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
"""
    assert analyze(world(gateway + text)) == ()


def test_finding_renders_as_one_line() -> None:
    found = analyze(world(vs(routes="    - destination: {host: billing}")))
    assert str(found[0]).startswith("Warning [TTH0101] (VirtualService default/v) routes to host")
