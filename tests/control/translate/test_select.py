"""Which VirtualService / DestinationRule wins for a host, and the load-balancer policy in force."""

from __future__ import annotations

from tether.control.model import parse_documents
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.translate.policy import cluster_policy
from tether.control.translate.select import destination_rule_for, virtual_service_for
from tether.control.world import World
from tether.core.identity import ProxyNode

DOCS = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: aaa}
spec: {hosts: ["*.shop.svc.cluster.local"], http: [{route: [{destination: {host: order.shop}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: exact-other, namespace: zzz}
spec: {hosts: [order.shop.svc.cluster.local], http: [{route: [{destination: {host: order.shop}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: exact-own, namespace: shop}
spec: {hosts: [order], http: [{route: [{destination: {host: order}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: gateway-only, namespace: client}
spec: {hosts: [order.shop.svc.cluster.local], gateways: [gw], http: [{route: [{destination: {host: order.shop}}]}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: selected, namespace: client}
spec:
  host: order.shop.svc.cluster.local
  workloadSelector: {matchLabels: {app: special}}
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: order, namespace: shop}
spec:
  host: order
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    portLevelSettings: [{port: {number: 8080}, loadBalancer: {simple: LEAST_CONN}}]
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}
  - {name: v2, labels: {version: v2}}
"""
FQDN = "order.shop.svc.cluster.local"


def test_virtual_service_precedence() -> None:
    world = World(parse_documents(DOCS, "d.yaml").resources)
    found = virtual_service_for(world, ProxyNode(name="c", namespace="client"), FQDN, "shop")
    assert found is not None and found[0].name == "exact-own"
    found = virtual_service_for(world, ProxyNode(name="c", namespace="zzz"), FQDN, "shop")
    assert found is not None and found[0].name == "exact-other"
    found = virtual_service_for(world, ProxyNode(name="c"), "cart.shop.svc.cluster.local", "shop")
    assert found is not None and found[0].name == "wild"


def test_destination_rule_workload_selector_and_lb_policy() -> None:
    world = World(parse_documents(DOCS, "d.yaml").resources)
    special = destination_rule_for(world, ProxyNode(name="special", namespace="client"), FQDN, "shop")
    assert special is not None and special[0].name == "selected"
    plain = destination_rule_for(world, ProxyNode(name="other", namespace="client"), FQDN, "shop")
    assert plain is not None and plain[0].name == "order"
    spec = plain[1]
    assert isinstance(spec, DestinationRuleSpec)
    assert cluster_policy(spec, "", 80).lb_policy == "RANDOM"
    assert cluster_policy(spec, "", 8080).lb_policy == "LEAST_REQUEST"
    assert cluster_policy(spec, "v1", 8080).lb_policy == "ROUND_ROBIN"
    assert cluster_policy(spec, "v2", 80).lb_policy == "RANDOM"
    assert cluster_policy(None, "", 80).lb_policy == "LEAST_REQUEST"  # Istio's default
