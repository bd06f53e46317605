"""HTTPRoute (GAMMA) and SMI TrafficSplit translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.control.model import parse_documents, parse_paths
from tether.control.translate import translate
from tether.control.translate.smi import percentages
from tether.control.world import Workload, World
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import RetryPolicy

GOLDEN = Path(__file__).parent.parent / "golden" / "smi-gamma" / "resources"
WORKLOADS = tuple(Workload(ProxyNode(name=n), f"10.0.0.{i}", 15006) for i, n in enumerate(
    ["website", "website-v1", "website-v2", "shop", "shop-v1", "shop-v2", "reviews", "reviews-v2",
     "reviews-v3"], start=1))


def routes_of(world: World, node: ProxyNode, service: str) -> list[tuple[str, str]]:
    snap = translate(world, node)
    vh = {v.name: v for v in snap.virtual_hosts}[f"{service}.default.svc.cluster.local:80"]
    return [(r.name, r.source) for r in vh.routes]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([0.75, 0.25], [75, 25]), ([1, 2], [33, 67]), ([1, 1, 1], [34, 33, 33]), ([0, 5], [0, 100]),
     ([0, 0], [0, 0]), ([1000], [100])],
)
def test_percentages(weights: list[float], expected: list[int]) -> None:
    assert percentages(weights) == expected


def test_producer_routes_ordered_by_precedence_and_consumer_routes_replace_them() -> None:
    world = World(parse_paths([str(GOLDEN)]).resources, WORKLOADS)
    assert [name for name, _ in routes_of(world, ProxyNode(name="client"), "reviews")] == [
        "api", "old-docs", "api", "catch-all"]
    assert routes_of(world, ProxyNode(name="tester", namespace="qa"), "reviews") == [
        ("reviews-for-qa.0", "HTTPRoute/qa/reviews-for-qa")]


def test_filters_become_route_policies() -> None:
    world = World(parse_paths([str(GOLDEN)]).resources, WORKLOADS)
    snap = translate(world, ProxyNode(name="client"))
    routes = {v.name: v for v in snap.virtual_hosts}["reviews.default.svc.cluster.local:80"].routes
    api, docs = routes[0], routes[1]
    assert api.retry is not None and api.retry.retriable_status_codes == (502, 503)
    assert api.retry.per_try_timeout_ms == 1000 and api.retry.attempts == 2
    assert [(m.cluster, m.percent) for m in api.mirrors] == [("outbound|80||reviews-v3.default.svc.cluster.local", 25.0)]
    assert api.request_headers is not None and api.request_headers.set == {"x-route": "api"}
    assert docs.clusters == () and docs.redirect is not None
    assert (docs.redirect.authority, docs.redirect.status) == ("docs.example.com", 301)


def test_virtual_service_wins_over_http_route_and_traffic_split() -> None:
    vs = parse_documents(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: both}\n"
        "spec:\n  hosts: [reviews, website]\n  http: [{route: [{destination: {host: reviews-v3}}]}]\n",
        "vs.yaml").resources
    world = World(parse_paths([str(GOLDEN)]).resources + vs, WORKLOADS)
    assert routes_of(world, ProxyNode(name="client"), "reviews") == [
        ("both.0", "VirtualService/default/both")]
    assert routes_of(world, ProxyNode(name="client"), "website") == [
        ("both.0", "VirtualService/default/both")]


def test_traffic_split_with_matches_keeps_a_default_route() -> None:
    world = World(parse_paths([str(GOLDEN)]).resources, WORKLOADS)
    assert routes_of(world, ProxyNode(name="client"), "shop") == [
        ("shop-ab", "TrafficSplit/default/shop-ab"), ("default", "TrafficSplit/default/shop-ab")]
    snap = translate(world, ProxyNode(name="client"))
    website = {v.name: v for v in snap.virtual_hosts}["website.default.svc.cluster.local:80"]
    assert [(c.cluster, c.weight) for c in website.routes[0].clusters] == [
        ("outbound|80||website-v1.default.svc.cluster.local", 75),
        ("outbound|80||website-v2.default.svc.cluster.local", 25)]


def _rule_retry(rule: str) -> RetryPolicy | None:
    text = ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
            f"spec:\n  parentRefs: [{{kind: Service, name: reviews}}]\n  rules: [{rule}]\n")
    world = World(parse_documents(text, "r.yaml").resources, WORKLOADS)
    snap = translate(world, ProxyNode(name="client"))
    (route,) = {v.name: v for v in snap.virtual_hosts}["reviews.default.svc.cluster.local:80"].routes
    return route.retry


def test_http_route_retries() -> None:
    backend = "backendRefs: [{name: reviews, port: 80}]"
    assert _rule_retry(f"{{{backend}}}") == RetryPolicy()
    assert _rule_retry(f"{{{backend}, timeouts: {{backendRequest: 2s}}}}") == RetryPolicy(per_try_timeout_ms=2000)
    assert _rule_retry(f"{{{backend}, retry: {{attempts: 0}}}}") is None
    assert _rule_retry(f"{{{backend}, retry: {{}}}}") == RetryPolicy(
        retry_on=("connect-failure", "refused-stream", "reset"), retriable_status_codes=())
    assert _rule_retry(f"{{{backend}, retry: {{attempts: 4, codes: [503, 503, 500], backoff: 10ms}}}}") == RetryPolicy(
        attempts=4, retry_on=("connect-failure", "refused-stream", "reset", "retriable-status-codes"),
        retriable_status_codes=(503, 500), backoff_base_ms=10, backoff_max_ms=100)
