"""The control plane in-process: API, store, push and the proxy's watch client over real sockets."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tether.client.http import ApiError, ControlClient
from tether.control.registry import ProxyRecord
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.watch import WatchState, run_watch
from tether.testing.listings import BOOK_DR, BOOK_VS

BAD_VS = BOOK_VS.replace("attempts: 20", "attempts: many").replace("order-retry", "bad")

GATEWAY_ONLY_VS = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: edge
spec:
  hosts: ["shop.example.com"]
  gateways: ["ingress"]
  http:
  - route:
    - destination: {host: order}
"""


class Recorder:
    """A SnapshotSink that records what it got and refuses on demand."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.refuse: str | None = None

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        if self.refuse:
            raise ConfigRejected(self.refuse)
        self.snapshots.append(snapshot)

    @property
    def version(self) -> str:
        return self.snapshots[-1].version if self.snapshots else ""


def has_timeout(sink: Recorder) -> bool:
    """Return whether the last snapshot has a route with a timeout (the book's VS applied)."""
    if not sink.snapshots:
        return False
    return any(r.timeout_ms for vh in sink.snapshots[-1].virtual_hosts for r in vh.routes)


class Harness:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.plane: ControlPlane | None = None
        self.port = 0
        self.watchers = TaskGroup("test-watchers")

    async def start(self, port: int = 0) -> ControlPlane:
        token = ensure_admin_token(str(self.data))
        self.plane = ControlPlane(
            Store.in_dir(str(self.data)), token, heartbeat_interval=0.2, warmup=1.0
        )
        self.port = await self.plane.start("127.0.0.1", port)
        return self.plane

    async def stop(self) -> None:
        if self.plane is not None:
            await self.plane.close()
            self.plane = None

    def client(self, token: bool = True) -> ControlClient:
        assert self.plane is not None
        return ControlClient(f"http://127.0.0.1:{self.port}", self.plane.token if token else None)

    def records(self) -> tuple[ProxyRecord, ...]:
        assert self.plane is not None
        return self.plane.registry.records()

    def synced(self, count: int) -> bool:
        records = self.records()
        return len(records) == count and all(r.status == "SYNCED" for r in records)

    async def call(self, func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return await asyncio.to_thread(func, *args, **kw)

    def watch(self, node: ProxyNode, sink: Recorder, inbound: str) -> WatchState:
        state = WatchState()
        coro = run_watch(
            f"http://127.0.0.1:{self.port}", node, sink, inbound_address=inbound,
            clock=SYSTEM_CLOCK, rng=random.Random(1), state=state,
            backoff_base=0.05, backoff_cap=0.2,
        )
        self.watchers.spawn(f"watch-{node.name}", coro)
        return state


async def eventually(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path / "data")
    await harness.start()
    try:
        yield harness
    finally:
        await harness.watchers.close()
        await harness.stop()


def test_admin_token_is_private_and_stable(tmp_path: Path) -> None:
    token = ensure_admin_token(str(tmp_path))
    assert (tmp_path / "admin.token").stat().st_mode & 0o777 == 0o600
    assert ensure_admin_token(str(tmp_path)) == token


async def test_apply_needs_the_token_reads_do_not(h: Harness) -> None:
    with pytest.raises(ApiError) as err:
        await h.call(h.client(token=False).apply, [("retry.yaml", BOOK_VS)])
    assert err.value.status == 401
    health = await h.call(h.client(token=False).health)
    assert health.status == "ok" and health.store == "ok" and health.revision == 0


async def test_apply_reports_outcomes_and_get_returns_the_body(h: Harness) -> None:
    client = h.client()
    first = await h.call(client.apply, [("dr.yaml", BOOK_DR), ("retry.yaml", BOOK_VS)])
    assert [(o.qualified, o.name, o.outcome) for o in first.results] == [
        ("destinationrule.networking.istio.io", "order-circuit-breaker", "created"),
        ("virtualservice.networking.istio.io", "order-retry", "created"),
    ]
    again = await h.call(client.apply, [("retry.yaml", BOOK_VS)])
    assert again.results[0].outcome == "unchanged" and again.revision == first.revision
    changed = await h.call(client.apply, [("retry.yaml", BOOK_VS.replace("10s", "12s"))])
    assert changed.results[0].outcome == "configured" and changed.revision == first.revision + 1
    got = await h.call(client.get_resource, "vs", "default", "order-retry")
    assert got.body["spec"]["http"][0]["timeout"] == "12s"
    listed = await h.call(client.list_resources, "VirtualService", None)
    assert [o.name for o in listed] == ["order-retry"]


async def test_one_bad_document_refuses_the_whole_apply(h: Harness) -> None:
    client = h.client()
    with pytest.raises(ApiError) as err:
        await h.call(client.apply, [("ok.yaml", BOOK_DR), ("bad.yaml", BAD_VS)])
    assert err.value.status == 422
    assert any(
        "bad.yaml doc 1 VirtualService/bad: spec.http[0].retries.attempts" in line
        for line in err.value.errors
    ), err.value.errors
    assert (await h.call(client.health)).revision == 0
    assert await h.call(client.list_resources) == []


async def test_delete_by_key_and_restart_keeps_resources(h: Harness) -> None:
    client = h.client()
    await h.call(client.apply, [("dr.yaml", BOOK_DR), ("retry.yaml", BOOK_VS)])
    gone = await h.call(client.delete_keys, [("dr", "default", "order-circuit-breaker")])
    assert [o.outcome for o in gone.results] == ["deleted"]
    await h.stop()
    plane = await h.start()
    assert list(plane.resources) == [("VirtualService", "default", "order-retry")]
    assert [o.name for o in await h.call(h.client().list_resources)] == ["order-retry"]


async def test_watch_syncs_and_pushes_only_to_affected_proxies(h: Harness) -> None:
    order, shipping = Recorder(), Recorder()
    h.watch(ProxyNode(name="order"), order, "127.0.0.1:20001")
    h.watch(ProxyNode(name="shipping"), shipping, "127.0.0.1:20002")
    client = h.client()

    def synced() -> bool:
        return h.synced(2)

    await eventually(lambda: bool(order.snapshots and shipping.snapshots))
    await eventually(synced)
    # A gateway-only VirtualService changes nothing a sidecar runs: nobody is woken.
    before = (len(order.snapshots), len(shipping.snapshots), order.version)
    recomputations = h.plane.hub.recomputations if h.plane else 0
    await h.call(client.apply, [("edge.yaml", GATEWAY_ONLY_VS)])
    await eventually(lambda: h.plane is not None and h.plane.hub.recomputations > recomputations)
    await asyncio.sleep(0.1)
    assert (len(order.snapshots), len(shipping.snapshots), order.version) == before
    # The book's retry VirtualService changes the routes of every sidecar that can call order.
    desired_before = {r.node.name: r.desired_version for r in h.records()}
    await h.call(client.apply, [("retry.yaml", BOOK_VS)])
    # When apply answers, the desired versions already reflect it: "SYNCED" from now on
    # means "runs the new configuration".
    assert all(r.desired_version != desired_before[r.node.name] for r in h.records())
    await eventually(lambda: has_timeout(order) and has_timeout(shipping))
    await eventually(synced)
    routes = [r for vh in order.snapshots[-1].virtual_hosts for r in vh.routes]
    assert any(r.timeout_ms == 10_000 for r in routes)


async def test_nack_reason_shows_in_proxy_status(h: Harness) -> None:
    sink = Recorder()
    sink.refuse = "route r names unknown cluster x"
    state = h.watch(ProxyNode(name="order"), sink, "127.0.0.1:20001")
    client = h.client()

    await eventually(lambda: state.nacks > 0)
    await eventually(lambda: any(r.last_nack for r in h.records()))
    record = (await h.call(client.proxies)).proxies[0]
    assert record.status == "STALE"
    assert record.last_nack is not None and "unknown cluster x" in record.last_nack.reason


async def test_gone_proxy_is_removed_and_restart_resyncs(h: Harness) -> None:
    order, shipping = Recorder(), Recorder()
    h.watch(ProxyNode(name="order"), order, "127.0.0.1:20001")
    state = h.watch(ProxyNode(name="shipping"), shipping, "127.0.0.1:20002")
    client = h.client()
    await eventually(lambda: len(h.records()) == 2 and bool(shipping.snapshots))
    # Control plane goes away and comes back on the same port: proxies keep their snapshot,
    # register again and end up synced; resources survive.
    await h.call(client.apply, [("retry.yaml", BOOK_VS)])
    await eventually(lambda: has_timeout(shipping) and h.synced(2))
    port = h.port
    await h.stop()
    kept = shipping.version
    assert kept
    await h.start(port)
    await eventually(lambda: state.registrations >= 2)
    await eventually(lambda: h.synced(2))
    assert shipping.version == kept  # nothing changed, so nothing was resent
    assert len(await h.call(h.client().list_resources)) == 1
    # A proxy whose stream is gone disappears within 3 heartbeat intervals.
    await h.watchers.close()
    await eventually(lambda: h.records() == (), limit=5)
    assert (await h.call(h.client().proxies)).proxies == ()


async def test_unknown_paths_go_to_the_fallback(h: Harness) -> None:
    from tether.control.api.http import Request, Response

    async def page(request: Request) -> Response:
        return Response(body=b"<h1>dashboard</h1>", content_type="text/html")

    assert h.plane is not None
    with pytest.raises(ApiError) as err:
        await h.call(h.client().request, "GET", "/")
    assert err.value.status == 404
    h.plane.fallback = page
    with pytest.raises(ApiError, match="non-JSON"):
        await h.call(h.client().request, "GET", "/")
