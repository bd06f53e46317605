from __future__ import annotations

import pytest

from tether.core.schema.snapshot import DirectResponse, HeaderOps, Redirect
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.direct_response import DirectResponseFilter, redirect_location
from tether.testing.routed import route, routed, table


@pytest.mark.parametrize(
    ("redirect", "scheme", "authority", "path", "expected"),
    [
        (Redirect(uri="/new"), "http", "order", "/old?x=1", "http://order/new?x=1"),
        (Redirect(uri="/new?y=2"), "http", "order", "/old?x=1", "http://order/new?y=2"),
        (Redirect(authority="shop"), "http", "order:8080", "/a", "http://shop/a"),
        (Redirect(port=9090), "http", "order:8080", "/a", "http://order:9090/a"),
        (Redirect(scheme="https"), "http", "order:80", "/a", "https://order/a"),
        (Redirect(scheme="https"), "http", "order:8080", "/a", "https://order:8080/a"),
        (Redirect(scheme="https", port=8443), "http", "order", "/a", "https://order:8443/a"),
        (Redirect(), "http", "order", "/same?q", "http://order/same?q"),
        (Redirect(uri="rel"), "http", "order", "/a", "http://order/rel"),
        (Redirect(authority="[::1]:81", uri="/v6"), "http", "order", "/a", "http://[::1]:81/v6"),
    ],
)
def test_redirect_location(redirect: Redirect, scheme: str, authority: str, path: str, expected: str) -> None:
    assert redirect_location(redirect, scheme, authority, path) == expected


async def _unreachable(ex: Exchange) -> Response:
    raise AssertionError("a route that answers itself must not go further")


async def _upstream(ex: Exchange) -> Response:
    return Response(200, body=b"from upstream")


async def test_redirect_route_answers_with_location() -> None:
    tbl = table([route(clusters=(), redirect=Redirect(uri="/v2/feed", status=308))])
    ex = routed(tbl, target=b"/feed?since=1")
    response = await DirectResponseFilter().wrap(_unreachable)(ex)
    assert response.status == 308
    assert response.headers.get(b"location") == b"http://upstream/v2/feed?since=1"
    assert response.headers.get(b"content-length") == b"0"
    assert ex.flags is None


async def test_redirect_default_status_is_301() -> None:
    tbl = table([route(clusters=(), redirect=Redirect(authority="elsewhere"))])
    response = await DirectResponseFilter().wrap(_unreachable)(routed(tbl, target=b"/x"))
    assert response.status == 301
    assert response.headers.get(b"location") == b"http://elsewhere/x"


async def test_direct_response_answers_with_status_and_body() -> None:
    tbl = table([route(clusters=(), direct_response=DirectResponse(status=418, body="teapot"))])
    response = await DirectResponseFilter().wrap(_unreachable)(routed(tbl))
    assert (response.status, response.body) == (418, b"teapot")
    assert response.headers.get(b"content-type") == b"text/plain"
    assert response.headers.get(b"content-length") == b"6"


async def test_direct_response_without_body() -> None:
    tbl = table([route(clusters=(), direct_response=DirectResponse(status=204))])
    response = await DirectResponseFilter().wrap(_unreachable)(routed(tbl))
    assert (response.status, response.body) == (204, b"")
    assert response.headers.get(b"content-type") is None


async def test_ordinary_route_passes_through() -> None:
    response = await DirectResponseFilter().wrap(_upstream)(routed(table([route()])))
    assert response.body == b"from upstream"


async def test_route_response_header_ops_apply_to_answers() -> None:
    ops = HeaderOps(set={"cache-control": "no-store"}, remove=("content-type",))
    tbl = table([route(clusters=(), direct_response=DirectResponse(status=200, body="hi"), response_headers=ops)])
    response = await DirectResponseFilter().wrap(_unreachable)(routed(tbl))
    assert response.headers.get(b"cache-control") == b"no-store"
    assert response.headers.get(b"content-type") is None
