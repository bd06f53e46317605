from __future__ import annotations

import random

import pytest

from tether.core.schema.snapshot import FaultPolicy
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.fault import NO_FAULT, FaultAbort, FaultDecision, FaultInjection, chosen, decide
from tether.proxy.rescue import error_response
from tether.testing.clock import FakeClock
from tether.testing.routed import route, routed, table


def test_chosen_edges() -> None:
    rng = random.Random(3)
    assert all(chosen(100.0, rng) for _ in range(1000))
    assert not any(chosen(0.0, rng) for _ in range(1000))


@pytest.mark.parametrize("percent", [0.1, 10.0, 50.0, 90.0])
def test_chosen_rate_with_fixed_seed(percent: float) -> None:
    rng = random.Random(42)
    n = 100_000
    hits = sum(chosen(percent, rng) for _ in range(n))
    assert abs(hits / n * 100 - percent) < max(0.05, percent * 0.03)


def test_decide_draws_delay_and_abort_independently() -> None:
    policy = FaultPolicy(delay_ms=100, delay_percent=50.0, abort_status=503, abort_percent=50.0)
    rng = random.Random(9)
    counts: dict[tuple[bool, bool], int] = {}
    for _ in range(20_000):
        d = decide(policy, rng)
        key = (d.delay_ms is not None, d.abort_status is not None)
        counts[key] = counts.get(key, 0) + 1
    for key in [(False, False), (False, True), (True, False), (True, True)]:
        assert abs(counts[key] / 20_000 - 0.25) < 0.015, counts


def test_decide_without_faults() -> None:
    assert decide(FaultPolicy(), random.Random(1)) is NO_FAULT
    assert decide(FaultPolicy(abort_status=500, abort_percent=0.0), random.Random(1)) is NO_FAULT
    assert decide(FaultPolicy(abort_status=500), random.Random(1)) == FaultDecision(abort_status=500)


class Upstream:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, ex: Exchange) -> Response:
        self.calls += 1
        return Response(200)


class VirtualSleep:
    """Sleeps on a FakeClock: records the delays and moves virtual time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)


async def test_abort_answers_with_status_and_fi_flag() -> None:
    up = Upstream()
    ex = routed(table([route(fault=FaultPolicy(abort_status=500))]))
    with pytest.raises(FaultAbort) as info:
        await FaultInjection(random.Random(1)).wrap(up)(ex)
    response = error_response(ex, info.value)
    assert (response.status, response.body) == (500, b"fault filter abort")
    assert ex.response_flags == "FI"
    assert up.calls == 0


async def test_delay_then_proceed_with_di_flag() -> None:
    clock = FakeClock(start=0.0)
    sleep = VirtualSleep(clock)
    up = Upstream()
    ex = routed(table([route(fault=FaultPolicy(delay_ms=1500))]))
    response = await FaultInjection(random.Random(1), sleep).wrap(up)(ex)
    assert response.status == 200
    assert sleep.delays == [1.5]
    assert clock.monotonic() == 1.5
    assert ex.response_flags == "DI"
    assert up.calls == 1


async def test_delay_and_abort_together() -> None:
    sleep = VirtualSleep(FakeClock())
    ex = routed(table([route(fault=FaultPolicy(delay_ms=10, abort_status=503))]))
    flt = FaultInjection(random.Random(1), sleep)
    with pytest.raises(FaultAbort) as info:
        await flt.wrap(Upstream())(ex)
    assert info.value.status == 503
    error_response(ex, info.value)
    assert ex.response_flags == "DI,FI"
    assert (flt.stats.delays, flt.stats.aborts) == (1, 1)


async def test_half_of_requests_aborted_with_seed() -> None:
    tbl = table([route(fault=FaultPolicy(abort_status=503, abort_percent=50.0))])
    up = Upstream()
    handler = FaultInjection(random.Random(2024)).wrap(up)
    aborted = 0
    for _ in range(2000):
        try:
            await handler(routed(tbl))
        except FaultAbort:
            aborted += 1
    assert abs(aborted - 1000) < 80
    assert aborted + up.calls == 2000


async def test_route_without_fault_passes() -> None:
    up = Upstream()
    ex = routed(table([route()]))
    await FaultInjection(random.Random(1)).wrap(up)(ex)
    assert up.calls == 1 and ex.flags is None
