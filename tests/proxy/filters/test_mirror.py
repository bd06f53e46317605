from __future__ import annotations

import asyncio
import random

import pytest

from tether.core.schema.snapshot import MirrorPolicy
from tether.core.tasks import TaskGroup
from tether.proxy.chain import compose
from tether.proxy.codec.body import Body
from tether.proxy.errors import UpstreamConnectFailure
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.mirror import MAX_BODY, Mirror, buffered_copy, shadow_authority
from tether.proxy.routing import RoutingTable
from tether.testing.factories import make_exchange
from tether.testing.routed import CLUSTER, cluster, route, routed, table

SHADOW = "outbound|80|v2|upstream.default.svc.cluster.local"


def mirrored(percent: float = 100.0, mirror_to: str = SHADOW) -> RoutingTable:
    return table([route(mirrors=(MirrorPolicy(cluster=mirror_to, percent=percent),))],
                 [cluster(), cluster(SHADOW, port=81)])


@pytest.mark.parametrize(("authority", "expected"), [
    (b"order", b"order-shadow"),
    (b"order:80", b"order-shadow:80"),
    (b"order.default.svc.cluster.local", b"order.default.svc.cluster.local-shadow"),
    (b"[::1]:8080", b"[::1]-shadow:8080"),
])
def test_shadow_authority(authority: bytes, expected: bytes) -> None:
    assert shadow_authority(authority) == expected


def _drain(body: Body | bytes) -> bytes:
    assert isinstance(body, Body)
    return body.take_all()


def test_buffered_copy_keeps_the_real_body() -> None:
    ex = make_exchange(b"POST")
    body = Body(None, True)
    body.feed(b"hello ")
    body.feed(b"world")
    body.finish()
    ex.body = body
    assert buffered_copy(ex) == b"hello world"
    assert ex.body is not body
    assert (ex.body.chunked, ex.body.fully_buffered, ex.body.received) == (True, True, 11)
    assert _drain(ex.body) == b"hello world"


def test_buffered_copy_refuses_large_or_unfinished_bodies() -> None:
    ex = make_exchange(b"POST")
    big = Body(MAX_BODY + 1, False)
    big.feed(b"x" * (MAX_BODY + 1))
    big.finish()
    ex.body = big
    assert buffered_copy(ex) is None
    assert ex.body is big
    partial = Body(10, False)
    partial.feed(b"12345")
    ex.body = partial
    assert buffered_copy(ex) is None


class Sender:
    """A fake upstream path: records copies; may fail, or hang until released."""

    def __init__(self, fail: bool = False, hang: bool = False) -> None:
        self.copies: list[Exchange] = []
        self.fail, self.hang = fail, hang
        self.release = asyncio.Event()
        self.bodies: list[Body] = []

    async def __call__(self, ex: Exchange) -> Response:
        self.copies.append(ex)
        if self.hang:
            await self.release.wait()
        if self.fail:
            raise UpstreamConnectFailure()
        body = Body(4, False)
        body.feed(b"drop")
        body.finish()
        self.bodies.append(body)
        return Response(200, body=body)


async def real(ex: Exchange) -> Response:
    return Response(200, body=b"real")


async def _settle(tasks: TaskGroup) -> None:
    for _ in range(20):
        if not len(tasks):
            return
        await asyncio.sleep(0)


async def test_copy_goes_to_the_mirror_cluster_with_shadow_host() -> None:
    tasks, sender = TaskGroup("t"), Sender()
    tbl = mirrored()
    flt = Mirror(lambda: tbl, random.Random(1), sender, tasks)
    body = Body.complete(b"payload")
    ex = routed(tbl, b"POST", b"/orders?x=1", [(b"x-request-id", b"abc"), (b"content-length", b"7")], body)
    response = await compose([flt], real)(ex)
    assert response.body == b"real"
    await _settle(tasks)
    (copy,) = sender.copies
    assert copy.cluster is not None and copy.cluster.name == SHADOW
    assert (copy.method, copy.path, copy.authority) == (b"POST", b"/orders?x=1", b"upstream-shadow")
    assert copy.headers.get(b"host") == b"upstream-shadow"
    assert copy.headers.get(b"x-request-id") == b"abc"
    assert copy.headers.get_all(b"content-length") == [b"7"]
    assert _drain(copy.body) == b"payload"
    assert ex.headers.get(b"host") == b"upstream", "the real request keeps its host"
    assert _drain(ex.body) == b"payload", "the real request keeps its body"
    assert sender.bodies[0].received == 4 and sender.bodies[0].take_all() == b"", "shadow response drained"
    assert (flt.stats.sent, flt.stats.succeeded, flt.inflight) == (1, 1, 0)
    await tasks.close()


