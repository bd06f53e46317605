"""Traffic mirroring (VirtualService ``mirror`` + ``mirrorPercentage``, ``mirrors[]``).

For each mirror policy of the route, drawn with its percentage, a copy of the request goes
to the mirror's cluster with ``-shadow`` appended to its host (``order:80`` becomes
``order-shadow:80``). The copy is fire-and-forget: it runs in a task of this filter, its
response is read and thrown away, and its failure or slowness never touches the real
request. At most ``max_inflight`` copies run at once; beyond that a copy is dropped. A
request body is copied only when it is already complete and at most 64 KiB; otherwise no
copy is sent, and the skip is counted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from tether.core.schema.snapshot import MirrorPolicy
from tether.core.tasks import TaskGroup
from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.body import Body
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.fault import chosen
from tether.proxy.routing import RouteEntry, RoutingTable
from tether.proxy.upstream.cluster import ClusterRuntime

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
DEFAULT_TIMEOUT_S = 15.0


class MirrorStats:
    """Counters of one filter (each counts shadow copies, not requests)."""

    def __init__(self) -> None:
        self.sent = 0
        self.succeeded = 0
        self.failed = 0
        self.dropped_busy = 0
        self.skipped_body = 0
        self.unknown_cluster = 0


def shadow_authority(authority: bytes) -> bytes:
    """Return ``authority`` with ``-shadow`` appended to its host, keeping any port."""
    host, sep, port = authority.rpartition(b":")
    if sep and port.isdigit():
        return host + b"-shadow:" + port
    return authority + b"-shadow"


def buffered_copy(ex: Exchange) -> bytes | None:
    """Return the whole request body if it is complete and at most MAX_BODY bytes, else None.

    The bytes are taken from ``ex.body`` and ``ex.body`` is replaced by an equal complete
    body with the same framing, so the real request still sends them.
    """
    body = ex.body
    if not body.fully_buffered or body.received > MAX_BODY:
        return None
    if body.received == 0:
        return b""
    data = body.take_all()
    again = Body(body.length, body.chunked)
    if data:
        again.feed(data)
    again.finish(body.trailers)
    ex.body = again
    return data


def shadow_exchange(ex: Exchange, cluster: ClusterRuntime, data: bytes) -> Exchange:
    """Return a copy of ``ex`` addressed to ``cluster``'s shadow host, body ``data``."""
    authority = shadow_authority(ex.authority)
    headers = Headers(list(ex.headers.items))
    framed = ex.body.chunked or b"content-length" in headers or b"transfer-encoding" in headers
    headers.put(b"host", authority)
    headers.remove(b"transfer-encoding")
    headers.remove(b"content-length")
    if data or framed:
        headers.add(b"content-length", str(len(data)).encode())
    copy = Exchange(
        ex.method, ex.path, headers, Body.complete(data), ex.http_version, ex.client_address,
        ex.start_mono, ex.start_wall, ex.direction,
    )
    copy.authority = authority
    copy.scheme = ex.scheme
    copy.route = ex.route
    copy.cluster = cluster
    copy.request_id = ex.request_id
    copy.trace_id = ex.trace_id
    return copy


class Mirror(Filter):
    """Sends shadow copies of the route's requests through ``send`` (the upstream path)."""

    name = "mirror"

    def applies(self, route: RouteEntry) -> bool:
        return bool(route.spec.mirrors)

    def __init__(
        self,
        table: Callable[[], RoutingTable | None],
        rng: random.Random,
        send: Handler,
        tasks: TaskGroup | None = None,
        max_inflight: int = 64,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.table = table
        self.rng = rng
        self.send = send
        self.tasks = tasks if tasks is not None else TaskGroup("mirror")
        self.max_inflight = max_inflight
        self.timeout_s = timeout_s
        self.inflight = 0
        self.stats = MirrorStats()

    def targets(self, mirrors: tuple[MirrorPolicy, ...]) -> list[ClusterRuntime]:
        """Return the clusters that get a copy of this request (each drawn by its percentage)."""
        table = self.table()
        out: list[ClusterRuntime] = []
        for policy in mirrors:
            if not chosen(policy.percent, self.rng):
                continue
            cluster = table.clusters.get(policy.cluster) if table is not None else None
            if cluster is None:
                self.stats.unknown_cluster += 1
                continue
            out.append(cluster)
        return out

    def on_request(self, ex: Exchange) -> None:
        """Start the shadow copies of ``ex`` (never raises, never waits)."""
        route = ex.route
        if route is None or not route.spec.mirrors:
            return
        clusters = self.targets(route.spec.mirrors)
        if not clusters:
            return
        data = buffered_copy(ex)
        if data is None:
            self.stats.skipped_body += len(clusters)
            if ex.extra is None:
                ex.extra = {}
            ex.extra["mirror_skipped"] = "request body not complete or over 64 KiB"
            return
        timeout = route.spec.timeout_ms / 1000.0 if route.spec.timeout_ms else self.timeout_s
        for cluster in clusters:
            if self.inflight >= self.max_inflight:
                self.stats.dropped_busy += 1
                continue
            self.inflight += 1
            self.stats.sent += 1
            copy = shadow_exchange(ex, cluster, data)
            self.tasks.spawn(f"shadow:{cluster.name}", self._shadow(copy, deadline_s=timeout))

    async def _shadow(self, copy: Exchange, deadline_s: float) -> None:
        try:
            async with asyncio.timeout(deadline_s):
                response = await self.send(copy)
                await _discard(response)
            self.stats.succeeded += 1
        except Exception as exc:  # whatever befalls a copy stays with the copy
            self.stats.failed += 1
            log.debug("shadow request to %s failed: %s", copy.authority.decode("latin-1"), exc)
        finally:
            self.inflight -= 1


async def _discard(response: Response) -> None:
    """Read ``response``'s body to its end and drop it, so its connection can be reused."""
    body = response.body
    if not isinstance(body, Body):
        return
    upstream = response.upstream
    try:
        while await body.read():
            pass
    except BaseException:
        if upstream is not None:
            upstream.close()  # cut off mid-body: the connection cannot carry another exchange
        raise
