"""A running proxy: its listeners, its current routing table, and its lifecycle.

``apply_snapshot`` compiles a snapshot and swaps the table in one assignment, so a
request sees either the old table or the new one, never a mix; a snapshot that
does not compile is refused and the last good one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

from tether.core.clock import Clock
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Cluster, Endpoint, Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.admin import Admin
from tether.proxy.chain import Filter
from tether.proxy.filters.access_log import AccessLogSink
from tether.proxy.filters.metrics import RequestSeries
from tether.proxy.inbound import build_inbound
from tether.proxy.listener import Listener, ListenerSettings
from tether.proxy.outbound import build_outbound
from tether.proxy.routing import RoutingTable, compile_table
from tether.proxy.stack import StackContext
from tether.proxy.telemetry.sink import TelemetrySink
from tether.proxy.tls.inbound import InboundGate
from tether.proxy.tls.mesh import MeshTls
from tether.proxy.upstream.cluster import ClusterRuntime, build_cluster
from tether.proxy.upstream.pool import PoolManager

log = logging.getLogger(__name__)


@dataclass
class ProxySettings:
    """Where the proxy listens and how it behaves (the ``tether proxy`` flags)."""

    bind: str = "127.0.0.1"
    outbound_port: int = 15001
    inbound_port: int = 15006
    admin_port: int = 15000
    app_port: int | None = None
    access_log: str | None = None
    drain_timeout: float = 5.0
    trace_sample_rate: float = 0.01
    listener: ListenerSettings = field(default_factory=ListenerSettings)


class ProxyRuntime:
    """Owns listeners, pools, the routing table and the background tasks of one proxy."""

    def __init__(self, node: ProxyNode, settings: ProxySettings, clock: Clock, rng: random.Random) -> None:
        self.node = node
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.tasks = TaskGroup("proxy")
        self.pools = PoolManager(self.tasks)
        self.tls = MeshTls(settings.app_port)  # credentials come from tls/identity.py (with a join token)
        self.table: RoutingTable | None = None
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.acks = 0
        self.nacks = 0
        self.rejected: dict[int, int] = {}
        self.draining = False
        self.stopped = asyncio.Event()
        self.request_series = RequestSeries()
        self.telemetry = TelemetrySink()
        self.access_log = AccessLogSink(settings.access_log)
        self.local_app = self._local_app_cluster(settings.app_port)
        ctx = StackContext(
            node=node,
            table=lambda: self.table,
            local_app=lambda: self.local_app,
            rng=rng,
            access_log=self.access_log,
            request_series=self.request_series,
            trace_sample_rate=settings.trace_sample_rate,
            telemetry=self.telemetry,
            clock=clock,
            tasks=self.tasks,
        )
        out_filters, out_handler, out_complete = build_outbound(ctx)
        in_filters, in_handler, in_complete = build_inbound(ctx)
        self.filters: list[Filter] = [*out_filters, *in_filters]
        self.stacks: dict[str, list[Filter]] = {"outbound": out_filters, "inbound": in_filters}
        ls = settings.listener
        self.outbound = Listener("outbound", "outbound", out_handler, clock, ls, out_complete, self._count_reject)
        self.inbound = Listener("inbound", "inbound", in_handler, clock, ls, in_complete, self._count_reject)
        self.inbound.protocol_factory = lambda: InboundGate(self.inbound, self.tls.inbound)
        self.admin = Listener("admin", "admin", Admin(self).handle, clock, ls)

    def _local_app_cluster(self, app_port: int | None) -> ClusterRuntime | None:
        if app_port is None:
            return None
        spec = Cluster(
            name=f"inbound|{app_port}||",
            service=f"{self.node.app}.{self.node.namespace}.svc.cluster.local",
            port=app_port,
            endpoints=(
                Endpoint(address="127.0.0.1", port=app_port, workload=self.node.name, namespace=self.node.namespace),
            ),
        )
        return build_cluster(spec, self.pools.pool, self.clock, self.rng)

    def _count_reject(self, status: int) -> None:
        self.rejected[status] = self.rejected.get(status, 0) + 1

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Compile and swap in ``snapshot``; raises ConfigRejected and keeps the old one."""
        self.tls.apply(snapshot)
        pools, secure = self.pools.pool, self.tls.upstream
        try:
            table = compile_table(
                snapshot,
                lambda a, p: pools(a, p, secure(a, p)),
                gateway=self.node.kind == "gateway",
                clock=self.clock,
                rng=self.rng,
            )
            for flt in self.filters:
                flt.check_snapshot(snapshot)
        except ConfigRejected as exc:
            if self.snapshot is not None:
                self.tls.apply(self.snapshot)  # back to the TLS settings of the snapshot still running
            self.nacks += 1
            self.last_error = exc.reason
            log.warning("snapshot %s refused: %s", snapshot.version, exc.reason)
            raise
        self.table = table
        self.snapshot = snapshot
        self.last_error = None
        self.acks += 1
        for flt in self.filters:
            flt.on_snapshot()
        log.info("snapshot %s applied", snapshot.version)

    async def start(self) -> dict[str, int]:
        """Open the listeners; return the bound ports by name."""
        s = self.settings
        ports = {
            "outbound": await self.outbound.start(s.bind, s.outbound_port),
            "inbound": await self.inbound.start(s.bind, s.inbound_port),
            "admin": await self.admin.start(s.bind, s.admin_port),
        }
        self.tasks.spawn("flush-access-log", self._flush_loop())
        return ports

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.access_log.flush()

    def request_stop(self) -> None:
        """Ask the process to drain and stop (SIGTERM, POST /quitquitquit)."""
        self.stopped.set()

    async def drain(self) -> None:
        """Stop accepting, let in-flight requests finish (up to the drain timeout), then close."""
        self.draining = True
        for listener in (self.outbound, self.inbound):
            listener.stop_accepting()
        deadline = self.clock.monotonic() + self.settings.drain_timeout
        # Polling two listeners' state, bounded by the deadline; simpler than wiring events.
        while (self.outbound.busy or self.inbound.busy) and self.clock.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await self.close()

    async def close(self) -> None:
        """Close listeners, pools and tasks; flush the access log."""
        for listener in (self.outbound, self.inbound, self.admin):
            await listener.close()
        self.pools.close()
        await self.tasks.close()
        self.access_log.close()
