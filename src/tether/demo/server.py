"""Runs a demo service: binds 127.0.0.1:$PORT, serves until SIGTERM/SIGINT, then drains.

Each service module's ``main()`` calls :func:`run` with a factory; the factory reads the
environment and may raise a :class:`TetherError` whose one-line message is printed (exit 1).
Environment common to all services: ``PORT`` (default 0: a free port, printed on stdout as
``listening on 127.0.0.1:<port>``) and ``ACCESS_LOG=false`` to silence the per-request
log lines on stderr.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import ThreadingHTTPServer
from types import FrameType
from typing import Any, Protocol, TextIO

from tether.core.errors import TetherError
from tether.demo.web import Request, Response, make_handler

DRAIN_SECONDS = 5.0
"""How long a stopping service waits for requests in flight (DESIGN.md §7)."""


class DemoService(Protocol):
    """What :func:`run` needs from a service."""

    name: str

    def handle(self, request: Request) -> Response: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


class DemoHTTPServer(ThreadingHTTPServer):
    """A threading server that counts requests in flight so shutdown can drain them."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        super().__init__(address, handler)
        self._in_flight = 0
        self._idle = threading.Condition()

    def request_started(self) -> None:
        """Count one more request in flight."""
        with self._idle:
            self._in_flight += 1

    def request_ended(self) -> None:
        """Count one request done; wake a waiting drain when none are left."""
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def drain(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for requests in flight; return True if none are left."""
        deadline = time.monotonic() + seconds
        with self._idle:
            while self._in_flight > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """Return env ``name`` as a non-negative number; raises TetherError when it is not one."""
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TetherError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise TetherError(f"{name}={raw!r} must not be negative")
    return value


def env_port(env: Mapping[str, str]) -> int:
    """Return env ``PORT`` (default 0, a free port); raises TetherError when it is not a port."""
    raw = env.get("PORT", "").strip() or "0"
    if not raw.isdigit() or int(raw) > 65535:
        raise TetherError(f"PORT={raw!r} is not a port number (0-65535; 0 picks a free one)")
    return int(raw)


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """Return True when env ``name`` is ``true``/``1``/``yes``/``on`` (any case)."""
    return env.get(name, "").strip().lower() in ("true", "1", "yes", "on")


def bind(service: DemoService, port: int, log_requests: bool = True) -> DemoHTTPServer:
    """Return a server for ``service`` bound to 127.0.0.1:``port`` (0 picks a free port).

    Raises OSError when the port cannot be bound.
    """
    handler = make_handler(service.handle, f"tether-demo-{service.name}", log_requests)
    return DemoHTTPServer(("127.0.0.1", port), handler)


def run(
    factory: Callable[[Mapping[str, str]], DemoService],
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Build the service from ``env`` and serve it until a stop signal; return the exit status.

    Prints ``listening on 127.0.0.1:<port>`` (flushed) once it accepts connections. Stops on
    SIGTERM/SIGINT (when called on the main thread) or when ``stop`` is set.
    Returns 1 with a one-line message on stderr for bad settings or a port in use.
    """
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    try:
        port = env_port(env)
        service = factory(env)
    except TetherError as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    try:
        server = bind(service, port, log_requests=env.get("ACCESS_LOG", "").strip().lower() != "false")
    except OSError as exc:
        service.close()
        print(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event() if stop is None else stop

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"{service.name}-http")
    try:
        serving.start()
        service.start()
        print(f"listening on 127.0.0.1:{server.server_address[1]}", file=out, flush=True)
        stop.wait()
    finally:
        server.shutdown()
        server.drain(DRAIN_SECONDS)
        server.server_close()
        service.close()
        serving.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
