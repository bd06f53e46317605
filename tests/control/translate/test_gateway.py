"""Gateway proxies: selector, binding, server hosts, merge and match-level gateways."""

from __future__ import annotations

from tether.control.model import parse_documents
from tether.control.translate import translate
from tether.control.translate.gateway import gateway_labels
from tether.control.world import Workload, World
from tether.core.identity import ProxyNode

DOCS = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop/*", "*.example.com"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: cert}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b-web, namespace: shop}
spec:
  hosts: [www.example.com]
  gateways: [edge/public]
  http: [{name: web, route: [{destination: {host: web}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-api, namespace: shop}
spec:
  hosts: [www.example.com]
  gateways: [edge/public, mesh]
  http:
  - name: api-gw-only
    match: [{uri: {prefix: /api}, gateways: [edge/public]}]
    route: [{destination: {host: api}}]
  - name: mesh-only
    match: [{gateways: [mesh]}]
    route: [{destination: {host: api}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: unbound, namespace: shop}
spec:
  hosts: [www.example.com]
  gateways: [public]
  http: [{route: [{destination: {host: web}}]}]
"""


def test_gateway_hosts_merge_bound_virtual_services() -> None:
    workloads = (Workload(ProxyNode(name="web", namespace="shop"), "10.0.0.1", 15006),
                 Workload(ProxyNode(name="api", namespace="shop"), "10.0.0.2", 15006))
    world = World(parse_documents(DOCS, "g.yaml").resources, workloads)
    snap = translate(world, ProxyNode(name="ingressgateway", namespace="edge", kind="gateway"))
    (host,) = snap.gateway_hosts
    assert host.name == "www.example.com:80" and host.domains == ("www.example.com", "www.example.com:80")
    assert [r.name for r in host.routes] == ["api-gw-only", "web"]
    assert host.routes[1].clusters[0].cluster == "outbound|80||web.shop.svc.cluster.local"
    other = translate(world, ProxyNode(name="egress", kind="gateway"))
    assert other.gateway_hosts == ()
    sidecar = translate(world, ProxyNode(name="client", namespace="shop"))
    assert sidecar.gateway_hosts == ()


def test_gateway_labels() -> None:
    assert gateway_labels(ProxyNode(name="ingressgateway")) == {"istio": "ingressgateway"}
    assert gateway_labels(ProxyNode(name="x", labels={"istio": "y"})) == {"istio": "y"}
