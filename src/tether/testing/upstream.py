"""A scriptable HTTP/1.1 upstream for tests and benchmarks, independent of the proxy's code.

Built directly on asyncio + httptools so a bug in Tether's codec cannot hide in it. Run it
in-process (``with ScriptableUpstream() as up: ... up.port``), where it owns an event loop in
a background thread, or as a process: ``python -m tether.testing.upstream --port 0
[--ports-file F]`` prints ``listening on 127.0.0.1:<port>`` and writes ``{"port", "pid"}``.

Default answer: 200 with a JSON echo of the request. Paths with built-in behaviour:
``/status/<code>``, ``/delay/<ms>``, ``/bytes/<n>``, ``/chunked/<n>`` (trailer ``x-trailer:
done``), ``/reset``, ``/headers/<n>``, ``/fast``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import threading
from types import TracebackType

import uvloop

from tether.testing._upstream_conn import Connection, ServerHooks
from tether.testing._upstream_responses import pattern_bytes
from tether.testing._upstream_types import Plan, ReceivedRequest

__all__ = ["ReceivedRequest", "ScriptableUpstream", "main", "pattern_bytes"]


class _Script:
    """Scripted misbehaviour; every field is guarded by the owner's lock."""

    def __init__(self) -> None:
        self.fail_count = 0
        self.fail_status = 503
        self.ratio = 0.0
        self.ratio_status = 500
        self.rng = random.Random(1)
        self.delay = 0.0
        self.reset_count = 0


class ScriptableUpstream(ServerHooks):
    """An HTTP/1.1 server on 127.0.0.1 whose behaviour a test scripts while it runs.

    All public methods are safe to call from any thread.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", record: bool = True) -> None:
        self.host = host
        self._record = record  # off for long benchmark runs: only the counters grow
        self._want_port = port
        self.port = 0
        self._lock = threading.Lock()
        self._script = _Script()
        self._requests: list[ReceivedRequest] = []
        self._connections = 0
        self._count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ScriptableUpstream:
        """Start the server thread; return self once it listens. Raises OSError on bind failure."""
        self._thread = threading.Thread(target=self._run_thread, name="scriptable-upstream",
                                        daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Close the listener and every connection, then join the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def stop_soon(self) -> None:
        """Ask ``serve()`` to return; call it on the server's own loop (signal handlers)."""
        if self._stop is not None:
            self._stop.set()

    def __enter__(self) -> ScriptableUpstream:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run_thread(self) -> None:
        loop = uvloop.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._started.set()
        finally:
            loop.close()

    async def serve(self, on_listening: object = None) -> None:
        """Listen and serve until ``stop()``; return when every connection is closed."""
        self._stop = asyncio.Event()
        conns: set[Connection] = set()

        def factory() -> Connection:
            conn = Connection(self, self._next_connection_id(), conns.discard)
            conns.add(conn)
            return conn

        server = await asyncio.get_running_loop().create_server(
            factory, self.host, self._want_port, reuse_address=True)
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        if callable(on_listening):
            on_listening(self.port)
        try:
            await self._stop.wait()
        finally:
            server.close()
            for conn in list(conns):
                await conn.abort()
            await server.wait_closed()

    # -- scripting -------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` (and a short text body)."""
        with self._lock:
            self._script.fail_count, self._script.fail_status = n, status

    def fail_ratio(self, p: float, status: int = 500, seed: int = 1) -> None:
        """Answer each request with ``status`` with probability ``p`` (seeded, reproducible)."""
        with self._lock:
            self._script.ratio, self._script.ratio_status = p, status
            self._script.rng = random.Random(seed)

    def delay_all(self, seconds: float) -> None:
        """Wait ``seconds`` before answering every request (0 turns it off)."""
        with self._lock:
            self._script.delay = seconds

    def reset_next(self, n: int) -> None:
        """Close the connection without answering the next ``n`` requests."""
        with self._lock:
            self._script.reset_count = n

    def reset_script(self) -> None:
        """Forget every scripted behaviour (requests and counters are kept)."""
        with self._lock:
            self._script = _Script()

    def clear(self) -> None:
        """Forget the received requests and the connection count."""
        with self._lock:
            self._requests.clear()
            self._connections = self._count = 0

    # -- observation -----------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Return a copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """Return how many requests were received (counted even when not recorded)."""
        with self._lock:
            return self._count

    @property
    def connections(self) -> int:
        """Return how many TCP connections were accepted."""
        with self._lock:
            return self._connections

    # -- ServerHooks (called on the server's loop) -----------------------------------------

    def _next_connection_id(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def received(self, request: ReceivedRequest) -> Plan:
        """Record ``request`` and return how to answer it (script first, then the path)."""
        with self._lock:
            self._count += 1
            if self._record:
                self._requests.append(request)
            s = self._script
            if s.reset_count > 0:
                s.reset_count -= 1
                return Plan(delay=s.delay, reset=True)
            status = None
            if s.fail_count > 0:
                s.fail_count -= 1
                status = s.fail_status
            elif s.ratio > 0 and s.rng.random() < s.ratio:
                status = s.ratio_status
            return Plan(delay=s.delay, fail_status=status)


def main(argv: list[str] | None = None) -> int:
    """Run the upstream as a process until SIGTERM/SIGINT; return 0."""
    parser = argparse.ArgumentParser(prog="python -m tether.testing.upstream")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports-file", default=None)
    args = parser.parse_args(argv)
    upstream = ScriptableUpstream(port=args.port, host=args.host, record=False)

    def listening(port: int) -> None:
        if args.ports_file:
            tmp = f"{args.ports_file}.tmp"
            with open(tmp, "w") as fh:
                json.dump({"port": port, "pid": os.getpid()}, fh)
            os.replace(tmp, args.ports_file)
        print(f"listening on {args.host}:{port}", flush=True)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, upstream.stop_soon)
        await upstream.serve(on_listening=listening)

    uvloop.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
