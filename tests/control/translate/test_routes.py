"""VirtualService route pieces: matches decided per proxy, weights, string matches."""

from __future__ import annotations

import msgspec

from tether.control.model import virtual_service as vs
from tether.control.translate.routes import route_match, string_match, weights
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import StringMatch


def m(**fields: object) -> vs.HTTPMatchRequest:
    return msgspec.convert(fields, vs.HTTPMatchRequest)


NODE = ProxyNode(name="productpage", namespace="shop", labels={"version": "v1"})


def test_conditions_on_the_proxy_are_decided_at_translation() -> None:
    assert route_match(m(sourceLabels={"app": "productpage"}), 80, NODE, None) is not None
    assert route_match(m(sourceLabels={"app": "reviews"}), 80, NODE, None) is None
    assert route_match(m(sourceNamespace="other"), 80, NODE, None) is None
    assert route_match(m(gateways=["my-gw"]), 80, NODE, None) is None
    assert route_match(m(gateways=["my-gw"]), 80, NODE, "my-gw") is not None
    assert route_match(m(port=8080), 80, NODE, None) is None
    assert route_match(m(scheme={"exact": "https"}), 80, NODE, None) is None
    kept = route_match(m(scheme={"prefix": "http"}, port=80), 80, NODE, None)
    assert kept is not None and kept.port == 80


def test_headers_and_query_params() -> None:
    rm = route_match(m(headers={"X-User": {"exact": "jason"}, "x-any": {}},
                       withoutHeaders={"x-skip": {}}, queryParams={"q": {}}), 80, NODE, None)
    assert rm is not None
    assert [(h.name, h.match, h.present) for h in rm.headers] == [
        ("x-any", None, True), ("x-skip", None, False), ("x-user", StringMatch(exact="jason"), True)]
    assert rm.query_params == {"q": StringMatch()}


def test_ignore_uri_case_becomes_a_regex() -> None:
    assert string_match(vs.StringMatch(exact="/A.b"), True) == StringMatch(regex="(?i)/A\\.b")
    assert string_match(vs.StringMatch(prefix="/x"), True) == StringMatch(regex="(?i)/x.*")
    assert string_match(vs.StringMatch(regex="/y+"), True) == StringMatch(regex="(?i)/y+")
    assert string_match(None) is None


def test_weights() -> None:
    d = vs.HTTPRouteDestination(destination=vs.Destination(host="a"))
    assert weights((d,)) == [100]
    assert weights((d, d, d)) == [34, 33, 33]
    assert weights((msgspec.structs.replace(d, weight=70), d)) == [70, 0]
