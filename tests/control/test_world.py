"""World: frozen inputs, sorted, with indexes built once."""

from __future__ import annotations

import dataclasses

import pytest

from tether.control.model import parse_documents
from tether.control.world import Workload, World, workloads_of
from tether.core.identity import ProxyNode

DOCS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: shop}
spec: {hosts: [order], http: [{route: [{destination: {host: order}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: shop}
spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {host: order}}]}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: order, namespace: shop}
spec: {host: order, subsets: [{name: v1, labels: {version: v1}}]}
"""


def test_world_sorts_and_indexes() -> None:
    resources = parse_documents(DOCS, "w.yaml").resources
    order = Workload(ProxyNode(name="order", namespace="shop"), "127.0.0.1", 1)
    gw = Workload(ProxyNode(name="ingressgateway", kind="gateway"), "127.0.0.1", 2)
    world = World(resources, (order, gw))
    assert [r.name for r in world.resources] == ["order", "a", "b"]
    assert [r.name for r in world.of_kind("VirtualService")] == ["a", "b"]
    assert world.of_kind("Gateway") == ()
    assert list(world.services) == ["order.shop.svc.cluster.local"]
    assert [e.port for e in world.services["order.shop.svc.cluster.local"].endpoints[80]] == [1]
    (hit,) = world.mesh_vs_index.lookup("order.shop.svc.cluster.local")
    assert hit[0] is True and hit[1][0].name == "b"
    assert [d[2] for d in world.destination_rules] == ["order.shop.svc.cluster.local"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        world.resources = ()  # type: ignore[misc]  # proving it is frozen


def test_workload_is_a_frozen_struct_and_workloads_of_sorts() -> None:
    a = Workload(node=ProxyNode(name="b"), address="127.0.0.1", port=2)
    b = Workload(ProxyNode(name="a"), "127.0.0.1", 1)
    assert workloads_of([a, b]) == (b, a)
    assert World().services == {}
