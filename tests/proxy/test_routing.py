from __future__ import annotations

import random

import pytest

from tether.core.errors import ConfigRejected
from tether.core.schema.snapshot import (
    Cluster,
    Endpoint,
    HeaderMatch,
    Route,
    RouteMatch,
    Snapshot,
    StringMatch,
    VirtualHost,
    WeightedCluster,
)
from tether.core.tasks import TaskGroup
from tether.proxy.codec.http1 import Headers
from tether.proxy.routing import RequestView, RoutingTable, compile_table
from tether.proxy.upstream.pool import PoolManager

V1 = "outbound|80|v1|svc.default.svc.cluster.local"
V2 = "outbound|80|v2|svc.default.svc.cluster.local"


def table(routes: tuple[Route, ...]) -> RoutingTable:
    clusters = tuple(
        Cluster(
            name=n, service="svc.default.svc.cluster.local", port=80, endpoints=(Endpoint(address="127.0.0.1", port=p),)
        )
        for n, p in ((V1, 1), (V2, 2))
    )
    vh = VirtualHost(name="svc:80", domains=("svc", "SVC.default"), port=80, routes=routes)
    return compile_table(Snapshot(virtual_hosts=(vh,), clusters=clusters), PoolManager(TaskGroup("t")).pool)


def view(path: str = "/", method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> RequestView:
    return RequestView(method, path, "svc", Headers(headers or []), 80)


def first_match(t: RoutingTable, request: RequestView) -> str | None:
    vhost = t.virtual_host("svc")
    assert vhost is not None
    for route in vhost.routes:
        if route.matching(request) is not None:
            return route.name
    return None


def test_first_matching_route_wins_and_empty_match_catches_all() -> None:
    t = table(
        (
            Route(
                name="prefix",
                matches=(RouteMatch(uri=StringMatch(prefix="/api")),),
                clusters=(WeightedCluster(cluster=V1),),
            ),
            Route(
                name="exact",
                matches=(RouteMatch(uri=StringMatch(exact="/api/x")),),
                clusters=(WeightedCluster(cluster=V2),),
            ),
            Route(name="rest", clusters=(WeightedCluster(cluster=V2),)),
        )
    )
    assert first_match(t, view("/api/x")) == "prefix"
    assert first_match(t, view("/other?q=1")) == "rest"


@pytest.mark.parametrize(
    ("match", "request_view", "expected"),
    [
        (RouteMatch(uri=StringMatch(regex="/u/[0-9]+")), view("/u/42"), True),
        (RouteMatch(uri=StringMatch(regex="/u/[0-9]+")), view("/u/42/x"), False),
        (RouteMatch(method=StringMatch(exact="POST")), view(method="GET"), False),
        (
            RouteMatch(headers=(HeaderMatch(name="end-user", match=StringMatch(exact="jason")),)),
            view(headers=[(b"end-user", b"jason")]),
            True,
        ),
        (
            RouteMatch(headers=(HeaderMatch(name="end-user", match=StringMatch(exact="jason")),)),
            view(headers=[(b"end-user", b"bob")]),
            False,
        ),
        (
            RouteMatch(headers=(HeaderMatch(name="x-canary", present=False),)),
            view(headers=[(b"x-canary", b"1")]),
            False,
        ),
        (RouteMatch(headers=(HeaderMatch(name="x-canary", present=False),)), view(), True),
        (RouteMatch(query_params={"v": StringMatch(exact="2")}), view("/p?v=2&a=1"), True),
        (RouteMatch(query_params={"v": StringMatch(exact="2")}), view("/p?v=3"), False),
        (RouteMatch(port=8080), view(), False),
    ],
)
def test_match_conditions(match: RouteMatch, request_view: RequestView, expected: bool) -> None:
    t = table((Route(name="r", matches=(match,), clusters=(WeightedCluster(cluster=V1),)),))
    assert (first_match(t, request_view) == "r") is expected


def test_domains_are_case_insensitive() -> None:
    t = table((Route(name="r", clusters=(WeightedCluster(cluster=V1),)),))
    assert t.virtual_host("svc.default") is not None
    assert t.virtual_host("Svc") is not None
    assert t.virtual_host("other") is None


def test_weighted_pick_follows_weights_with_fixed_seed() -> None:
    t = table(
        (Route(name="r", clusters=(WeightedCluster(cluster=V1, weight=80), WeightedCluster(cluster=V2, weight=20))),)
    )
    vhost = t.virtual_host("svc")
    assert vhost is not None
    rng = random.Random(3)
    picks = [c.name for c in (vhost.routes[0].pick_cluster(rng) for _ in range(2000)) if c is not None]
    assert abs(picks.count(V1) / 2000 - 0.8) < 0.04


def test_unknown_cluster_or_bad_regex_is_refused() -> None:
    with pytest.raises(ConfigRejected, match="unknown cluster"):
        table((Route(name="r", clusters=(WeightedCluster(cluster="nope"),)),))
    with pytest.raises(ConfigRejected, match="bad regex"):
        table(
            (
                Route(
                    name="r", matches=(RouteMatch(uri=StringMatch(regex="(")),), clusters=(WeightedCluster(cluster=V1),)
                ),
            )
        )


def test_wildcards_exact_beats_suffix_beats_catch_all() -> None:
    clusters = (Cluster(name=V1, service="svc.default.svc.cluster.local", port=80),)
    hosts = tuple(
        VirtualHost(name=n, domains=(n,), port=80, routes=(Route(name=n, clusters=(WeightedCluster(cluster=V1),)),))
        for n in ("*", "*.example.com", "*.a.example.com", "www.example.com")
    )
    t = compile_table(Snapshot(gateway_hosts=hosts, clusters=clusters), PoolManager(TaskGroup("t")).pool, gateway=True)

    def name(authority: str) -> str | None:
        vhost = t.virtual_host(authority)
        return vhost.name if vhost else None

    assert name("www.example.com") == "www.example.com"
    assert name("x.a.example.com:8080") == "*.a.example.com"
    assert name("b.example.com") == "*.example.com"
    assert name("other.org") == "*"
    assert compile_table(Snapshot(gateway_hosts=hosts, clusters=clusters), PoolManager(TaskGroup("t")).pool).catch_all is None


def test_gateway_hosts_match_on_any_port_sidecar_hosts_do_not() -> None:
    clusters = (Cluster(name=V1, service="svc.default.svc.cluster.local", port=80),)
    host = VirtualHost(name="shop", domains=("shop.example.com",), port=80, routes=(Route(name="r", clusters=(WeightedCluster(cluster=V1),)),))
    pools = PoolManager(TaskGroup("t")).pool
    gateway = compile_table(Snapshot(gateway_hosts=(host,), clusters=clusters), pools, gateway=True)
    sidecar = compile_table(Snapshot(virtual_hosts=(host,), clusters=clusters), pools)
    assert gateway.virtual_host("shop.example.com:8080") is not None
    assert sidecar.virtual_host("shop.example.com:8080") is None
