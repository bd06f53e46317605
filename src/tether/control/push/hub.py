"""The asyncio side of pushing: one wake-up event per connected proxy, one recompute loop.

``changed()`` marks the world dirty; the recompute task coalesces bursts of changes
(a hundred registrations cost a handful of recomputations, not a hundred), asks the
planner who needs a new snapshot and wakes only those streams. Each watch stream
writes the newest desired snapshot when it differs from what it last wrote, and an
empty keep-alive line every ``keepalive`` seconds.

Warm-up: right after a control-plane start the registry is empty and fills as proxies
register again. A proxy that reconnects with a snapshot already (``since``) is sent
nothing during ``warmup`` seconds, so it does not trade its full snapshot for one that
lacks the endpoints of workloads that have not re-registered yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tether.control.api.http import ChunkWriter
from tether.control.push.planner import TranslationFailed, plan_push
from tether.control.registry import Registry, UnknownProxy
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot, encode
from tether.core.tasks import TaskGroup

log = logging.getLogger(__name__)

THREAD_ABOVE = 32  # proxies; below this, translating inline is cheaper than a thread hop


class PushHub:
    """Keeps each proxy's desired snapshot current and feeds the watch streams."""

    def __init__(
        self,
        registry: Registry,
        world: Callable[[], Any],
        translate: Callable[[Any, ProxyNode], Snapshot],
        *,
        keepalive: float = 2.0,
        debounce: float = 0.005,
        warmup: float = 0.0,
    ) -> None:
        self.registry = registry
        self._world = world
        self._translate = translate
        self.keepalive = keepalive
        self.warmup = warmup
        self.warm = asyncio.Event()
        self.debounce = debounce
        self.desired: dict[str, Snapshot] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._dirty = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks = TaskGroup("push")
        self.recomputations = 0

    def start(self) -> None:
        """Start the recompute loop (needs a running event loop)."""
        self._tasks.spawn("recompute", self._recompute_loop())
        self._tasks.spawn("warmup", self._warm_up())

    async def _warm_up(self) -> None:
        await asyncio.sleep(self.warmup)
        self.warm.set()
        await self.recompute_async()
        for event in self._wake.values():
            event.set()

    async def close(self) -> None:
        """Stop the recompute loop."""
        await self._tasks.close()

    def changed(self) -> None:
        """Note that resources or workloads changed; streams are updated soon after."""
        self._dirty.set()

    def recompute(self) -> tuple[str, ...]:
        """Translate for every registered proxy now; wake those whose version changed.

        Returns the ids of the proxies woken.
        """
        world, proxies, current = self._inputs()
        return self._publish(*plan_push(world, proxies, current, self._translate))

    async def recompute_async(self) -> tuple[str, ...]:
        """Like ``recompute``; a large mesh is translated in a worker thread.

        The event loop keeps serving (keep-alives, ACKs, API reads) meanwhile; the results
        are published on the loop. Returns the ids of the proxies woken.
        """
        async with self._lock:  # one at a time: an older result must not overwrite a newer one
            world, proxies, current = self._inputs()
            if len(proxies) < THREAD_ABOVE:
                return self._publish(*plan_push(world, proxies, current, self._translate))
            planned = await asyncio.to_thread(plan_push, world, proxies, current, self._translate)
            return self._publish(*planned)

    async def flush(self) -> None:
        """Recompute now if something changed, so desired versions (and proxy-status) reflect
        it when this returns; the API calls it before answering an apply or delete."""
        if self._dirty.is_set():
            self._dirty.clear()
            await self.recompute_async()

    def _inputs(self) -> tuple[Any, list[tuple[str, ProxyNode]], dict[str, str]]:
        self.recomputations += 1
        records = self.registry.records()
        live = {r.id for r in records}
        for gone in set(self.desired) - live:
            del self.desired[gone]
        current = {pid: snap.version for pid, snap in self.desired.items()}
        return self._world(), [(r.id, r.node) for r in records], current

    def _publish(
        self, to_send: dict[str, Snapshot], failures: dict[str, TranslationFailed]
    ) -> tuple[str, ...]:
        for pid, failure in failures.items():
            log.error("translation failed for proxy %s: %s", pid, failure.error)
        woken = []
        for pid, snap in to_send.items():
            try:
                self.registry.set_desired(pid, snap.version)
            except UnknownProxy:
                continue  # expired while its snapshot was being computed
            self.desired[pid] = snap
            woken.append(pid)
            event = self._wake.get(pid)
            if event is not None:
                event.set()
        return tuple(woken)

    async def _recompute_loop(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.debounce)
            if not self._dirty.is_set():
                continue  # flushed meanwhile
            self._dirty.clear()
            await self.recompute_async()

    def _desired_for(self, proxy_id: str) -> Snapshot | None:
        snap = self.desired.get(proxy_id)
        if snap is None:
            record = self.registry.get(proxy_id)
            to_send, _ = plan_push(self._world(), [(proxy_id, record.node)], {}, self._translate)
            snap = to_send.get(proxy_id)
            if snap is not None:
                self.desired[proxy_id] = snap
                self.registry.set_desired(proxy_id, snap.version)
        return snap

    def open_stream(
        self, proxy_id: str, since: str
    ) -> tuple[Callable[[ChunkWriter], Any], Callable[[], None]]:
        """Return ``(produce, on_close)`` for ``proxy_id``'s watch stream; raises UnknownProxy.

        ``since`` is the version the proxy already runs (after a reconnect): when it is
        still the desired one nothing is resent and it counts as acknowledged.
        """
        self.registry.set_connected(proxy_id, True)
        event = asyncio.Event()
        self._wake[proxy_id] = event  # a newer stream of the same proxy replaces an old one

        async def produce(out: ChunkWriter) -> None:
            try:
                await self._feed(proxy_id, since, event, out)
            except UnknownProxy:
                return  # re-registered under a new id, or expired: this stream is over

        def on_close() -> None:
            if self._wake.get(proxy_id) is event:
                del self._wake[proxy_id]
                with contextlib.suppress(UnknownProxy):
                    self.registry.set_connected(proxy_id, False)

        return produce, on_close

    async def _feed(
        self, proxy_id: str, since: str, event: asyncio.Event, out: ChunkWriter
    ) -> None:
        last = since
        confirmed = False
        while True:
            ready = self.warm.is_set() or not since
            desired = self._desired_for(proxy_id) if ready else None
            if not confirmed and desired is not None and desired.version == since:
                self.registry.sent(proxy_id, since)  # it already runs what it should
                self.registry.ack(proxy_id, since, ok=True)
            confirmed = confirmed or ready
            if desired is not None and desired.version != last:
                await out.send(encode(desired) + b"\n")
                self.registry.sent(proxy_id, desired.version)
                last = desired.version
            try:
                await asyncio.wait_for(event.wait(), self.keepalive)
                event.clear()
            except TimeoutError:
                await out.send(b"\n")
                self.registry.heartbeat(proxy_id)
