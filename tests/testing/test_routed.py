from __future__ import annotations

import pytest

from tether.core.schema.snapshot import RateLimit
from tether.proxy.errors import NoRoute
from tether.testing.routed import CLUSTER, cluster, route, routed, table


def test_routed_exchange_has_route_and_cluster() -> None:
    tbl = table([route("only", rate_limit=RateLimit(max_tokens=1, tokens_per_fill=1))])
    ex = routed(tbl, b"POST", b"/x", [(b"x-a", b"1")])
    assert ex.route is not None and ex.route.name == "only"
    assert ex.route.spec.rate_limit == RateLimit(max_tokens=1, tokens_per_fill=1)
    assert ex.cluster is not None and ex.cluster.name == CLUSTER
    assert (ex.method, ex.path, ex.authority) == (b"POST", b"/x", b"upstream")
    assert ex.headers.get(b"x-a") == b"1"


def test_cluster_fields_and_no_route() -> None:
    spec = cluster("c", port=99, lb_policy="RANDOM")
    assert (spec.name, spec.endpoints[0].port, spec.lb_policy) == ("c", 99, "RANDOM")
    with pytest.raises(NoRoute):
        routed(table([]))
