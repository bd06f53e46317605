"""The push reporter against a real in-process control plane."""

from __future__ import annotations

from pathlib import Path

from tether.client.aio import Control
from tether.control.api.http import HttpServer, Request, Response, json_response
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.reporter import Reporter
from tether.proxy.telemetry.sink import TelemetrySink
from tether.proxy.telemetry.wire import EdgeKey, SpanRecord
from tether.testing.sidecar import free_port

NODE = ProxyNode(name="order")
KEY = EdgeKey("source", "order", "default", "p", "shipping", "default", "q", "shipping.default.svc.cluster.local", "r")


def fill(sink: TelemetrySink, reporter: Reporter) -> None:
    sink.count(KEY, 200, "-", 3.0, 1, 2)
    sink.count(KEY, 503, "UF", 1.0, 0, 0)
    sink.span(SpanRecord("a" * 32, "b" * 16, "", "GET /", "client", 1, 2, "order.default", "order", "default"))
    sink.request((1.0, "source", b"GET", b"shipping", b"/x", 200, "-", 3.0, KEY, b"", "", 0, 0))


def test_build_drains_everything_once() -> None:
    sink = TelemetrySink()
    reporter = Reporter("http://127.0.0.1:1", NODE, sink)
    assert sink.aggregate and sink.keep_requests and sink.wants_spans
    fill(sink, reporter)
    push = reporter.build()
    assert push.node == NODE
    assert [a.requests for a in push.aggregates] == [2]
    assert len(push.spans) == 1 and len(push.requests) == 1
    empty = reporter.build()
    assert not (empty.aggregates or empty.spans or empty.requests)


async def test_push_lands_in_the_control_plane(tmp_path: Path) -> None:
    plane = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    port = await plane.start("127.0.0.1", 0)
    try:
        sink = TelemetrySink()
        reporter = Reporter(f"http://127.0.0.1:{port}", NODE, sink)
        fill(sink, reporter)
        assert await reporter.push_once()
        assert reporter.pushes == 1
        _, data = plane.telemetry.totals("1m")
        assert data[KEY].requests == 2
        assert plane.telemetry.traces.trace("a" * 32) is not None
        assert plane.telemetry.reporters[("default", "order")]["kind"] == "sidecar"
    finally:
        await plane.close()


async def test_push_to_nowhere_is_counted_not_raised() -> None:
    sink = TelemetrySink()
    reporter = Reporter(f"http://127.0.0.1:{free_port()}", NODE, sink, timeout=1.0)
    fill(sink, reporter)
    assert not await reporter.push_once()
    assert not await reporter.push_once()
    assert reporter.failures == 2
    assert sink.edges == {}  # dropped, not kept to grow


async def test_push_presents_the_join_token() -> None:
    seen: list[str | None] = []

    async def handle(request: Request) -> Response:
        seen.append(request.headers.get("authorization"))
        return json_response({"ok": True})

    server = HttpServer(handle)
    port = await server.start("127.0.0.1", 0)
    try:
        reporter = Reporter(Control("127.0.0.1", port, token="tjt1.payload.mac"), NODE, TelemetrySink())
        assert await reporter.push_once()
    finally:
        await server.close()
    assert seen == ["Bearer tjt1.payload.mac"]
