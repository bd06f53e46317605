"""The blocking telemetry client against a real in-process control plane."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tether.client.http import ApiError, ControlClient, ControlUnreachable
from tether.client.telemetry import TelemetryClient
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, Aggregate, EdgeKey, Push, RequestSummary, SpanRecord
from tether.testing.mesh import ThreadPlane
from tether.testing.sidecar import free_port

SVC = "shipping.default.svc.cluster.local"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Plane(ThreadPlane):
    """A control plane in a thread (so the blocking client can call it) that takes pushes."""

    def push(self, push: Push) -> None:
        self.loop.call_soon_threadsafe(self.plane.telemetry.ingest, push)


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    running = Plane(tmp_path, heartbeat_interval=0.2)
    try:
        yield running
    finally:
        running.close()


def summary(path: str) -> RequestSummary:
    return RequestSummary(1.0, "source", "GET", "shipping", path, 200, "-", 2.0, "order", "default", "shipping",
                          "default", SVC, request_id="r1")


def traffic() -> Push:
    latency = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    latency[0] = 5
    return Push(
        node=ProxyNode(name="order"), interval=2.0,
        aggregates=[Aggregate(key=EdgeKey("source", "order", "default", "cluster.local/ns/default/sa/order",
                                          "shipping", "default", "cluster.local/ns/default/sa/shipping", SVC, "api"),
                              codes={"200": 4, "500": 1}, latency=latency)],
        spans=[SpanRecord(TRACE, "a" * 16, "", "GET /x", "client", 1, 2, "order.default", "order", "default",
                          attributes={"http.status_code": 200})],
    )


def test_typed_views(plane: Plane) -> None:
    plane.push(traffic())
    client = TelemetryClient(ControlClient(f"http://127.0.0.1:{plane.port}"))
    rows = {r.name: r for r in client.stat().rows}
    assert rows["shipping"].requests == 5 and rows["shipping"].success_rate == pytest.approx(0.8)
    assert rows["shipping"].latency_ms.p50 is not None
    assert client.stat(kind="service", name="shipping", window="1h").kind == "service"
    (route,) = client.routes("shipping").rows
    assert (route.route, route.requests, route.failures) == ("api", 5, 1)
    (edge,) = client.edges().rows
    assert edge.client_id.endswith("/sa/order") and edge.server_id.endswith("/sa/shipping")
    (listed,) = client.traces().traces
    assert listed.trace_id == TRACE and listed.spans == 1
    trace = client.trace(TRACE)
    assert trace.span_list[0].attributes == {"http.status_code": 200}
    with pytest.raises(ApiError) as info:
        client.trace("0" * 31 + "1")
    assert info.value.status == 404
    with pytest.raises(ApiError):
        client.stat(window="2m")


def test_tap_yields_summaries_as_pushed(plane: Plane) -> None:
    client = TelemetryClient(ControlClient(f"http://127.0.0.1:{plane.port}"))
    stream = client.tap(service="shipping", path="/wanted", idle_timeout=5)
    got: list[RequestSummary] = []

    def read() -> None:
        got.append(next(stream))

    reader = threading.Thread(target=read, name="tap-reader", daemon=True)
    reader.start()
    for _ in range(100):
        if plane.plane.telemetry.tap.subscribers:
            break
        threading.Event().wait(0.02)
    plane.push(msgspec.structs.replace(traffic(), requests=[summary("/other"), summary("/wanted/1")]))
    reader.join(10)
    stream.close()
    assert [r.path for r in got] == ["/wanted/1"]


def test_unreachable_control_plane() -> None:
    client = TelemetryClient(ControlClient(f"http://127.0.0.1:{free_port()}", timeout=2.0))
    with pytest.raises(ControlUnreachable):
        client.stat()
    with pytest.raises(ControlUnreachable):
        next(client.tap("x", idle_timeout=2.0))
