"""Telemetry through a real control plane and two real sidecars (order -> shipping -> app):
``tether stat``/``routes``/``edges`` show the values of a known traffic pattern, a two-hop
trace is one trace in ``/v1/telemetry/traces/{id}``, and ``tap``/``top`` run in a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tether.client.telemetry import TelemetryClient
from tether.testing.mesh import Mesh
from tether.testing.procs import RunningProcess, wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
APP_SPAN = "00f067aa0ba902b7"
OK, FAILED = 8, 2


class TelemetryMesh:
    """The control plane, the app, and the sidecars of order (client) and shipping (server)."""

    def __init__(self, mesh: Mesh, app: ScriptableUpstream) -> None:
        self.mesh = mesh
        self.app = app
        self.order = self.proxy("order")
        self.shipping = self.proxy("shipping")
        assert wait_until(lambda: mesh.all_synced(2), 15), mesh.status()

    def proxy(self, name: str) -> RunningProcess:
        return self.mesh.start_proxy(name, self.app.port, extra=["--trace-sampling", "100", "--telemetry-interval", "0.2"])

    def call(self, path: str, headers: list[tuple[str, str]] | None = None) -> int:
        """Send one request from order's app to shipping through both sidecars; return the status."""
        port = self.order.port("outbound")
        return http_request(port, "GET", path, [("Host", "shipping"), *(headers or [])]).status

    def telemetry(self) -> TelemetryClient:
        return TelemetryClient(self.mesh.client())


@pytest.fixture(scope="module")
def tm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelemetryMesh]:
    mesh = Mesh(tmp_path_factory.mktemp("telemetry-mesh"))
    try:
        with ScriptableUpstream() as app:
            mesh.start_control()
            yield TelemetryMesh(mesh, app)
    finally:
        mesh.close()


@pytest.fixture(scope="module")
def traffic(tm: TelemetryMesh) -> TelemetryMesh:
    """The known pattern: OK requests answered 200, FAILED answered 500; waits until counted."""
    for i in range(OK):
        assert tm.call(f"/orders/{i}") == 200
    for _ in range(FAILED):
        assert tm.call("/status/500") == 500

    def counted() -> bool:
        rows = {r.name: r for r in tm.telemetry().stat().rows}
        # Both reporters pushed: the destination's count, and the callers' (per route).
        routes = tm.telemetry().routes("shipping").rows
        return ("shipping" in rows and rows["shipping"].reporter == "destination"
                and rows["shipping"].requests >= OK + FAILED and sum(r.requests for r in routes) >= OK + FAILED)
    assert wait_until(counted, 15), tm.telemetry().stat()
    return tm


