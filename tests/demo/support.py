"""Helpers for the demo tests: a fake clock and real service processes on 127.0.0.1:0."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.demo.server import DemoHTTPServer
from tether.demo.web import App, make_handler

START_TIMEOUT = 15.0
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, wall: float = 1_700_000_000.25) -> None:
        self.now = wall

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Service:
    """A demo service running as a child process."""

    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        """Send SIGTERM, wait, kill if it hangs; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def start(name: str, tmp_path: Path, **env: str) -> Service:
    """Start ``python -m tether.demo.<name>`` on port 0 and return once it listens.

    Proxy variables are removed so calls go straight to 127.0.0.1.
    """
    environment = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
    environment.update(PORT="0", DB_PATH=str(tmp_path / f"{name}.db"), **env)
    with open(tmp_path / f"{name}.stderr", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", f"tether.demo.{name}"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=environment,
        )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(START_TIMEOUT)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("listening on 127.0.0.1:"):
        process.kill()
        process.wait()
        process.stdout.close()
        log = (tmp_path / f"{name}.stderr").read_text()
        raise AssertionError(f"{name} did not start: stdout={line!r} stderr={log!r}")
    return Service(name, process, int(line.rsplit(":", 1)[1]))


def no_proxy_opener() -> urllib.request.OpenerDirector:
    """Return an opener that ignores proxy settings of the test environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    """Make one request (no proxy, no redirects followed) and return the answer of any status."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, dict(exc.headers.items()), exc.read())


def wait_until(condition: Any, seconds: float = 10.0) -> bool:
    """Poll ``condition()`` until true or ``seconds`` pass; return its last value."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def order_form(**overrides: str) -> dict[str, str]:
    """Return the fields of a valid order form (Hermes, 42 iPods and 2 iPads)."""
    fields = {
        "name": "Wolff",
        "firstname": "Eberhard",
        "email": "eberhard.wolff@example.org",
        "deliveryService": "Hermes",
        "shipping_street": "Krischerstr. 100",
        "shipping_zip": "40789",
        "shipping_city": "Monheim am Rhein",
        "lines": "3",
        "item0": "1",
        "count0": "42",
        "item1": "5",
        "count1": "2",
        "item2": "1",
        "count2": "",
    }
    fields.update(overrides)
    return fields


@contextmanager
def serving(app: App) -> Iterator[str]:
    """Serve ``app`` in this process on 127.0.0.1:0; yield its base URL."""
    server = DemoHTTPServer(("127.0.0.1", 0), make_handler(app, "test-server"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
