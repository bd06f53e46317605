from __future__ import annotations

import random

import msgspec

from tether.core.schema.snapshot import HeaderOps, WeightedCluster
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.header_ops import CompiledOps, HeaderOpsFilter, chosen_destination
from tether.testing.routed import CLUSTER, cluster, route, routed, table

OTHER = "outbound|80|v2|upstream.default.svc.cluster.local"


class Upstream:
    def __init__(self) -> None:
        self.seen: Headers | None = None

    async def __call__(self, ex: Exchange) -> Response:
        self.seen = Headers(list(ex.headers.items))
        return Response(200, Headers([(b"server", b"app"), (b"x-internal", b"1"), (b"vary", b"a")]))


def test_remove_then_set_then_add() -> None:
    headers = Headers([(b"x-a", b"1"), (b"x-a", b"2"), (b"x-b", b"old"), (b"x-gone", b"x")])
    CompiledOps(HeaderOps(set={"x-a": "set", "X-C": "c"}, add={"x-b": "more"}, remove=("X-GONE", "x-b"))).apply(headers)
    assert headers.get_all(b"x-a") == [b"set"]
    assert headers.get_all(b"x-b") == [b"more"]
    assert headers.get(b"x-gone") is None
    assert headers.get(b"x-c") == b"c"


async def test_request_ops_route_wins_over_destination() -> None:
    dest = WeightedCluster(cluster=CLUSTER, request_headers=HeaderOps(set={"x-level": "destination", "x-d": "1"}))
    spec = route(request_headers=HeaderOps(set={"x-level": "route"}, add={"x-added": "yes"}, remove=("x-secret",)))
    spec = msgspec.structs.replace(spec, clusters=(dest,))
    up = Upstream()
    ex = routed(table([spec]), headers=[(b"x-secret", b"s"), (b"x-added", b"first")])
    await HeaderOpsFilter().wrap(up)(ex)
    assert up.seen is not None
    assert up.seen.get(b"x-level") == b"route"
    assert up.seen.get(b"x-d") == b"1"
    assert up.seen.get(b"x-secret") is None
    assert up.seen.get_all(b"x-added") == [b"first", b"yes"]


async def test_response_ops() -> None:
    spec = route(response_headers=HeaderOps(set={"server": "tether"}, add={"vary": "b"}, remove=("x-internal",)))
    ex = routed(table([spec]))
    response = await HeaderOpsFilter().wrap(Upstream())(ex)
    assert response.headers.get_all(b"server") == [b"tether"]
    assert response.headers.get(b"x-internal") is None
    assert response.headers.get_all(b"vary") == [b"a", b"b"]


async def test_destination_ops_follow_the_drawn_cluster() -> None:
    clusters = [cluster(), cluster(OTHER, port=81)]
    spec = route(name="split", clusters=())
    spec = msgspec.structs.replace(spec, clusters=(
        WeightedCluster(cluster=CLUSTER, weight=50, response_headers=HeaderOps(set={"x-version": "v1"})),
        WeightedCluster(cluster=OTHER, weight=50, response_headers=HeaderOps(set={"x-version": "v2"})),
    ))
    tbl = table([spec], clusters)
    rng = random.Random(7)
    flt = HeaderOpsFilter().wrap(Upstream())
    seen = set()
    for _ in range(20):
        ex = routed(tbl, rng=rng)
        dest = chosen_destination(ex)
        assert ex.cluster is not None and dest is not None and dest.cluster == ex.cluster.name
        response = await flt(ex)
        expected = b"v1" if ex.cluster.name == CLUSTER else b"v2"
        assert response.headers.get(b"x-version") == expected
        seen.add(expected)
    assert seen == {b"v1", b"v2"}


async def test_setting_host_moves_the_authority() -> None:
    ex = routed(table([route(request_headers=HeaderOps(set={"host": "other:8080"}))]))
    await HeaderOpsFilter().wrap(Upstream())(ex)
    assert ex.authority == b"other:8080"


async def test_no_ops_leaves_everything() -> None:
    up = Upstream()
    ex = routed(table([route()]), headers=[(b"x-keep", b"1")])
    before = list(ex.headers.items)
    response = await HeaderOpsFilter().wrap(up)(ex)
    assert up.seen is not None and up.seen.items == before
    assert response.headers.get(b"x-internal") == b"1"


def test_compiled_cache_dropped_on_snapshot() -> None:
    flt = HeaderOpsFilter()
    ops = HeaderOps(set={"a": "b"})
    first = flt.compiled(ops)
    assert flt.compiled(ops) is first
    flt.on_snapshot()
    assert flt.compiled(ops) is not first
