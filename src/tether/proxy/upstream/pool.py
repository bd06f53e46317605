"""Keep-alive connection pools, one per upstream endpoint, shared across snapshots, and the
per-cluster connection limit of DestinationRule ``connectionPool``.

A cluster with ``max_connections`` owns a ``ConnectionLimiter``: a request holds one of its
slots from the moment it gets a connection until that connection is back in the pool (or
closed); requests beyond the limit wait in a FIFO bounded by ``http1_max_pending_requests``,
and one more is refused at once with 503 ``UO``. Idle pooled connections count against no
limit (a simplification of Envoy, which counts them too). ``max_requests_per_connection``
retires a connection after that many requests; pools with an ``idle_timeout`` close
connections idle longer than it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from typing import Any, Protocol

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.tasks import TaskGroup
from tether.proxy.codec.client import ClientConnection
from tether.proxy.errors import ProxyError, UpstreamConnectFailure
from tether.proxy.upstream.outlier import HostHealth

IDLE_LIMIT = 64
DEFAULT_IDLE_TIMEOUT = 3600.0  # Envoy's upstream idle timeout when Istio sets none


class Overflow(ProxyError):
    """A circuit-breaker limit of the cluster is reached: refused at once."""

    status, flag = 503, "UO"
    detail = "upstream connect error or disconnect/reset before headers. reset reason: overflow"


class ConnectionLimiter:
    """At most ``max_connections`` requests hold a connection; at most ``max_pending`` wait."""

    def __init__(self, max_connections: int, max_pending: int | None) -> None:
        self.max_connections = max_connections
        self.max_pending = max_pending
        self.busy = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    @property
    def pending(self) -> int:
        """Return how many requests wait for a slot."""
        return len(self.waiters)

    async def acquire(self) -> None:
        """Take a slot, waiting in line if allowed; raises Overflow when the line is full."""
        if self.busy < self.max_connections:
            self.busy += 1
            return
        if self.max_pending is not None and len(self.waiters) >= self.max_pending:
            raise Overflow()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter  # release() hands its slot over by resolving the future
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot arrived together with the cancellation
            else:
                self.waiters.remove(waiter)
            raise

    def take(self) -> None:
        """Take a slot whatever the limit (a replacement connection for one just lost)."""
        self.busy += 1

    def release(self) -> None:
        """Give a slot back, to the first waiter if any."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1

    def resize(self, max_connections: int, max_pending: int | None) -> None:
        """Apply new limits (a new snapshot); waiters that now fit are let through."""
        self.max_connections, self.max_pending = max_connections, max_pending
        while self.waiters and self.busy < max_connections:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.busy += 1
                waiter.set_result(None)


class ClusterLoad:
    """What one cluster has in flight, shared by the runtimes of successive snapshots so a
    config push neither forgets nor double-counts requests under way."""

    __slots__ = ("active_requests", "active_retries", "limiter")

    def __init__(self) -> None:
        self.active_requests = 0  # attempts in flight, counted by the circuit breaker
        self.active_retries = 0
        self.limiter: ConnectionLimiter | None = None


class UpstreamTls(Protocol):
    """How to secure connections to one endpoint (proxy/tls/outbound.py); ``key`` tells pools apart."""

    key: str

    def context(self, pool: EndpointPool) -> ssl.SSLContext:
        """Return the client context to connect with; raises UpstreamConnectFailure without one."""

    def failed(self, pool: EndpointPool, exc: BaseException) -> None:
        """Log why a TLS connection could not be opened."""

    def verify(self, pool: EndpointPool, conn: ClientConnection) -> None:
        """Check the server's identity; raises UpstreamConnectFailure (closing ``conn``) on a mismatch."""


class Terms:
    """What a limited cluster asks of one connection it uses."""

    __slots__ = ("limiter", "max_requests")

    def __init__(self, limiter: ConnectionLimiter | None, max_requests: int | None) -> None:
        self.limiter = limiter
        self.max_requests = max_requests


