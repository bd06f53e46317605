"""Root CA rotation with an overlap (docs/security.md), between real sidecars under load.

1. The mesh runs on root A (created on first start). 2. The control plane restarts signing
with root B and trusting A too (``--ca-cert B --ca-key B --ca-trust A``): proxies get the
bundle {B, A} and, at their next renewal, certificates from B, while peers still holding
A's certificates keep working. 3. Once every certificate is from B, the control plane
restarts without A. No request fails at any step.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tether.client.http import ControlClient
from tether.control.ca.authority import create_root
from tether.proxy.tls.certs import cert_to_pem
from tether.testing.procs import RunningProcess, start_tether, wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e


class Rotation:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.port = 0
        self.starts = 0
        self.control: RunningProcess | None = None
        self.proxies: dict[str, RunningProcess] = {}

    def start_control(self, *ca_flags: str) -> None:
        if self.control is not None:
            self.control.stop()
        self.starts += 1
        self.control = start_tether(["control", "--port", str(self.port), "--data", str(self.data),
                                     "--heartbeat-interval", "3", "--cert-ttl", "4s", *ca_flags],
                                    self.tmp, name=f"control-{self.starts}")
        self.port = self.control.port("port")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_proxy(self, name: str, app_port: int) -> None:
        admin = ControlClient(self.url, (self.data / "admin.token").read_text().strip())
        token = admin.request("POST", "/v1/tokens", {"name": name})["token"]
        (self.tmp / f"{name}.token").write_text(token)
        self.proxies[name] = start_tether(
            ["proxy", "--name", name, "--control", self.url, "--token-file", str(self.tmp / f"{name}.token"),
             "--app-port", str(app_port), "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0",
             "--access-log", str(self.tmp / f"{name}.access.log")], self.tmp, name=name)

    def bundle_size(self, name: str) -> int:
        answer = http_request(self.proxies[name].port("admin"), "GET", "/config_dump", [("Host", "admin")])
        return len(json.loads(answer.body or b"{}").get("snapshot", {}).get("trust_bundle", []))

    def renewals(self) -> int:
        return sum(p.stderr_text().count("workload certificate for") for p in self.proxies.values())

    def close(self) -> None:
        for proc in [*self.proxies.values(), *([self.control] if self.control else [])]:
            proc.stop()


@pytest.fixture
def rotation(tmp_path: Path) -> Iterator[Rotation]:
    running = Rotation(tmp_path)
    try:
        yield running
    finally:
        running.close()


def test_root_rotation_with_an_overlap_loses_no_request(rotation: Rotation, tmp_path: Path) -> None:
    statuses: list[int] = []
    stop = threading.Event()
    with ScriptableUpstream() as app:
        rotation.start_control()
        rotation.start_proxy("shipping", app.port)
        rotation.start_proxy("client", app.port)
        outbound = rotation.proxies["client"].port("outbound")

        def call() -> int:
            try:
                return http_request(outbound, "GET", "/x", [("Host", "shipping"), ("Connection", "close")]).status
            except OSError:
                return 0

        assert wait_until(lambda: call() == 200, 20)

        def load() -> None:
            while not stop.is_set():
                statuses.append(call())
                time.sleep(0.01)

        worker = threading.Thread(target=load)
        worker.start()
        try:
            old_root = tmp_path / "data" / "ca" / "root-cert.pem"
            new_cert, new_key = create_root("cluster.local", time.time() + 1)
            (tmp_path / "b.pem").write_text(cert_to_pem(new_cert))
            (tmp_path / "b.key").write_bytes(new_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            # Step 2: sign with B, trust A and B.
            rotation.start_control("--ca-cert", str(tmp_path / "b.pem"), "--ca-key", str(tmp_path / "b.key"),
                                   "--ca-trust", str(old_root))
            assert wait_until(lambda: all(rotation.bundle_size(n) == 2 for n in rotation.proxies), 20)
            before = rotation.renewals()
            assert wait_until(lambda: rotation.renewals() >= before + 4, 20)  # both renewed twice: from B now
            # Step 3: B alone.
            rotation.start_control("--ca-cert", str(tmp_path / "b.pem"), "--ca-key", str(tmp_path / "b.key"))
            assert wait_until(lambda: all(rotation.bundle_size(n) == 1 for n in rotation.proxies), 20)
            assert wait_until(lambda: call() == 200, 5)
            count = len(statuses)
            assert wait_until(lambda: len(statuses) > count + 20, 10)
        finally:
            stop.set()
            worker.join(10)
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
