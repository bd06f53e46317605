"""Route timeout: one deadline over everything below; 504 UT when it passes."""

from __future__ import annotations

import asyncio

import pytest

from tether.proxy.chain import compose
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.timeout import Deadlines, RouteTimeout, RouteTimeoutExpired, route_timeout
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
    timeout = RouteTimeout()
    handler = compose([Rescue(), timeout], slow)
    ex = routed(table([route(timeout_ms=30)]))
    response = await handler(ex)
    assert response.status == 504 and timeout.stats.expired == 1
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


async def test_deadlines_share_one_timer_per_slot() -> None:
    deadlines = Deadlines(resolution=60.0)
    first, second = deadlines.arm(1.0), deadlines.arm(1.0)
    assert first.slot == second.slot and len(deadlines.slots) == 1
    deadlines.disarm(first)
    deadlines.disarm(second)
    assert deadlines.slots[first.slot] == set(), "the slot waits for its timer, for later requests"
    deadlines.disarm(first)


async def test_expired_deadline_cancels_and_is_told_apart() -> None:
    deadlines = Deadlines()

    async def guarded() -> str:
        armed = deadlines.arm(0.02)
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            if armed.cancelled_us():
                return "deadline"
            raise
        finally:
            deadlines.disarm(armed)
        return "done"

    assert await guarded() == "deadline"
    task = asyncio.ensure_future(guarded())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_nested_deadlines_each_answer_for_themselves() -> None:
    handler = compose([Rescue(), RouteTimeout()], slow)
    outer = routed(table([route(timeout_ms=20)]))
    assert (await handler(outer)).status == 504
    assert RouteTimeoutExpired.flag == "UT"


def test_a_new_loop_starts_afresh() -> None:
    deadlines = Deadlines()

    async def arm_once() -> int:
        armed = deadlines.arm(30.0)  # never fires before this loop ends
        deadlines.disarm(armed)
        return len(deadlines.slots)

    assert asyncio.run(arm_once()) == 1
    assert asyncio.run(arm_once()) == 1
