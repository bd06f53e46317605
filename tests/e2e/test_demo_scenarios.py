"""The book's chapter-4 experiments against a running ``tether demo``, applied with the CLI as a
user does: what the book says happens, happens; deleting the file brings normal behaviour back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tether.testing import procs
from tether.testing.procs import RunningProcess, wait_until

pytestmark = pytest.mark.e2e

BOOK = Path(__file__).resolve().parents[2] / "examples" / "book"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ORDER = {
    "customer": {"name": "Wolff", "firstname": "Eberhard", "email": "e@example.com"},
    "deliveryService": "DHL",
    "shippingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
    "billingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
    "orderLine": [{"count": 1, "item": {"itemId": 2}}],
}


@dataclass
class Demo:
    proc: RunningProcess
    gateway: str
    env: dict[str, str]
    tmp: Path

    def call(self, method: str, path: str, body: object = None, timeout: float = 20) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        request = urllib.request.Request(self.gateway + path, data=data, method=method, headers=headers)
        try:
            with OPENER.open(request, timeout=timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def poll(self, service: str) -> dict[str, object]:
        status, body = self.call("POST", f"/{service}/poll")
        assert status == 200, body
        result: dict[str, object] = json.loads(body)
        return result

    def tether(self, *args: str, text: str | None = None) -> str:
        """Run the tether CLI against the demo's control plane; return its output (must exit 0)."""
        done = subprocess.run(
            [sys.executable, "-m", "tether", *args],
            input=text,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def apply(self, name: str, replace: tuple[str, str] | None = None) -> None:
        text = (BOOK / name).read_text()
        if replace is not None:
            text = text.replace(*replace)
        self.tether("apply", "-f", "-", text=text)
        self.wait_synced()

    def delete(self, name: str, replace: tuple[str, str] | None = None) -> None:
        text = (BOOK / name).read_text()
        if replace is not None:
            text = text.replace(*replace)
        self.tether("delete", "-f", "-", text=text)
        self.wait_synced()

    def wait_synced(self) -> None:
        def synced() -> bool:
            rows = json.loads(self.tether("proxy-status", "-o", "json"))
            proxies = rows["proxies"] if isinstance(rows, dict) else rows
            return bool(proxies) and all(p["status"] == "SYNCED" for p in proxies)

        assert wait_until(synced, timeout=20)


def start_demo(tmp: Path, env_extra: dict[str, str]) -> Demo:
    import os

    data = tmp / "data"
    proc = procs.start_demo(tmp, data, env=env_extra)
    env = {
        **os.environ,
        **env_extra,
        "TETHER_CONTROL": f"http://127.0.0.1:{proc.ports['control']}",
        "TETHER_TOKEN_FILE": str(data / "control" / "admin.token"),
    }
    return Demo(proc, f"http://127.0.0.1:{proc.ports['gateway']}", env, tmp)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = start_demo(tmp_path_factory.mktemp("demo"), {})
    try:
        assert running.call("POST", "/order/", ORDER)[0] in (200, 201)
        yield running
    finally:
        running.proc.stop()


def test_fault_injection_makes_polling_fail_but_services_stay_up(demo: Demo) -> None:
    assert demo.poll("shipping")["ok"] is True
    demo.apply("fault-injection.yaml")
    try:
        result = demo.poll("shipping")
        assert result["ok"] is False and "500" in str(result["error"])
        assert demo.call("GET", "/shipping/")[0] == 200  # the page shows the error, the service is up
        assert demo.call("GET", "/invoicing/")[0] == 200
    finally:
        demo.delete("fault-injection.yaml")
    assert demo.poll("shipping")["ok"] is True


def test_delay_injection_makes_polling_slower(demo: Demo) -> None:
    two_seconds = ("fixedDelay: 7s", "fixedDelay: 2s")  # the book's 7 s, shortened for the suite
    started = time.monotonic()
    demo.poll("invoicing")
    normal = time.monotonic() - started
    demo.apply("delay-injection.yaml", two_seconds)
    try:
        started = time.monotonic()
        assert demo.poll("invoicing")["ok"] is True
        assert time.monotonic() - started >= 2.0 > normal
    finally:
        demo.delete("delay-injection.yaml", two_seconds)


def test_circuit_breaker_refuses_parallel_load_while_single_requests_pass(demo: Demo) -> None:
    demo.apply("circuit-breaker.yaml")
    try:
        assert demo.call("GET", "/order/")[0] == 200
        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(lambda _: demo.call("GET", "/order/")[0], range(48)))
        assert 503 in statuses, statuses
    finally:
        demo.delete("circuit-breaker.yaml")
    assert wait_until(lambda: demo.call("GET", "/order/")[0] == 200, timeout=10)


def test_retries_turn_a_failing_order_service_into_successful_polls(tmp_path: Path) -> None:
    failing = start_demo(tmp_path, {"FAILRANDOMLY": "true", "FAILRANDOMLY_SEED": "7"})
    try:
        assert wait_until(lambda: failing.call("POST", "/order/", ORDER)[0] in (200, 201), timeout=20)
        before = [failing.poll("shipping")["ok"] for _ in range(20)]
        assert before.count(False) >= 3, before  # about half the feed requests fail
        failing.apply("retry.yaml")
        after = [failing.poll("shipping")["ok"] for _ in range(20)]
        assert all(after), after
        failing.delete("retry.yaml")
        failing.tether("apply", "-f", str(BOOK / "ingress.yaml"))  # retry.yaml replaced the gateway's /order route
    finally:
        failing.proc.stop()
