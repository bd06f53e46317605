"""The service registry: workloads and ServiceEntries."""

from __future__ import annotations

from tether.control.model import parse_documents
from tether.control.translate.services import build_services, workload_labels
from tether.core.identity import ProxyNode

ENTRIES = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: selected, namespace: shop}
spec:
  hosts: [legacy.shop.svc.cluster.local]
  ports: [{number: 8080, name: http}]
  resolution: STATIC
  workloadSelector: {labels: {app: legacy}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns-eps, namespace: shop}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: pg}]
  resolution: DNS_ROUND_ROBIN
  endpoints: [{address: db1.example.com}, {address: db2.example.com, ports: {pg: 6432}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wildcard, namespace: shop}
spec:
  hosts: ["*.wiki.example.com"]
  ports: [{number: 80, name: http}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: extra-port, namespace: shop}
spec:
  hosts: [order]
  ports: [{number: 9090, name: metrics}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1, serviceAccount: order}]
"""


def test_services_from_workloads_and_entries() -> None:
    legacy = ProxyNode(name="legacy-vm", namespace="shop", labels={"app": "legacy"})
    order = ProxyNode(name="order", namespace="shop")
    gw = ProxyNode(name="ingressgateway", kind="gateway")
    services = build_services(parse_documents(ENTRIES, "e.yaml").resources,
                              [(legacy, "10.0.0.5", 15006), (order, "10.0.0.6", 15006), (gw, "10.0.0.7", 8080)])
    assert sorted(services) == ["*.wiki.example.com", "db.example.com", "legacy-vm.shop.svc.cluster.local",
                                "legacy.shop.svc.cluster.local", "order.shop.svc.cluster.local"]
    assert [(e.address, e.port) for e in services["legacy.shop.svc.cluster.local"].endpoints[8080]] == [
        ("10.0.0.5", 15006)]
    assert [(e.address, e.port) for e in services["db.example.com"].endpoints[5432]] == [
        ("db1.example.com", 5432), ("db2.example.com", 6432)]
    assert services["*.wiki.example.com"].endpoints[80] == []
    svc = services["order.shop.svc.cluster.local"]
    assert svc.ports == (80, 9090) and svc.from_workloads
    assert svc.endpoints[9090][0].principal == "cluster.local/ns/shop/sa/order"


def test_workload_labels_default_app() -> None:
    assert workload_labels(ProxyNode(name="a")) == {"app": "a"}
    assert workload_labels(ProxyNode(name="a", labels={"app": "b", "version": "v2"})) == {"app": "b", "version": "v2"}
