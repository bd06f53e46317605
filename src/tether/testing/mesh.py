"""Control planes for tests, on 127.0.0.1 with ephemeral ports: ``Mesh``, a ``tether control``
process and sidecars started with ``--control`` (end-to-end tests), and ``ThreadPlane``, a
``ControlPlane`` in the test's process that blocking clients can call."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tether.client.http import ControlClient
from tether.client.types import ProxyView
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.testing.procs import RunningProcess, start_tether, wait_until
from tether.testing.rawhttp import http_request
from tether.testing.sidecar import Sidecar

HEARTBEAT = "0.5"
T = TypeVar("T")

class Mesh:
    """One control plane and the sidecars a test starts; ``close()`` stops all of them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.port = 0
        self.control: RunningProcess | None = None
        self.proxies: dict[str, RunningProcess] = {}
        self.others: list[RunningProcess] = []
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_control(self) -> None:
        """Start (or restart, on the same port and data) the control plane."""
        self.starts += 1
        args = ["control", "--port", str(self.port), "--data", str(self.data),
                "--heartbeat-interval", HEARTBEAT]
        self.control = start_tether(args, self.tmp, name=f"control-{self.starts}")
        self.port = self.control.port("port")

    def kill_control(self) -> None:
        assert self.control is not None
        self.control.kill()
        self.control.wait(10)

    def start_proxy(self, name: str, app_port: int, namespace: str = "default",
                    extra: Sequence[str] = ()) -> RunningProcess:
        """Start ``tether proxy --control`` (with ``extra`` flags) and wait (bounded) until it has a
        snapshot; return it. Raises AssertionError if it is not ready within 15 s."""
        args = ["proxy", "--name", name, "--namespace", namespace, "--control", self.url,
                "--app-port", str(app_port), "--outbound-port", "0", "--inbound-port", "0",
                "--admin-port", "0", "--access-log", str(self.tmp / f"{name}.access.log"), *extra]
        proc = start_tether(args, self.tmp, name=f"proxy-{name}")
        self.proxies[name] = proc
        assert wait_until(lambda: self.ready(name), 15), proc.describe()
        return proc

    def start_gateway(self) -> Sidecar:
        """Start ``tether gateway --control`` (proxy ``ingressgateway``) and wait (bounded) until it
        has a snapshot; return it (its port is ``.outbound``). Raises AssertionError if it is not
        ready within 15 s."""
        name = "ingressgateway"
        log = self.tmp / f"{name}.access.log"
        args = ["gateway", "--control", self.url, "--port", "0", "--admin-port", "0", "--access-log", str(log)]
        proc = start_tether(args, self.tmp, name=name)
        self.proxies[name] = proc
        assert wait_until(lambda: self.ready(name), 15), proc.describe()
        return Sidecar(proc, name, log)

    def ready(self, name: str) -> bool:
        return http_request(self.proxies[name].port("admin"), "GET", "/ready",
                            [("Host", "admin")]).status == 200

    def client(self) -> ControlClient:
        token = (self.data / "admin.token").read_text().strip()
        return ControlClient(self.url, token)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``python -m tether ARGS`` against this control plane (bounded)."""
        env = {"TETHER_CONTROL": self.url, "TETHER_TOKEN_FILE": str(self.data / "admin.token")}
        return subprocess.run(
            [sys.executable, "-m", "tether", *args], input=stdin, capture_output=True, text=True,
            timeout=60, env={**os.environ, **env},
        )

    def config_dump(self, name: str) -> dict[str, Any]:
        response = http_request(self.proxies[name].port("admin"), "GET", "/config_dump",
                                [("Host", "admin")])
        assert response.status == 200 and response.body is not None
        dump: dict[str, Any] = json.loads(response.body)
        return dump

    def version(self, name: str) -> str:
        return str(self.config_dump(name)["snapshot"]["version"])

    def status(self) -> dict[str, ProxyView]:
        return {p.node.name: p for p in self.client().proxies().proxies}

    def all_synced(self, count: int) -> bool:
        try:
            statuses = self.status()
        except Exception:
            return False
        return len(statuses) == count and all(p.status == "SYNCED" for p in statuses.values())

    def route_timeouts(self, name: str, host: str) -> list[int | None]:
        """Return the ``timeout_ms`` of every route of ``host``'s virtual host on ``name``."""
        for vh in self.config_dump(name)["snapshot"].get("virtual_hosts", []):
            if host in vh["domains"]:
                return [r.get("timeout_ms") for r in vh.get("routes", [])]
        return []

    def close(self) -> None:
        for proc in [*self.proxies.values(), *self.others]:
            proc.stop()
        if self.control is not None and self.control.alive():
            self.control.stop()


class ThreadPlane:
    """A ControlPlane on ``data`` on its own event loop in a daemon thread (started at once),
    so that blocking clients in the test can call it; ``close()`` stops it."""

    def __init__(self, data: Path, heartbeat_interval: float) -> None:
        self.data = data
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="plane", daemon=True)
        self.thread.start()
        token = ensure_admin_token(str(data))
        self.plane = ControlPlane(Store.in_dir(str(data)), token, heartbeat_interval=heartbeat_interval)
        self.port = self.run(self.plane.start("127.0.0.1", 0))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the plane's loop and return its result (raises what it raises, or
        TimeoutError after 10 s)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self.run(self.plane.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
