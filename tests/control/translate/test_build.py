"""translate(): golden snapshots for whole scenarios, and the properties a control plane relies on.

Regenerate the expected files with ``TETHER_UPDATE_GOLDEN=1 pytest tests/control/translate``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from tether.control.model import parse_documents, parse_paths
from tether.control.translate import translate
from tether.control.world import Workload, World
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import (
    ConnectionPool,
    FaultPolicy,
    OutlierDetection,
    RateLimit,
    RetryBudget,
    RetryPolicy,
    Route,
    Snapshot,
    content_version,
    decode,
    encode,
)

GOLDEN = Path(__file__).parent.parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.yaml").exists())


def node_of(spec: dict[str, Any]) -> ProxyNode:
    fields = {k: v for k, v in spec.items() if k not in ("address", "port")}
    return msgspec.convert(fields, ProxyNode)


def load_case(name: str) -> tuple[World, list[ProxyNode]]:
    case = yaml.safe_load((GOLDEN / name / "case.yaml").read_text())
    resources = parse_paths([str(GOLDEN / name / "resources")]).resources
    workloads = tuple(Workload(node_of(w), w["address"], w["port"]) for w in case["workloads"])
    return World(resources, workloads), [node_of(n) for n in case["nodes"]]


def pretty(snapshot: Snapshot) -> str:
    return json.dumps(json.loads(encode(snapshot)), indent=2) + "\n"


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    world, nodes = load_case(name)
    for node in nodes:
        snapshot = translate(world, node)
        path = GOLDEN / name / "expected" / f"{node.namespace}.{node.name}.json"
        if os.environ.get("TETHER_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(pretty(snapshot))
            continue
        assert path.exists(), f"{path} missing: run with TETHER_UPDATE_GOLDEN=1"
        assert pretty(snapshot) == path.read_text(), f"{name}: {node.name} differs from {path}"
        assert decode(encode(snapshot)) == snapshot
        assert snapshot.version == content_version(snapshot)


def _clusters(snapshot: Snapshot) -> dict[str, Any]:
    return {c.name: c for c in snapshot.clusters}


def test_book_scenario_behaves_as_the_book_says() -> None:
    world, _ = load_case("book")
    snap = translate(world, ProxyNode(name="shipping", labels={"version": "1.0"}))
    order = next(vh for vh in snap.virtual_hosts if vh.name == "order.default.svc.cluster.local:80")
    assert {"order", "order:80", "order.default", "order.default.svc.cluster.local"} <= set(order.domains)
    (route,) = order.routes
    assert route.timeout_ms == 10_000 and route.source == "VirtualService/default/order-retry"
    assert route.retry is not None
    assert (route.retry.attempts, route.retry.per_try_timeout_ms) == (20, 5000)
    assert route.retry.retry_on == ("connect-failure", "5xx") and route.retry.retriable_status_codes == ()
    assert [c.cluster for c in route.clusters] == ["outbound|80||order.default.svc.cluster.local"]
    order_cluster = _clusters(snap)["outbound|80||order.default.svc.cluster.local"]
    assert [(e.address, e.port, e.workload) for e in order_cluster.endpoints] == [("127.0.0.1", 21001, "order")]
    pool, od = order_cluster.connection_pool, order_cluster.outlier_detection
    assert pool is not None and od is not None
    assert (pool.max_connections, pool.http1_max_pending_requests, pool.http2_max_requests) == (1, 1, 1)
    assert (od.consecutive_5xx, od.interval_ms, od.base_ejection_time_ms, od.max_ejection_percent) == (
        1, 60_000, 600_000, 100.0)
    gw = translate(world, ProxyNode(name="ingressgateway", kind="gateway"))
    (host,) = gw.gateway_hosts
    assert host.domains == ("*",)
    assert [(r.name, r.prefix_rewrite) for r in host.routes] == [
        ("order", "/"), ("shipping", "/"), ("invoicing", "/")]
    # port 8080 of a workload service names the app: the cluster is the service's port 80
    assert host.routes[2].clusters[0].cluster == "outbound|80||invoicing.default.svc.cluster.local"
    assert snap.gateway_hosts == ()


def test_canary_subsets_split_and_source_labels() -> None:
    world, _ = load_case("canary")
    from_pp = translate(world, ProxyNode(name="productpage", labels={"version": "v1", "app": "productpage"}))
    other = translate(world, ProxyNode(name="ratings"))
    routes_pp = {vh.name: vh for vh in from_pp.virtual_hosts}["reviews.default.svc.cluster.local:80"].routes
    routes_other = {vh.name: vh for vh in other.virtual_hosts}["reviews.default.svc.cluster.local:80"].routes
    assert [r.name for r in routes_pp] == ["from-productpage-debug", "jason", "split", "moved"]
    assert [r.name for r in routes_other] == ["jason", "split", "moved"]
    moved = routes_other[2]
    assert moved.clusters == () and moved.redirect is not None and moved.redirect.uri == "/elsewhere"
    assert moved.redirect.status == 301
    clusters = _clusters(other)
    v2 = clusters["outbound|80|v2|reviews.default.svc.cluster.local"]
    assert [e.address for e in v2.endpoints] == ["10.0.0.2"] and v2.lb_policy == "LEAST_REQUEST"
    assert clusters["outbound|80|v1|reviews.default.svc.cluster.local"].lb_policy == "RANDOM"
    split = routes_other[1]
    assert [(c.cluster.split("|")[2], c.weight) for c in split.clusters] == [("v1", 50), ("v3", 50)]
    jason = routes_other[0]
    assert jason.timeout_ms == 2000
    assert jason.matches[0].uri is not None and jason.matches[0].uri.regex == "(?i)/reviews.*"
    assert jason.matches[1].headers[0].present is False


def test_export_to_limits_what_a_namespace_sees() -> None:
    world, _ = load_case("entries")
    shop = translate(world, ProxyNode(name="web", namespace="shop"))
    jobs = translate(world, ProxyNode(name="batch", namespace="jobs"))
    assert "outbound|80||upstream.shop.svc.cluster.local" in _clusters(shop)
    assert "outbound|80||upstream.shop.svc.cluster.local" not in _clusters(jobs)
    up = _clusters(shop)["outbound|80||upstream.shop.svc.cluster.local"]
    assert [(e.address, e.port) for e in up.endpoints] == [("127.0.0.1", 8080), ("127.0.0.2", 80)]
    metrics = _clusters(shop)["outbound|9090||upstream.shop.svc.cluster.local"]
    assert [(e.address, e.port) for e in metrics.endpoints] == [("127.0.0.1", 9091), ("127.0.0.2", 9091)]
    api_shop = {vh.name: vh for vh in shop.virtual_hosts}["api.example.com:80"]
    api_jobs = {vh.name: vh for vh in jobs.virtual_hosts}["api.example.com:80"]
    assert api_shop.routes[0].authority_rewrite == "api.internal.example.com"
    assert api_jobs.routes[0].name == "default"
    assert api_shop.domains == ("api.example.com", "api.example.com:80")


def test_unrelated_change_keeps_the_version_and_related_change_moves_it() -> None:
    world, _ = load_case("entries")
    node = ProxyNode(name="batch", namespace="jobs")
    before = translate(world, node)
    private = parse_documents(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: private, namespace: shop}\n"
        "spec: {hosts: [web], exportTo: ['.'], http: [{route: [{destination: {host: web}}]}]}\n",
        "x.yaml").resources
    changed = World(world.resources + private, world.workloads)
    assert translate(changed, node).version == before.version
    assert translate(changed, ProxyNode(name="web", namespace="shop")).version != translate(
        world, ProxyNode(name="web", namespace="shop")).version
    more = World(world.resources, (*world.workloads, Workload(ProxyNode(name="x"), "127.0.0.1", 1)))
    assert translate(more, node).version != before.version


def test_translation_is_deterministic_whatever_the_input_order() -> None:
    world, nodes = load_case("canary")
    shuffled = World(tuple(reversed(world.resources)), tuple(reversed(world.workloads)))
    for node in nodes:
        assert encode(translate(world, node)) == encode(translate(shuffled, node))


def test_every_route_names_an_existing_cluster() -> None:
    for name in CASES:
        world, nodes = load_case(name)
        for node in nodes:
            snap = translate(world, node)
            names = {c.name for c in snap.clusters}
            for vh in snap.virtual_hosts + snap.gateway_hosts:
                for route in vh.routes:
                    answers = route.redirect is not None or route.direct_response is not None
                    assert bool(route.clusters) != answers
                    assert all(c.cluster in names for c in route.clusters)
                    assert all(m.cluster in names for m in route.mirrors)


def test_book_chapter4_listings_translate_to_their_settings() -> None:
    world, _ = load_case("book-chapter4")
    book_retry = RetryPolicy(attempts=20, per_try_timeout_ms=5000, retry_on=("connect-failure", "5xx"),
                             retriable_status_codes=())
    snap = translate(world, ProxyNode(name="shipping", labels={"version": "1.0"}))
    order = _clusters(snap)["outbound|80||order.default.svc.cluster.local"]
    assert order.connection_pool == ConnectionPool(max_connections=1, http1_max_pending_requests=1,
                                                   http2_max_requests=1)
    assert order.outlier_detection == OutlierDetection(consecutive_5xx=1, interval_ms=60_000,
                                                       base_ejection_time_ms=600_000, max_ejection_percent=100.0)
    assert order.lb_policy == "LEAST_REQUEST" and order.retry_budget is None and order.rate_limit is None
    (route,) = next(vh for vh in snap.virtual_hosts if vh.name.startswith("order.")).routes
    assert (route.retry, route.timeout_ms) == (book_retry, 10_000)
    (shipping_route,) = next(vh for vh in snap.virtual_hosts if vh.name.startswith("shipping.")).routes
    assert shipping_route.retry == RetryPolicy()  # no VirtualService: Istio's default policy
    gw = translate(world, ProxyNode(name="ingressgateway", kind="gateway"))
    (host,) = gw.gateway_hosts
    (ingress,) = host.routes
    assert (ingress.retry, ingress.timeout_ms, ingress.prefix_rewrite) == (book_retry, 10_000, "/")


def test_resilience_case_policies() -> None:
    world, _ = load_case("resilience")
    snap = translate(world, ProxyNode(name="client"))
    routes = {r.name: r for r in next(vh for vh in snap.virtual_hosts if vh.name.startswith("order.")).routes}
    assert list(routes) == ["legacy", "health", "checkout", "once", "old-style", "order.5"]
    assert routes["legacy"].clusters == () and routes["legacy"].retry is None
    assert routes["health"].direct_response is not None and routes["health"].direct_response.body == "ok"
    assert routes["once"].retry is None and routes["old-style"].retry == RetryPolicy()
    assert routes["checkout"].rate_limit == RateLimit(max_tokens=10, tokens_per_fill=10, fill_interval_ms=60_000)
    assert routes["order.5"].rate_limit == RateLimit(max_tokens=2, tokens_per_fill=1, fill_interval_ms=3_600_000)
    assert routes["once"].rate_limit is None
    clusters = _clusters(snap)
    # a mirror to a host nobody defines still names a cluster of the snapshot (with no endpoints)
    assert clusters["outbound|80||audit.default.svc.cluster.local"].endpoints == ()
    limit = RateLimit(max_tokens=20, tokens_per_fill=100)
    for name in ("outbound|80||order.default.svc.cluster.local", "outbound|80|v1|order.default.svc.cluster.local",
                 "outbound|80|v2|order.default.svc.cluster.local"):
        assert clusters[name].rate_limit == limit
        assert clusters[name].retry_budget == RetryBudget(percent=10.0, min_retry_concurrency=5)
    assert clusters["outbound|80||client.default.svc.cluster.local"].rate_limit is None
    v1, v2 = clusters["outbound|80|v1|order.default.svc.cluster.local"], clusters[
        "outbound|80|v2|order.default.svc.cluster.local"]
    assert v1.consistent_hash is not None and v1.consistent_hash.header == "x-user"
    assert v2.lb_policy == "RANDOM" and v2.connection_pool == ConnectionPool(http2_max_requests=5)
    assert v2.outlier_detection == OutlierDetection(consecutive_5xx=1)
    gw = translate(world, ProxyNode(name="ingressgateway", kind="gateway"))
    (host,) = gw.gateway_hosts
    orders, root = host.routes
    assert orders.rate_limit == RateLimit(max_tokens=5, tokens_per_fill=5)
    assert orders.fault is not None and (orders.fault.abort_status, orders.fault.delay_ms) == (500, None)
    assert root.redirect is not None and (root.redirect.scheme, root.redirect.port) == ("https", 443)


EXAMPLES = Path(__file__).parents[3] / "examples" / "book"


def _book_world(*files: str) -> World:
    workloads = tuple(Workload(ProxyNode(name=n, labels={"version": "1.0"}), "127.0.0.1", 21000 + i)
                      for i, n in enumerate(["order", "shipping", "invoicing"], start=1))
    gateway = Workload(ProxyNode(name="ingressgateway", kind="gateway"), "127.0.0.1", 21000)
    return World(parse_paths([str(EXAMPLES / f) for f in files]).resources, (*workloads, gateway))


def _order_route(world: World) -> Route:
    snap = translate(world, ProxyNode(name="shipping", labels={"version": "1.0"}))
    (route,) = next(vh for vh in snap.virtual_hosts if vh.name == "order.default.svc.cluster.local:80").routes
    return route


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/book not in this checkout")
def test_examples_book_scenario_files() -> None:
    fault = _order_route(_book_world("fault-injection.yaml"))
    assert fault.fault == FaultPolicy(abort_status=500, abort_percent=100.0) and fault.retry == RetryPolicy()
    delay = _order_route(_book_world("delay-injection.yaml"))
    assert delay.fault == FaultPolicy(delay_ms=7000, delay_percent=100.0)
    world = _book_world("circuit-breaker-outlier-detection.yaml")
    snap = translate(world, ProxyNode(name="shipping"))
    order = _clusters(snap)["outbound|80||order.default.svc.cluster.local"]
    assert order.connection_pool is None
    assert order.outlier_detection == OutlierDetection(consecutive_5xx=1, interval_ms=60_000,
                                                       base_ejection_time_ms=600_000, max_ejection_percent=100.0)
    # retry.yaml (with the Gateway) is the book-chapter4 golden case
