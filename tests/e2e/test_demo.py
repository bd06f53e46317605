"""``tether demo`` as a user runs it: one command, the book's flow through the gateway, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path

import pytest

from tether.testing.procs import start_demo, wait_until

pytestmark = pytest.mark.e2e

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ORDER = {
    "customer": {"name": "Wolff", "firstname": "Eberhard", "email": "e@example.com"},
    "deliveryService": "Hermes",
    "shippingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
    "billingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
    "orderLine": [{"count": 2, "item": {"itemId": 1}}, {"count": 1, "item": {"itemId": 4}}],
}


def call(method: str, url: str, body: object = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Accept": "application/json", "Content-Type": "application/json"}
    )
    with OPENER.open(request, timeout=10) as reply:
        return reply.status, reply.read()


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_demo_runs_the_books_flow_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    demo = start_demo(tmp_path, data)
    try:
        gateway = f"http://127.0.0.1:{demo.ports['gateway']}"
        assert call("GET", gateway + "/")[0] == 200
        status, body = call("POST", gateway + "/order/", ORDER)
        assert status in (200, 201), body
        order_id = json.loads(body)["id"]
        for service in ("shipping", "invoicing"):
            status, body = call("POST", f"{gateway}/{service}/poll")
            assert json.loads(body)["ok"] is True, body
        _, shipment = call("GET", f"{gateway}/shipping/{order_id}.json")
        _, invoice = call("GET", f"{gateway}/invoicing/{order_id}.json")
        assert json.loads(shipment)["cost"] == 2  # Hermes
        assert json.loads(invoice)["total"] == 2 * 23 + 1 * 100
        os.kill(demo.pid, signal.SIGINT)
        assert wait_until(lambda: not demo.alive(), timeout=30), demo.describe()
        assert demo.proc.returncode == 0
        assert wait_until(lambda: not processes_mentioning(str(data)), timeout=10), processes_mentioning(str(data))
    finally:
        demo.stop()
