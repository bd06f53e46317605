"""Keep-alive connection pools, one per upstream endpoint, shared across snapshots."""

from __future__ import annotations

import asyncio
import socket

from tether.core.tasks import TaskGroup
from tether.proxy.codec.client import ClientConnection
from tether.proxy.errors import UpstreamConnectFailure

IDLE_LIMIT = 64


class EndpointPool:
    """Idle connections to one ``address:port``; opens new ones on demand."""

    def __init__(self, address: str, port: int, tasks: TaskGroup, connect_timeout: float) -> None:
        self.address = address
        self.port = port
        self.tasks = tasks
        self.connect_timeout = connect_timeout
        self.idle: list[ClientConnection] = []
        self.busy: set[ClientConnection] = set()
        self.opened = 0

    async def acquire(self) -> tuple[ClientConnection, bool]:
        """Return a connection and whether it was reused; raises UpstreamConnectFailure."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                self.busy.add(conn)
                return conn, True
        return await self.connect(), False

    async def connect(self) -> ClientConnection:
        """Open a new connection; raises UpstreamConnectFailure on refusal or timeout."""
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: ClientConnection(self), self.address, self.port),
                self.connect_timeout,
            )
        except (TimeoutError, OSError) as exc:
            raise UpstreamConnectFailure() from exc
        transport = conn.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1
        self.busy.add(conn)
        return conn

    def finished(self, conn: ClientConnection, reusable: bool) -> None:
        """Take ``conn`` back after a complete response; close it if it cannot be reused."""
        self.busy.discard(conn)
        if reusable and not conn.closed and len(self.idle) < IDLE_LIMIT:
            self.idle.append(conn)
        else:
            conn.close()

    def forget(self, conn: ClientConnection) -> None:
        """Drop a closed connection from the pool."""
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)

    def close(self) -> None:
        """Close every connection of this pool."""
        for conn in [*self.idle, *self.busy]:
            conn.close()
        self.idle.clear()


class PoolManager:
    """All endpoint pools of a proxy, keyed by ``(address, port)``."""

    def __init__(self, tasks: TaskGroup, connect_timeout: float = 10.0) -> None:
        self.tasks = tasks
        self.connect_timeout = connect_timeout
        self.pools: dict[tuple[str, int], EndpointPool] = {}

    def pool(self, address: str, port: int) -> EndpointPool:
        """Return the pool for ``address:port``, creating it on first use."""
        key = (address, port)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = EndpointPool(address, port, self.tasks, self.connect_timeout)
        return pool

    def close(self) -> None:
        """Close every pooled connection."""
        for pool in self.pools.values():
            pool.close()
