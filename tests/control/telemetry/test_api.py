"""The /v1/telemetry endpoints over real sockets on an in-process control plane."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest

from tether.client.aio import ControlError, request_json, stream_lines
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, Aggregate, EdgeKey, Push, RequestSummary, SpanRecord

SVC = "shipping.default.svc.cluster.local"
KEY = EdgeKey("destination", "order", "default", "unknown", "shipping", "default", "id", SVC, "")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, int]]:
    cp = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    port = await cp.start("127.0.0.1", 0)
    try:
        yield cp, port
    finally:
        await cp.close()


def summary(path: str, status: int = 200) -> RequestSummary:
    return RequestSummary(1.0, "destination", "GET", "shipping", path, status, "-", 2.0, "order", "default",
                          "shipping", "default", SVC)


def a_push(requests: list[RequestSummary] | None = None) -> dict[str, Any]:
    latency = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    latency[1] = 4
    body = Push(
        node=ProxyNode(name="shipping"), interval=2.0,
        aggregates=[Aggregate(key=KEY, codes={"200": 3, "503": 1}, latency=latency)],
        spans=[SpanRecord(TRACE, "b" * 16, "", "GET /x", "server", 5, 9, "shipping.default", "shipping", "default")],
        requests=requests or [],
    )
    result: dict[str, Any] = msgspec.to_builtins(body)
    return result


async def test_push_then_read_every_view(plane: tuple[ControlPlane, int]) -> None:
    _, port = plane
    assert await request_json("127.0.0.1", port, "POST", "/v1/telemetry/push", a_push()) == {"ok": True}
    stat = await request_json("127.0.0.1", port, "GET", "/v1/telemetry/stat")
    (row,) = stat["rows"]
    assert (row["name"], row["requests"], row["failures"], stat["window"]) == ("shipping", 4, 1, "1m")
    by_service = await request_json("127.0.0.1", port, "GET", "/v1/telemetry/stat?kind=service&window=1h")
    assert by_service["kind"] == "service" and by_service["rows"][0]["name"] == "shipping"
    routes = await request_json("127.0.0.1", port, "GET", "/v1/telemetry/routes?service=shipping")
    assert routes["rows"][0]["route"] == "[DEFAULT]"
    edges = await request_json("127.0.0.1", port, "GET", "/v1/telemetry/edges?window=10m")
    assert (edges["rows"][0]["source"], edges["rows"][0]["destination"]) == ("order", "shipping")
    traces = await request_json("127.0.0.1", port, "GET", "/v1/telemetry/traces?service=shipping")
    assert [t["trace_id"] for t in traces["traces"]] == [TRACE]
    trace = await request_json("127.0.0.1", port, "GET", f"/v1/telemetry/traces/{TRACE.upper()}")
    assert trace["span_list"][0]["kind"] == "server"


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/v1/telemetry/push", {"node": "nope"}, 400),
    ("GET", "/v1/telemetry/stat?window=5m", None, 400),
    ("GET", "/v1/telemetry/stat?kind=pod", None, 400),
    ("GET", "/v1/telemetry/routes", None, 400),
    ("GET", "/v1/telemetry/traces?limit=many", None, 400),
    ("GET", f"/v1/telemetry/traces/{TRACE}", None, 404),
])
async def test_bad_requests(plane: tuple[ControlPlane, int], method: str, path: str, body: Any, status: int) -> None:
    _, port = plane
    with pytest.raises(ControlError) as info:
        await request_json("127.0.0.1", port, method, path, body)
    assert info.value.status == status


async def test_tap_streams_matching_requests(plane: tuple[ControlPlane, int]) -> None:
    cp, port = plane
    tap = stream_lines("127.0.0.1", port, "/v1/telemetry/tap?service=shipping&status=5xx", idle_timeout=5)
    lines = cast(AsyncGenerator[bytes, None], tap)  # an async generator, typed as its iterator
    assert await anext(lines) == b""  # opened: the subscription exists now
    assert len(cp.telemetry.tap.subscribers) == 1
    await request_json("127.0.0.1", port, "POST", "/v1/telemetry/push",
                       a_push([summary("/ok"), summary("/bad", 503)]))
    line = await anext(lines)
    while not line:
        line = await anext(lines)
    got = msgspec.json.decode(line, type=RequestSummary)
    assert (got.path, got.status) == ("/bad", 503)
    await lines.aclose()
    for _ in range(100):
        if not cp.telemetry.tap.subscribers:
            break
        await asyncio.sleep(0.02)
    assert not cp.telemetry.tap.subscribers
