from __future__ import annotations

from tether.proxy.telemetry.encode import otlp_request, zipkin_request
from tether.proxy.telemetry.wire import SpanRecord

CLIENT = SpanRecord(
    trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id="b7ad6b7169203331", parent_id="00f067aa0ba902b7",
    name="GET /x", kind="client", start_ns=1_700_000_000_000_000_000, end_ns=1_700_000_000_002_500_000,
    service="order.default", workload="order", namespace="default",
    attributes={"http.status_code": 503, "http.method": "GET", "peer.service": "shipping.default.svc.cluster.local",
                "sampled": True, "ratio": 0.5},
    error=True,
)
SERVER = SpanRecord(
    trace_id=CLIENT.trace_id, span_id="c7ad6b7169203331", parent_id=CLIENT.span_id, name="GET /x", kind="server",
    start_ns=CLIENT.start_ns + 1000, end_ns=CLIENT.end_ns - 1000, service="shipping.default", workload="shipping",
    namespace="default",
)


def test_otlp_groups_by_resource_and_maps_types() -> None:
    body = otlp_request([CLIENT, SERVER])
    resources = body["resourceSpans"]
    assert len(resources) == 2
    first = resources[0]
    attrs = {a["key"]: a["value"] for a in first["resource"]["attributes"]}
    assert attrs["service.name"] == {"stringValue": "order.default"}
    (span,) = first["scopeSpans"][0]["spans"]
    assert span["traceId"] == CLIENT.trace_id and span["spanId"] == CLIENT.span_id
    assert span["parentSpanId"] == CLIENT.parent_id
    assert span["kind"] == 3
    assert span["startTimeUnixNano"] == "1700000000000000000"
    assert span["status"] == {"code": 2}
    values = {a["key"]: a["value"] for a in span["attributes"]}
    assert values["http.status_code"] == {"intValue": "503"}
    assert values["sampled"] == {"boolValue": True}
    assert values["ratio"] == {"doubleValue": 0.5}
    server = resources[1]["scopeSpans"][0]["spans"][0]
    assert server["kind"] == 2 and server["status"] == {"code": 0}


def test_root_span_has_no_parent_field() -> None:
    root = SpanRecord("1" * 32, "2" * 16, "", "GET /", "server", 0, 1000, "a.default", "a", "default")
    assert "parentSpanId" not in otlp_request([root])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert "parentId" not in zipkin_request([root])[0]


def test_zipkin_v2_fields() -> None:
    client, server = zipkin_request([CLIENT, SERVER])
    assert client["id"] == CLIENT.span_id and client["parentId"] == CLIENT.parent_id
    assert client["kind"] == "CLIENT" and server["kind"] == "SERVER"
    assert client["timestamp"] == 1_700_000_000_000_000
    assert client["duration"] == 2500
    assert client["localEndpoint"] == {"serviceName": "order.default"}
    assert client["remoteEndpoint"] == {"serviceName": "shipping.default.svc.cluster.local"}
    assert client["tags"]["http.status_code"] == "503"
    assert client["tags"]["error"] == "503"
    assert "error" not in server["tags"] and "remoteEndpoint" not in server
