"""Route timeout: one deadline over everything below; 504 UT when it passes."""

from __future__ import annotations

import asyncio

import pytest

from tether.proxy.chain import compose
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.timeout import RouteTimeout, RouteTimeoutExpired, route_timeout, within
from tether.proxy.rescue import Rescue
from tether.testing.routed import route, routed, table


async def slow(ex: Exchange) -> Response:
    await asyncio.sleep(5)
    return Response(200)


async def fast(ex: Exchange) -> Response:
    return Response(204)


def test_route_timeout_values() -> None:
    assert route_timeout(None) is None
    assert route_timeout(routed(table([route()])).route) is None
    assert route_timeout(routed(table([route(timeout_ms=0)])).route) is None
    assert route_timeout(routed(table([route(timeout_ms=1500)])).route) == 1.5


async def test_deadline_passes_as_504_ut() -> None:
    handler, _ = compose([Rescue(), RouteTimeout()], slow)
    ex = routed(table([route(timeout_ms=30)]))
    response = await handler(ex)
    assert response.status == 504
    assert response.body == b"upstream request timeout"
    assert ex.response_flags == "UT"


async def test_within_the_deadline_and_without_one() -> None:
    flt = RouteTimeout()
    assert (await flt.wrap(fast)(routed(table([route(timeout_ms=1000)])))).status == 204
    assert (await flt.wrap(fast)(routed(table([route()])))).status == 204


async def test_an_inner_timeout_error_is_not_the_routes() -> None:
    async def inner(ex: Exchange) -> Response:
        raise TimeoutError("something else")

    with pytest.raises(TimeoutError, match="something else"):
        await RouteTimeout().wrap(inner)(routed(table([route(timeout_ms=1000)])))


async def test_within_returns_the_result() -> None:
    async def work() -> int:
        return 7

    assert await within(1.0, work, RouteTimeoutExpired) == 7
