"""Retries: conditions, back-off, budget, per-try timeout, body replay; on virtual time with a
scripted handler standing in for the upstream."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest

from tether.core.schema.snapshot import RetryBudget, RetryPolicy
from tether.proxy.codec.body import Body
from tether.proxy.codec.http1 import Headers
from tether.proxy.errors import (
    NoHealthyUpstream,
    ProxyError,
    UpstreamConnectFailure,
    UpstreamProtocolError,
    UpstreamReset,
)
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.retry import (
    REPLAY_LIMIT,
    PerTryTimeout,
    Retry,
    RetryRules,
    buffer_body,
    retry_allowed,
)
from tether.proxy.upstream.pool import Overflow
from tether.testing.clock import FakeClock
from tether.testing.routed import route, routed, table

Outcome = int | ProxyError | float  # a status, an error to raise, or seconds to hang


class Upstream:
    """A scripted stand-in for everything below the retry filter."""

    def __init__(self, script: Sequence[Outcome], headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.script = list(script)
        self.headers = list(headers)
        self.bodies: list[bytes] = []
        self.trailers: list[Headers | None] = []

    async def __call__(self, ex: Exchange) -> Response:
        body = ex.body
        data = b""
        while chunk := await body.read():
            data += chunk
        self.bodies.append(data)
        self.trailers.append(body.trailers)
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(outcome, ProxyError):
            raise outcome
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
            outcome = 200
        return Response(outcome, Headers(list(self.headers)))

    @property
    def attempts(self) -> int:
        return len(self.bodies)


class Harness:
    def __init__(self, policy: RetryPolicy | None, seed: int = 1) -> None:
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.table = table([route(retry=policy)])
        self.filter = Retry(random.Random(seed), self.sleep)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    async def send(self, upstream: Upstream, ex: Exchange | None = None) -> tuple[Exchange, Response]:
        ex = ex or routed(self.table)
        return ex, await self.filter.wrap(upstream)(ex)

    @property
    def cluster_retries(self) -> int:
        (cluster,) = self.table.clusters.values()
        return cluster.load.active_retries


BOOK = RetryPolicy(attempts=20, per_try_timeout_ms=5000, retry_on=("connect-failure", "5xx"), retriable_status_codes=())


@pytest.mark.parametrize(("retry_on", "codes", "status", "grpc", "expected"), [
    (("5xx",), (), 500, None, True),
    (("5xx",), (), 503, None, True),
    (("5xx",), (), 404, None, False),
    (("gateway-error",), (), 500, None, False),
    (("gateway-error",), (), 502, None, True),
    (("gateway-error",), (), 504, None, True),
    (("retriable-4xx",), (), 409, None, True),
    (("retriable-4xx",), (), 404, None, False),
    (("retriable-status-codes",), (404, 503), 404, None, True),
    (("connect-failure",), (), 503, None, False),
    (("unavailable", "cancelled"), (), 200, b"14", True),
    (("unavailable",), (), 200, b"1", False),
    (("cancelled",), (), 200, b"1", True),
    (("5xx",), (), 200, None, False),
])
def test_status_conditions(retry_on: tuple[str, ...], codes: tuple[int, ...], status: int, grpc: bytes | None,
                           expected: bool) -> None:
    rules = RetryRules(RetryPolicy(retry_on=retry_on, retriable_status_codes=codes))
    assert rules.retries_status(status, grpc) is expected


@pytest.mark.parametrize(("retry_on", "error", "expected"), [
    (("connect-failure",), UpstreamConnectFailure(), True),
    (("connect-failure",), UpstreamReset(), False),
    (("reset",), UpstreamReset(), True),
    (("reset",), UpstreamConnectFailure(), True),
    (("5xx",), UpstreamProtocolError(), True),
    (("5xx",), PerTryTimeout(), True),
    (("gateway-error",), PerTryTimeout(), True),
    (("connect-failure", "retriable-status-codes"), PerTryTimeout(), False),
    (("5xx", "reset"), Overflow(), False),
    (("5xx", "reset"), NoHealthyUpstream(), False),
])
def test_error_conditions(retry_on: tuple[str, ...], error: ProxyError, expected: bool) -> None:
    assert RetryRules(RetryPolicy(retry_on=retry_on)).retries_error(error) is expected


def test_istios_default_policy() -> None:
    rules = RetryRules(RetryPolicy())
    assert rules.attempts == 2 and rules.per_try is None
    assert rules.retries_status(503) and not rules.retries_status(500)
    assert rules.retries_error(UpstreamConnectFailure()) and not rules.retries_error(UpstreamReset())


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    rules = RetryRules(RetryPolicy())
    rng = random.Random(5)
    for retry, ceiling in [(1, 0.025), (2, 0.075), (3, 0.175), (4, 0.25), (30, 0.25)]:
        draws = [rules.backoff(retry, rng) for _ in range(2000)]
        assert min(draws) >= 0 and max(draws) <= ceiling
        assert abs(sum(draws) / len(draws) - ceiling / 2) < ceiling * 0.05


@pytest.mark.parametrize(("active", "retries", "budget", "max_retries", "allowed"), [
    (1, 0, None, None, True),
    (1, 2, None, None, True),  # min_retry_concurrency 3
    (1, 3, None, None, False),
    (100, 19, None, None, True),  # 20 % of 100
    (100, 20, None, None, False),
    (100, 40, RetryBudget(percent=50, min_retry_concurrency=1), None, True),
    (10, 1, RetryBudget(percent=0, min_retry_concurrency=1), None, False),
    (100, 2, None, 2, False),
])
def test_retry_budget(active: int, retries: int, budget: RetryBudget | None, max_retries: int | None,
                      allowed: bool) -> None:
    assert retry_allowed(active, retries, budget, max_retries) is allowed


async def test_retries_until_success_with_backoff() -> None:
    h = Harness(BOOK)
    up = Upstream([500, 503, 200])
    ex, response = await h.send(up)
    assert response.status == 200 and up.attempts == 3
    assert len(h.sleeps) == 2 and h.sleeps[0] <= 0.025 and h.sleeps[1] <= 0.075
    assert ex.response_flags == "-" and h.cluster_retries == 0


async def test_exhausted_returns_the_last_response_with_urx() -> None:
    h = Harness(RetryPolicy(attempts=2, retry_on=("5xx",)))
    up = Upstream([500])
    ex, response = await h.send(up)
    assert response.status == 500 and up.attempts == 3
    assert ex.response_flags == "URX"
    assert (h.filter.stats.retries, h.filter.stats.exhausted) == (2, 1)


async def test_exhausted_on_errors_raises_the_last_with_urx() -> None:
    h = Harness(RetryPolicy(attempts=1, retry_on=("connect-failure",)))
    up = Upstream([UpstreamConnectFailure()])
    ex = routed(h.table)
    with pytest.raises(UpstreamConnectFailure):
        await h.send(up, ex)
    assert up.attempts == 2 and ex.response_flags == "UF,URX"


async def test_not_retried_outcomes_pass_through() -> None:
    h = Harness(RetryPolicy(attempts=5, retry_on=("gateway-error",)))
    up = Upstream([500])
    ex, response = await h.send(up)
    assert response.status == 500 and up.attempts == 1 and ex.response_flags == "-"
    with pytest.raises(Overflow):
        await h.send(Upstream([Overflow()]))


async def test_no_policy_or_zero_attempts_is_one_attempt() -> None:
    up = Upstream([503])
    _, response = await Harness(None).send(up)
    assert response.status == 503 and up.attempts == 1
    up = Upstream([503])
    ex, response = await Harness(RetryPolicy(attempts=0)).send(up)
    assert up.attempts == 1 and ex.response_flags == "-"


async def test_budget_stops_retrying_without_urx() -> None:
    h = Harness(RetryPolicy(attempts=5, retry_on=("5xx",)))
    (cluster,) = h.table.clusters.values()
    cluster.load.active_retries = 3  # the default budget's minimum is in use elsewhere
    up = Upstream([500])
    ex, response = await h.send(up)
    assert response.status == 500 and up.attempts == 1 and ex.response_flags == "-"
    assert cluster.load.active_retries == 3 and h.filter.stats.budget_refused == 1


async def test_max_retries_caps_concurrent_retries() -> None:
    h = Harness(RetryPolicy(attempts=5, retry_on=("5xx",)))
    (cluster,) = h.table.clusters.values()
    cluster.max_retries = 0
    up = Upstream([500])
    await h.send(up)
    assert up.attempts == 1


async def test_per_try_timeout_is_retried() -> None:
    h = Harness(RetryPolicy(attempts=3, per_try_timeout_ms=20, retry_on=("5xx",)))
    up = Upstream([5.0, 200])
    _, response = await h.send(up)
    assert response.status == 200 and up.attempts == 2
    assert h.filter.stats.per_try_timeouts == 1


async def test_per_try_timeout_exhausted_is_ut_urx() -> None:
    h = Harness(RetryPolicy(attempts=1, per_try_timeout_ms=20, retry_on=("reset",)))
    ex = routed(h.table)
    with pytest.raises(PerTryTimeout) as raised:
        await h.send(Upstream([5.0]), ex)
    assert raised.value.status == 504
    assert ex.response_flags == "UT,URX"


def _body(data: bytes, chunked: bool = False, parts: int = 1, done: bool = True,
          trailers: Headers | None = None) -> Body:
    body = Body(None if chunked else len(data), chunked)
    step = max(1, -(-len(data) // parts))
    for i in range(0, len(data), step):
        body.feed(data[i:i + step])
    if done:
        body.finish(trailers)
    return body


async def test_body_is_replayed_on_every_attempt() -> None:
    h = Harness(RetryPolicy(attempts=2, retry_on=("5xx",)))
    up = Upstream([500])
    ex = routed(h.table, b"POST", body=_body(b"x" * 1000, parts=3))
    await h.send(up, ex)
    assert up.bodies == [b"x" * 1000] * 3


async def test_chunked_body_with_trailers_is_replayed_chunked() -> None:
    h = Harness(RetryPolicy(attempts=1, retry_on=("5xx",)))
    up = Upstream([500])
    trailers = Headers([(b"x-sum", b"1")])
    ex = routed(h.table, b"POST", body=_body(b"abc", chunked=True, trailers=trailers))
    await h.send(up, ex)
    assert up.bodies == [b"abc", b"abc"]
    assert all(t is not None and t.get(b"x-sum") == b"1" for t in up.trailers)
    assert ex.body.chunked


async def test_large_known_body_is_sent_once_and_noted() -> None:
    h = Harness(RetryPolicy(attempts=3, retry_on=("5xx",)))
    up = Upstream([500])
    big = b"y" * (REPLAY_LIMIT + 1)
    ex = routed(h.table, b"POST", body=_body(big, parts=4, done=False))
    ex.body.finish()
    _, response = await h.send(up, ex)
    assert up.bodies == [big] and response.status == 500
    assert ex.extra == {"retry_skipped": "body_too_large"}
    assert h.filter.stats.body_too_large == 1


async def test_large_chunked_body_streams_whole_in_order() -> None:
    h = Harness(RetryPolicy(attempts=3, retry_on=("5xx",)))
    data = bytes(range(256)) * 300  # 76,800 bytes
    body = _body(data[:50_000], chunked=True, parts=5, done=False)
    ex = routed(h.table, b"POST", body=body)
    up = Upstream([500])
    task = asyncio.ensure_future(h.send(up, ex))
    await asyncio.sleep(0)
    ex.body.feed(data[50_000:70_000])  # the downstream parser feeds whatever ``ex.body`` is now
    await asyncio.sleep(0)
    ex.body.feed(data[70_000:])
    ex.body.finish()
    await task
    assert up.bodies == [data] and ex.extra == {"retry_skipped": "body_too_large"}


async def test_buffer_body_of_an_empty_request_copies_nothing() -> None:
    ex = routed(table([route()]))
    original = ex.body
    assert await buffer_body(ex) == b""
    assert ex.body is original
