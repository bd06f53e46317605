from __future__ import annotations

import pytest

from tether.core.schema.snapshot import RouteMatch, StringMatch
from tether.proxy.filters.router import _port_of, _rewrite_path, split_target
from tether.proxy.routing import CompiledMatch
from tether.testing.factories import make_exchange


def test_absolute_form_sets_authority_path_and_host() -> None:
    ex = make_exchange(target=b"http://order.default.svc.cluster.local/feed?x=1", headers=[(b"Host", b"other")])
    split_target(ex)
    assert ex.authority == b"order.default.svc.cluster.local"
    assert ex.path == b"/feed?x=1"
    assert ex.headers.get(b"host") == b"order.default.svc.cluster.local"


def test_origin_form_uses_host_header() -> None:
    ex = make_exchange(target=b"/x", headers=[(b"Host", b"order:80")])
    split_target(ex)
    assert (ex.authority, ex.path) == (b"order:80", b"/x")


def test_absolute_form_without_path_is_root() -> None:
    ex = make_exchange(target=b"http://order")
    split_target(ex)
    assert ex.path == b"/"


@pytest.mark.parametrize(
    ("prefix", "rewrite", "path", "expected"),
    [
        ("/order/", "/", "/order/feed", "/feed"),
        ("/order", "/", "/order/feed?a=1", "/feed?a=1"),
        ("/order", "/", "/order", "/"),
        ("/v1/", "/v2/", "/v1/items", "/v2/items"),
    ],
)
def test_prefix_rewrite(prefix: str, rewrite: str, path: str, expected: str) -> None:
    match = CompiledMatch(RouteMatch(uri=StringMatch(prefix=prefix)))
    assert _rewrite_path(path, match, rewrite) == expected


def test_exact_match_rewrite_replaces_whole_path_keeping_query() -> None:
    match = CompiledMatch(RouteMatch(uri=StringMatch(exact="/old")))
    assert _rewrite_path("/old?q=1", match, "/new") == "/new?q=1"


def test_port_of_authority() -> None:
    assert _port_of("order:8080") == 8080
    assert _port_of("order") == 80
    assert _port_of("[::1]") == 80