class EndpointPool:
    """Idle connections to one ``address:port``; opens new ones on demand."""

    def __init__(
        self,
        address: str,
        port: int,
        tasks: TaskGroup,
        connect_timeout: float,
        clock: Clock = SYSTEM_CLOCK,
        manager: PoolManager | None = None,
        tls: UpstreamTls | None = None,
    ) -> None:
        self.tls = tls
        self.address = address
        self.port = port
        self.tasks = tasks
        self.connect_timeout = connect_timeout
        self.clock = clock
        self.manager = manager
        self.idle: list[ClientConnection] = []
        self.idle_since: list[float] = []
        self.busy: set[ClientConnection] = set()
        self.terms: dict[ClientConnection, Terms] = {}
        self.opened = 0
        self.idle_timeout = DEFAULT_IDLE_TIMEOUT
        self.health: dict[str, HostHealth] = {}  # outlier state of this endpoint, by cluster name

    def host_health(self, cluster: str) -> HostHealth:
        """Return the outlier record of this endpoint in ``cluster`` (kept across snapshots)."""
        health = self.health.get(cluster)
        if health is None:
            health = self.health[cluster] = HostHealth()
        return health

    async def acquire(self, connect_timeout: float | None = None) -> tuple[ClientConnection, bool]:
        """Return a connection and whether it was reused; raises UpstreamConnectFailure."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            self.idle_since.pop()
            if not conn.closed:
                self.busy.add(conn)
                return conn, True
        return await self.connect(connect_timeout), False

    async def connect(self, limit: float | None = None) -> ClientConnection:
        """Open a new connection; raises UpstreamConnectFailure on refusal or timeout."""
        loop = asyncio.get_running_loop()
        tls = self.tls
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: ClientConnection(self), self.address, self.port,
                                       ssl=tls.context(self) if tls is not None else None),
                limit if limit is not None else self.connect_timeout,
            )
        except (TimeoutError, OSError) as exc:
            if tls is not None:
                tls.failed(self, exc)
            raise UpstreamConnectFailure() from exc
        if tls is not None:
            tls.verify(self, conn)
        transport = conn.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1
        self.busy.add(conn)
        return conn

    def bind(self, conn: ClientConnection, terms: Terms) -> None:
        """Apply a limited cluster's ``terms`` to ``conn`` until it is back in the pool."""
        self.terms[conn] = terms

    def _unbind(self, conn: ClientConnection) -> Terms | None:
        terms = self.terms.pop(conn, None) if self.terms else None
        if terms is not None and terms.limiter is not None:
            terms.limiter.release()
        return terms

    def finished(self, conn: ClientConnection, reusable: bool) -> None:
        """Take ``conn`` back after a complete response; close it if it cannot be reused."""
        self.busy.discard(conn)
        terms = self._unbind(conn)
        if terms is not None and terms.max_requests is not None and conn.requests >= terms.max_requests:
            reusable = False
        if reusable and not conn.closed and len(self.idle) < IDLE_LIMIT:
            self.idle.append(conn)
            self.idle_since.append(self.clock.monotonic())
            if self.manager is not None:
                self.manager.watch_idle()
        else:
            conn.close()

    def forget(self, conn: ClientConnection) -> None:
        """Drop a closed connection from the pool."""
        self.busy.discard(conn)
        self._unbind(conn)
        if conn in self.idle:
            index = self.idle.index(conn)
            del self.idle[index]
            del self.idle_since[index]

    def close_idle(self, now: float) -> None:
        """Close connections idle for longer than ``idle_timeout`` (the oldest are first)."""
        cutoff = now - self.idle_timeout
        while self.idle_since and self.idle_since[0] <= cutoff:
            conn = self.idle.pop(0)
            self.idle_since.pop(0)
            conn.close()

    def close(self) -> None:
        """Close every connection of this pool."""
        for conn in [*self.idle, *self.busy]:
            conn.close()
        self.idle.clear()
        self.idle_since.clear()


class PoolManager:
    """All endpoint pools of a proxy, keyed by ``(address, port)``; sweeps idle connections."""

    def __init__(self, tasks: TaskGroup, connect_timeout: float = 10.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self.tasks = tasks
        self.connect_timeout = connect_timeout
        self.clock = clock
        self.pools: dict[tuple[Any, ...], EndpointPool] = {}
        self.loads: dict[str, ClusterLoad] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def load(self, cluster: str) -> ClusterLoad:
        """Return the in-flight counters of ``cluster`` (by name), kept across snapshots."""
        load = self.loads.get(cluster)
        if load is None:
            load = self.loads[cluster] = ClusterLoad()
        return load

    def pool(self, address: str, port: int, tls: UpstreamTls | None = None) -> EndpointPool:
        """Return the pool for ``address:port`` (plaintext, or TLS as ``tls`` says: pooled apart),
        creating it on first use."""
        key: tuple[Any, ...] = (address, port) if tls is None else (address, port, tls.key)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = EndpointPool(address, port, self.tasks, self.connect_timeout, self.clock, self,
                                                  tls)
        return pool

    def watch_idle(self) -> None:
        """Make sure the idle sweep runs (started by the first connection to go idle)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = self.tasks.spawn("idle-sweep", self._sweep())

    def sweep_interval(self) -> float:
        """Return how often to sweep: a quarter of the shortest idle timeout, within [50 ms, 30 s]."""
        shortest = min((p.idle_timeout for p in self.pools.values()), default=DEFAULT_IDLE_TIMEOUT)
        return min(30.0, max(0.05, shortest / 4))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval())
            now = self.clock.monotonic()
            for pool in self.pools.values():
                if pool.idle:
                    pool.close_idle(now)

    def close(self) -> None:
        """Close every pooled connection."""
        for pool in self.pools.values():
            pool.close()