def cli_json(tm: TelemetryMesh, *args: str) -> Any:
    done = tm.mesh.cli(*args, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_stat_counts_the_pattern(traffic: TelemetryMesh) -> None:
    rows = {r["name"]: r for r in cli_json(traffic, "stat")["rows"]}
    shipping = rows["shipping"]
    assert shipping["requests"] == OK + FAILED
    assert shipping["failures"] == FAILED
    assert shipping["success_rate"] == pytest.approx(OK / (OK + FAILED))
    assert shipping["codes"] == {"200": OK, "500": FAILED}
    assert shipping["reporter"] == "destination"
    assert shipping["rps"] > 0
    assert shipping["latency_ms"]["p50"] is not None
    assert rows["order"]["requests"] == 0  # a caller only: nothing came in

    table = traffic.mesh.cli("stat", "deploy/shipping")
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.splitlines()
    assert header.split() == ["NAME", "NAMESPACE", "REQUESTS", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95",
                              "LATENCY_P99"]
    assert line.split()[:4] == ["shipping", "default", str(OK + FAILED), "80.00%"]


def test_routes_of_the_service(traffic: TelemetryMesh) -> None:
    answer = cli_json(traffic, "routes", "shipping")
    assert answer["rows"], answer
    assert sum(r["requests"] for r in answer["rows"]) == OK + FAILED
    assert sum(r["failures"] for r in answer["rows"]) == FAILED
    assert {r["service"] for r in answer["rows"]} == {"shipping.default.svc.cluster.local"}
    assert {r["reporter"] for r in answer["rows"]} == {"source"}

    table = traffic.mesh.cli("routes", "shipping")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["ROUTE", "SERVICE", "REQUESTS"]


def test_edges_name_both_identities(traffic: TelemetryMesh) -> None:
    rows = cli_json(traffic, "edges")["rows"]
    (edge,) = [r for r in rows if r["source"] == "order" and r["destination"] == "shipping"]
    assert edge["client_id"] == "cluster.local/ns/default/sa/order"
    assert edge["server_id"] == "cluster.local/ns/default/sa/shipping"
    assert edge["requests"] == OK + FAILED
    assert edge["success_rate"] == pytest.approx(0.8)

    table = traffic.mesh.cli("edges")
    assert table.returncode == 0, table.stderr
    assert any(line.split()[:4] == ["order", "shipping", "default", "default"] for line in table.stdout.splitlines())


def test_two_hops_make_one_trace(tm: TelemetryMesh) -> None:
    assert tm.call("/traced", [("traceparent", f"00-{TRACE_ID}-{APP_SPAN}-01")]) == 200
    client = tm.telemetry()

    def both_spans() -> bool:
        try:
            return len(client.trace(TRACE_ID).span_list) >= 2
        except Exception:
            return False
    assert wait_until(both_spans, 15)
    trace = client.trace(TRACE_ID)
    spans = {s.kind: s for s in trace.span_list}
    assert set(spans) == {"client", "server"}
    assert spans["client"].workload == "order" and spans["server"].workload == "shipping"
    assert spans["client"].parent_id == APP_SPAN
    assert spans["server"].parent_id == spans["client"].span_id
    assert spans["client"].attributes["http.status_code"] == 200
    assert spans["client"].attributes["peer.service"] == "shipping.default.svc.cluster.local"
    assert spans["server"].attributes["http.method"] == "GET"
    listed = [t.trace_id for t in client.traces(service="shipping").traces]
    assert TRACE_ID in listed


class Terminal:
    """A CLI command running in a pseudo-terminal; ``read_until`` collects its output."""

    def __init__(self, tm: TelemetryMesh, *args: str) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "TETHER_CONTROL": tm.mesh.url}
        self.proc = subprocess.Popen([sys.executable, "-m", "tether", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.output = ""

    def read_for(self, seconds: float) -> str:
        """Read what arrives within ``seconds``; return everything read so far."""
        ready, _, _ = select.select([self.master], [], [], seconds)
        while ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk.decode(errors="replace")
            ready, _, _ = select.select([self.master], [], [], 0.05)
        return self.output

    def interrupt(self) -> int:
        """Ctrl-C; return the exit status."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(10)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)


def test_tap_streams_lines_in_a_terminal(tm: TelemetryMesh) -> None:
    term = Terminal(tm, "tap", "shipping", "--path", "/tapped")
    try:
        for _ in range(40):
            tm.call("/other")
            tm.call("/tapped/1")
            if ":path=/tapped/1" in term.read_for(0.3):
                break
        lines = [line for line in term.output.splitlines() if ":path=" in line]
        assert lines, term.output
        assert all(":path=/tapped/1" in line for line in lines), lines
        assert any("default/order -> default/shipping" in line and ":status=200" in line for line in lines)
    finally:
        status = term.interrupt()
    assert status == 0


def test_top_refreshes_in_a_terminal(tm: TelemetryMesh) -> None:
    term = Terminal(tm, "top", "--interval", "0.2")
    try:
        for _ in range(40):
            tm.call("/topped")
            if "/topped" in term.read_for(0.3):
                break
        screen = term.output
        assert "\x1b[2J" in screen  # a terminal gets a redrawn screen
        last = screen.rsplit("\x1b[2J", 1)[-1]
        assert "SOURCE" in last and "/topped" in last, screen[-2000:]
        (row,) = [line for line in last.splitlines() if "/topped" in line]
        assert row.split()[:3] == ["default/order", "default/shipping", "GET"]
    finally:
        status = term.interrupt()
    assert status == 0
