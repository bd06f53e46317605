"""A listening socket, its connections, their timeouts, and graceful drain."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from tether.core.clock import Clock
from tether.core.tasks import TaskGroup
from tether.proxy.codec.server import Handler, ServerConnection
from tether.proxy.exchange import Exchange

log = logging.getLogger(__name__)

Completion = Callable[[Exchange], None]


class ListenerSettings:
    """Timeouts of DESIGN §7, in seconds; tests shorten them."""

    def __init__(
        self,
        header_timeout: float = 10.0,
        idle_timeout: float = 3600.0,
        stream_idle_timeout: float = 300.0,
    ) -> None:
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.stream_idle_timeout = stream_idle_timeout


class Listener:
    """Serves one port with one handler; ``completion`` hooks see every finished exchange."""

    def __init__(
        self,
        name: str,
        direction: str,
        handler: Handler,
        clock: Clock,
        settings: ListenerSettings,
        completion: Completion | None = None,
        on_reject: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self.direction = direction
        self.handler = handler
        self.clock = clock
        self.header_timeout = settings.header_timeout
        self.idle_timeout = settings.idle_timeout
        self.stream_idle_timeout = settings.stream_idle_timeout
        self._completion = completion
        self._on_reject = on_reject
        self.connections: set[ServerConnection] = set()
        self.tasks = TaskGroup(f"listener:{name}")
        self.draining = False
        self.server: asyncio.Server | None = None
        self.port = 0
        # Replaces ServerConnection as the accepting protocol (the inbound mTLS gate); set before start().
        self.protocol_factory: Callable[[], asyncio.BaseProtocol] | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 = any free port); return the bound port."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
        self.server = await loop.create_server(
            self.protocol_factory or (lambda: ServerConnection(self)), sock=sock, backlog=1024
        )
        self.port = sock.getsockname()[1]
        interval = min(1.0, self.header_timeout / 4)
        self.tasks.spawn("sweep", self._sweep(interval))
        return self.port

    def complete(self, ex: Exchange) -> None:
        """Report a finished exchange to the completion hooks; a failing hook is logged."""
        ex.end_mono = self.clock.monotonic()
        if self._completion is not None:
            try:
                self._completion(ex)
            except Exception:
                log.exception("completion hook failed on %s", self.name)

    def rejected(self, status: int) -> None:
        """Count a request refused before it reached the chain (400, 408, 431...)."""
        if self._on_reject is not None:
            self._on_reject(status)

    async def _sweep(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            now = self.clock.monotonic()
            for conn in list(self.connections):
                conn.sweep(now)

    def stop_accepting(self) -> None:
        """Close the listening socket; established connections go on."""
        if self.server is not None:
            self.server.close()
        self.draining = True
        for conn in list(self.connections):
            if conn.in_flight is None and not conn.queue and conn.parsing is None:
                conn.sweep(self.clock.monotonic())

    @property
    def busy(self) -> bool:
        """Return whether any connection still has a request in flight."""
        return any(c.in_flight is not None or c.queue for c in self.connections)

    async def close(self) -> None:
        """Close every connection and stop background tasks."""
        self.stop_accepting()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        await self.tasks.close()
        if self.server is not None:
            await self.server.wait_closed()