async def test_failing_mirror_does_not_touch_the_real_request() -> None:
    tasks, sender = TaskGroup("t"), Sender(fail=True)
    tbl = mirrored()
    flt = Mirror(lambda: tbl, random.Random(1), sender, tasks)
    ex = routed(tbl)
    assert (await compose([flt], real)(ex)).status == 200
    await _settle(tasks)
    assert (flt.stats.failed, flt.inflight) == (1, 0)
    assert ex.flags is None
    await tasks.close()


async def test_slow_mirror_is_bounded_and_dropped_beyond_the_limit() -> None:
    tasks, sender = TaskGroup("t"), Sender(hang=True)
    tbl = mirrored()
    flt = Mirror(lambda: tbl, random.Random(1), sender, tasks, max_inflight=2)
    handler = compose([flt], real)
    for _ in range(5):
        assert (await handler(routed(tbl))).status == 200
    await asyncio.sleep(0)
    assert (flt.stats.sent, flt.stats.dropped_busy, flt.inflight) == (2, 3, 2)
    sender.release.set()
    await _settle(tasks)
    assert flt.inflight == 0
    await tasks.close()


async def test_slow_mirror_times_out() -> None:
    tasks, sender = TaskGroup("t"), Sender(hang=True)
    tbl = mirrored()
    flt = Mirror(lambda: tbl, random.Random(1), sender, tasks, timeout_s=0.01)
    await compose([flt], real)(routed(tbl))
    for _ in range(100):
        if flt.stats.failed:
            break
        await asyncio.sleep(0.01)
    assert (flt.stats.failed, flt.inflight) == (1, 0)
    await tasks.close()


async def test_percentage_with_fixed_seed() -> None:
    tasks, sender = TaskGroup("t"), Sender()
    tbl = mirrored(percent=25.0)
    flt = Mirror(lambda: tbl, random.Random(5), sender, tasks)
    handler = compose([flt], real)
    for _ in range(2000):
        await handler(routed(tbl))
        await asyncio.sleep(0)
    await _settle(tasks)
    assert flt.stats.dropped_busy == 0
    assert abs(len(sender.copies) - 500) < 60
    await tasks.close()


async def test_unfinished_body_skips_the_copy() -> None:
    tasks, sender = TaskGroup("t"), Sender()
    tbl = mirrored()
    flt = Mirror(lambda: tbl, random.Random(1), sender, tasks)
    body = Body(100, False)
    body.feed(b"x" * 10)
    ex = routed(tbl, b"POST", b"/", body=body)
    await compose([flt], real)(ex)
    assert (flt.stats.skipped_body, flt.stats.sent) == (1, 0)
    assert ex.extra is not None and "64 KiB" in ex.extra["mirror_skipped"]
    assert sender.copies == []
    await tasks.close()


async def test_no_mirror_and_unknown_cluster() -> None:
    tasks, sender = TaskGroup("t"), Sender()
    plain = table([route()])
    await compose([Mirror(lambda: plain, random.Random(1), sender, tasks)], real)(routed(plain))
    tbl = mirrored(mirror_to=CLUSTER)
    flt = Mirror(lambda: table([route()]), random.Random(1), sender, tasks)
    await compose([flt], real)(routed(tbl))
    await _settle(tasks)
    assert flt.stats.sent == 1
    assert sender.copies[0].headers.get(b"host") == b"upstream-shadow"
    gone = Mirror(lambda: None, random.Random(1), sender, tasks)
    await compose([gone], real)(routed(tbl))
    assert gone.stats.unknown_cluster == 1
    await tasks.close()
