"""Helpers of the control-plane end-to-end tests: a ``tether control`` process and sidecars
started with ``--control``, all on 127.0.0.1 with ephemeral ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tether.client.http import ControlClient
from tether.client.types import ProxyView
from tether.testing.procs import RunningProcess, start_tether, wait_until
from tether.testing.rawhttp import http_request

HEARTBEAT = "0.5"

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

    def start_proxy(self, name: str, app_port: int, namespace: str = "default") -> RunningProcess:
        """Start ``tether proxy --control`` and wait (bounded) until it has a snapshot."""
        args = ["proxy", "--name", name, "--namespace", namespace, "--control", self.url,
                "--app-port", str(app_port), "--outbound-port", "0", "--inbound-port", "0",
                "--admin-port", "0", "--access-log", str(self.tmp / f"{name}.access.log")]
        proc = start_tether(args, self.tmp, name=f"proxy-{name}")
        self.proxies[name] = proc
        assert wait_until(lambda: self.ready(name), 15), proc.describe()
        return proc

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
