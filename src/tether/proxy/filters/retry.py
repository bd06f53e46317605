"""Retries (VirtualService ``retries``): which outcomes are retried, back-off, budget, body replay.

The pure core is ``RetryRules`` (a route's policy compiled once: conditions as Envoy reads
``retry_on``, per-try timeout, back-off) and ``retry_allowed`` (the cluster's retry budget).
The filter runs each attempt through the layers below it:

- ``attempts`` is the number of retries after the first try; when they are used up the last
  response (or error) is returned with flag ``URX``;
- a retry waits a back-off drawn from [0, min(cap, base * (2**n - 1))] (full jitter, 25 ms base);
- a retry is admitted only within the budget: at most max(min_retry_concurrency, percent % of
  the cluster's active requests) retries in flight, and at most ``maxRetries`` if set;
  otherwise the outcome at hand is returned as is;
- the request body is buffered before the first attempt so that it can be sent again: up to
  64 KiB; a larger one is sent once, never retried, and ``ex.extra["retry_skipped"]`` says so.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from tether.core.schema.snapshot import RetryBudget, RetryPolicy
from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.body import Body, BodyError
from tether.proxy.codec.http1 import Headers
from tether.proxy.errors import (
    DownstreamBodyError,
    ProxyError,
    UpstreamConnectFailure,
    UpstreamProtocolError,
    UpstreamReset,
    UpstreamTimeout,
)
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.compiled import PolicyCache
from tether.proxy.filters.timeout import Deadlines
from tether.proxy.routing import RouteEntry
from tether.proxy.upstream.cluster import ClusterRuntime

REPLAY_LIMIT = 64 * 1024
DEFAULT_BUDGET = RetryBudget()
GRPC_CODES = {"cancelled": 1, "deadline-exceeded": 4, "resource-exhausted": 8, "internal": 13, "unavailable": 14}
Sleep = Callable[[float], Awaitable[None]]


class PerTryTimeout(UpstreamTimeout):
    """One attempt took longer than ``perTryTimeout`` (504 ``UT``; retried under 5xx,
    gateway-error and reset)."""


class RetryRules:
    """A route's retry policy compiled for quick decisions."""

    __slots__ = (
        "attempts",
        "backoff_base",
        "backoff_max",
        "codes",
        "connect_failure",
        "gateway_error",
        "grpc",
        "per_try",
        "reset",
        "retriable_4xx",
        "server_error",
    )

    def __init__(self, policy: RetryPolicy) -> None:
        on = set(policy.retry_on)
        self.attempts = max(0, policy.attempts)
        self.per_try = policy.per_try_timeout_ms / 1000.0 if policy.per_try_timeout_ms else None
        self.server_error = "5xx" in on
        self.gateway_error = "gateway-error" in on
        self.reset = "reset" in on
        self.connect_failure = "connect-failure" in on
        self.retriable_4xx = "retriable-4xx" in on
        self.codes = frozenset(policy.retriable_status_codes)
        self.grpc = frozenset(code for name, code in GRPC_CODES.items() if name in on)
        self.backoff_base = policy.backoff_base_ms / 1000.0
        self.backoff_max = max(policy.backoff_max_ms, policy.backoff_base_ms) / 1000.0

    def retries_status(self, status: int, grpc_status: bytes | None = None) -> bool:
        """Return whether a response with ``status`` (and ``grpc-status``) calls for a retry."""
        if status >= 500 and (self.server_error or (self.gateway_error and status in (502, 503, 504))):
            return True
        if status == 409 and self.retriable_4xx:
            return True
        if status in self.codes:
            return True
        return grpc_status is not None and grpc_status.isdigit() and int(grpc_status) in self.grpc

    def retries_error(self, error: ProxyError) -> bool:
        """Return whether a failed attempt (connect failure, reset, per-try timeout) calls for a
        retry. Overflow and no-healthy-upstream are never retried, as in Envoy."""
        broad = self.server_error or self.gateway_error or self.reset
        if isinstance(error, UpstreamConnectFailure):
            return broad or self.connect_failure
        if isinstance(error, (UpstreamReset, UpstreamProtocolError, PerTryTimeout)):
            return broad
        return False

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Return the wait before retry number ``retry`` (1-based), in seconds."""
        ceiling = min(self.backoff_max, self.backoff_base * ((1 << min(retry, 30)) - 1))
        return rng.uniform(0.0, ceiling)


def retry_allowed(
    active_requests: int, active_retries: int, budget: RetryBudget | None, max_retries: int | None
) -> bool:
    """Return whether one more retry may start while ``active_retries`` are in flight among
    ``active_requests`` of the cluster (Envoy's retry budget; ``maxRetries`` caps it too)."""
    if max_retries is not None and active_retries >= max_retries:
        return False
    b = budget or DEFAULT_BUDGET
    return active_retries < max(b.min_retry_concurrency, b.percent * active_requests / 100.0)


def replay_body(data: bytes, chunked: bool, trailers: Headers | None) -> Body:
    """Return a fresh, complete copy of a buffered body, framed as the original was."""
    if not chunked:
        return Body.complete(data)
    body = Body(None, True)
    if data:
        body.feed(data)
    body.finish(trailers)
    return body


def _requeue(ex: Exchange, chunks: list[bytes]) -> None:
    """Put back the part of a too-long body already read, ahead of the rest still arriving."""
    old = ex.body
    new = Body(old.length, old.chunked, old.pause, old.resume)
    for data in chunks:
        new.feed(data)
    rest = old.take_all()
    if rest:
        new.feed(rest)
    new.paused = new.paused or old.paused
    if old.done:
        new.finish(old.trailers)
    ex.body = new  # the downstream parser feeds ``ex.body``, so the rest arrives here


async def buffer_body(ex: Exchange) -> bytes | None:
    """Read the request body into memory so it can be replayed; return it, or None when it is
    longer than 64 KiB (then ``ex.body`` still carries it, whole, for a single attempt).

    Raises DownstreamBodyError if the client breaks off the body.
    """
    body = ex.body
    if body.done:
        if body.failed:
            return None
        if body.received == 0:
            return b""
        if body.received > REPLAY_LIMIT:
            return None
        data = body.take_all()
        ex.body = replay_body(data, body.chunked, body.trailers)
        return data
    if body.length is not None and body.length > REPLAY_LIMIT:
        return None
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            data = await body.read()
            if not data:
                break
            chunks.append(data)
            total += len(data)
            if total > REPLAY_LIMIT:
                _requeue(ex, chunks)
                return None
    except BodyError as exc:
        raise DownstreamBodyError() from exc
    whole = b"".join(chunks)
    ex.body = replay_body(whole, body.chunked, body.trailers)
    return whole


def discard(response: Response) -> None:
    """Let go of a response that will not be sent: its connection goes back to the pool if the
    body is complete, else it is closed."""
    body = response.body
    if isinstance(body, Body) and response.upstream is not None:
        response.upstream.finished_streaming(body)


class RetryStats:
    """Retries: attempts after the first, retries exhausted (URX), retries the budget or
    maxRetries refused, per-try timeouts, requests not retried because of a body over 64 KiB."""

    def __init__(self) -> None:
        self.retries = 0
        self.exhausted = 0
        self.budget_refused = 0
        self.per_try_timeouts = 0
        self.body_too_large = 0


class Retry(Filter):
    """Runs the layers below once per attempt, as the route's retry policy says."""

    name = "retry"

    def applies(self, route: RouteEntry) -> bool:
        return route.spec.retry is not None

    def __init__(self, rng: random.Random, sleep: Sleep = asyncio.sleep) -> None:
        self.rng = rng
        self.sleep = sleep
        self.rules = PolicyCache[RetryPolicy, RetryRules](RetryRules)  # once per policy of the running snapshot
        self.deadlines = Deadlines()
        self.stats = RetryStats()

    def on_snapshot(self) -> None:
        self.rules.clear()

    def wrap(self, next_handler: Handler) -> Handler:
        async def retry(ex: Exchange) -> Response:
            route = ex.route
            policy = route.spec.retry if route is not None else None
            cluster = ex.cluster
            if policy is None or cluster is None:
                return await next_handler(ex)
            return await self.run(ex, self.rules(policy), cluster, next_handler)

        return retry

    async def attempt(self, ex: Exchange, rules: RetryRules, next_handler: Handler) -> Response:
        """Return the outcome of one attempt, bounded by the per-try timeout (PerTryTimeout)."""
        if rules.per_try is None:
            return await next_handler(ex)
        armed = self.deadlines.arm(rules.per_try)
        try:
            return await next_handler(ex)
        except asyncio.CancelledError:
            if armed.cancelled_us():
                self.stats.per_try_timeouts += 1
                raise PerTryTimeout() from None
            raise
        finally:
            self.deadlines.disarm(armed)

    async def run(self, ex: Exchange, rules: RetryRules, cluster: ClusterRuntime, next_handler: Handler) -> Response:
        """Return the response of the first attempt that is not retried, or of the last one.

        Raises the last attempt's ProxyError when that is the final outcome.
        """
        replay: bytes | None = None
        original = ex.body
        if rules.attempts > 0:
            replay = b"" if original.done and original.received == 0 else await buffer_body(ex)
            if replay is None:
                self.stats.body_too_large += 1
                if ex.extra is None:
                    ex.extra = {}
                ex.extra["retry_skipped"] = "body_too_large"
        allowed = rules.attempts if replay is not None else 0
        load = cluster.load
        done = 0
        retrying = False
        try:
            while True:
                if done and replay:
                    ex.body = replay_body(replay, original.chunked, original.trailers)
                error: ProxyError | None = None
                response: Response | None = None
                try:
                    if rules.per_try is None:
                        response = await next_handler(ex)
                    else:
                        response = await self.attempt(ex, rules, next_handler)
                except ProxyError as exc:
                    error = exc
                if retrying:
                    retrying = False
                    load.active_retries -= 1
                if response is not None:
                    grpc = response.headers.get(b"grpc-status") if rules.grpc and response.status == 200 else None
                    if not rules.retries_status(response.status, grpc):
                        return response
                elif error is not None and not rules.retries_error(error):
                    raise error
                if done >= allowed:
                    if allowed:
                        self.stats.exhausted += 1
                        if error is not None:
                            ex.add_flag(error.flag)
                        ex.add_flag("URX")
                    return _outcome(response, error)
                if not retry_allowed(load.active_requests, load.active_retries, cluster.spec.retry_budget,
                                     cluster.max_retries):
                    self.stats.budget_refused += 1
                    return _outcome(response, error)
                if response is not None:
                    discard(response)
                done += 1
                self.stats.retries += 1
                if ex.extra is None:
                    ex.extra = {}
                ex.extra["retry_attempts"] = done  # spans and the access log report it
                load.active_retries += 1
                retrying = True
                await self.sleep(rules.backoff(done, self.rng))
        finally:
            if retrying:
                load.active_retries -= 1


def _outcome(response: Response | None, error: ProxyError | None) -> Response:
    if response is not None:
        return response
    assert error is not None
    raise error
