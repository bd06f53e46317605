"""Spans from two real sidecars (order -> shipping -> app) reach real collectors: the rotel
OTLP collector (OTLP/HTTP JSON) and a recording receiver standing in for Zipkin; the trace is
one trace with correctly parented client and server spans; sampling decisions are honoured;
a dead collector changes nothing for requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.testing.collector import Rotel, SpanReceiver, rotel_binary, start_rotel
from tether.testing.needs import unavailable
from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.sidecar import Sidecar, free_port, start_sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
UNSAMPLED = "1af7651916cd43dd8448eb211c80319d"
APP_SPAN = "b7ad6b7169203331"


@pytest.fixture(scope="module")
def rotel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rotel]:
    binary = rotel_binary()
    if binary is None:
        unavailable("rotel, the OTLP collector, is not installed (pip install rotel)")
    collector = start_rotel(binary, tmp_path_factory.mktemp("rotel"))
    try:
        yield collector
    finally:
        collector.stop()


class TwoHops:
    def __init__(self, order: Sidecar, shipping: Sidecar) -> None:
        self.order, self.shipping = order, shipping

    def call(self, path: str, traceparent: str) -> int:
        headers = [("Host", "shipping"), ("traceparent", traceparent)]
        return http_request(self.order.outbound, "GET", path, headers).status


@pytest.fixture(scope="module")
def hops(rotel: Rotel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TwoHops, SpanReceiver]]:
    tmp = tmp_path_factory.mktemp("hops")
    started: list[Sidecar] = []
    with ScriptableUpstream() as app, SpanReceiver() as zipkin:
        try:
            flags = ["--trace-sampling", "0", "--trace-otlp", rotel.url, "--trace-zipkin", zipkin.url]
            shipping = start_sidecar(tmp, "shipping", {}, app.port, flags)
            started.append(shipping)
            order = start_sidecar(tmp, "order", {"shipping": shipping.inbound}, app.port, flags)
            started.append(order)
            yield TwoHops(order, shipping), zipkin
        finally:
            for sidecar in started:
                sidecar.proc.stop()


def test_two_hop_trace_in_the_otlp_collector(rotel: Rotel, hops: tuple[TwoHops, SpanReceiver]) -> None:
    two, _ = hops
    assert two.call("/unsampled", f"00-{UNSAMPLED}-{APP_SPAN}-00") == 200
    assert two.call("/sampled", f"00-{TRACE_ID}-{APP_SPAN}-01") == 200
    assert wait_until(lambda: len([s for s in rotel.spans() if s.get("trace_id") == TRACE_ID]) >= 2, 15), \
        rotel.proc.stdout_text()[-3000:]
    spans = {s["kind"]: s for s in rotel.spans() if s.get("trace_id") == TRACE_ID}
    assert set(spans) == {"SPAN_KIND_CLIENT", "SPAN_KIND_SERVER"}
    client, server = spans["SPAN_KIND_CLIENT"], spans["SPAN_KIND_SERVER"]
    assert client["parent_id"] == APP_SPAN
    assert server["parent_id"] == client["span_id"]
    assert client["name"] == server["name"] == "GET /sampled"
    # The unsampled request was sent first; exports keep order, so its spans would be here by now.
    assert not [s for s in rotel.spans() if s.get("trace_id") == UNSAMPLED]


def test_two_hop_trace_in_zipkin(hops: tuple[TwoHops, SpanReceiver]) -> None:
    two, zipkin = hops
    trace_id = "2af7651916cd43dd8448eb211c80319e"
    assert two.call("/zipkin", f"00-{trace_id}-{APP_SPAN}-01") == 200
    assert wait_until(lambda: len([s for s in zipkin.zipkin_spans() if s["traceId"] == trace_id]) >= 2, 15)
    assert {path for path, _ in zipkin.bodies} == {"/api/v2/spans"}
    spans = {s["kind"]: s for s in zipkin.zipkin_spans() if s["traceId"] == trace_id}
    client, server = spans["CLIENT"], spans["SERVER"]
    assert client["parentId"] == APP_SPAN and server["parentId"] == client["id"]
    assert client["localEndpoint"] == {"serviceName": "order.default"}
    assert server["localEndpoint"] == {"serviceName": "shipping.default"}
    assert client["remoteEndpoint"] == {"serviceName": "shipping.default.svc.cluster.local"}
    assert client["tags"]["http.status_code"] == "200"
    assert client["tags"]["http.method"] == "GET"
    assert client["tags"]["response_flags"] == "-"
    assert server["tags"]["peer.service"] == "order.default"
    assert server["timestamp"] >= client["timestamp"]


def test_dead_and_stalled_collectors_leave_requests_alone(tmp_path: Path) -> None:
    with ScriptableUpstream() as app, SpanReceiver(stall=True) as stalled:
        flags = ["--trace-sampling", "100", "--trace-otlp", f"http://127.0.0.1:{free_port()}",
                 "--trace-zipkin", stalled.url]
        sidecar = start_sidecar(tmp_path, "lonely", {"upstream": app.port}, app.port, flags)
        try:
            for i in range(50):
                assert http_request(sidecar.outbound, "GET", f"/r{i}", [("Host", "upstream")]).status == 200
            assert sidecar.proc.alive(), sidecar.describe()
        finally:
            sidecar.proc.stop()
