"""Span encodings for collectors: OTLP/HTTP JSON (``/v1/traces``) and Zipkin v2 JSON.

OTLP JSON follows the protobuf JSON mapping: ids are lowercase hex, 64-bit integers
are strings, enums are numbers. Zipkin v2 takes microsecond timestamps and string tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tether.proxy.telemetry.wire import Attribute, SpanRecord

OTLP_KIND = {"internal": 1, "server": 2, "client": 3}
ZIPKIN_KIND = {"server": "SERVER", "client": "CLIENT"}
SCOPE = {"name": "tether", "version": "0.1.0"}


def _otlp_value(value: Attribute) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def _otlp_attributes(attrs: dict[str, Attribute]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _otlp_value(v)} for k, v in attrs.items()]


def otlp_span(span: SpanRecord) -> dict[str, Any]:
    """Return one OTLP JSON ``Span``."""
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": OTLP_KIND.get(span.kind, 1),
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": _otlp_attributes(span.attributes),
        "status": {"code": 2} if span.error else {"code": 0},
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id
    return out


def otlp_request(spans: Sequence[SpanRecord]) -> dict[str, Any]:
    """Return an ``ExportTraceServiceRequest`` (JSON) grouping ``spans`` by their service."""
    by_resource: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for span in spans:
        by_resource.setdefault((span.service, span.workload, span.namespace), []).append(otlp_span(span))
    resource_spans = []
    for (service, workload, namespace), items in by_resource.items():
        resource = {"service.name": service, "k8s.namespace.name": namespace, "k8s.workload.name": workload}
        resource_spans.append({
            "resource": {"attributes": _otlp_attributes(dict(resource))},
            "scopeSpans": [{"scope": SCOPE, "spans": items}],
        })
    return {"resourceSpans": resource_spans}


def _peer_service(span: SpanRecord) -> str:
    peer = span.attributes.get("peer.service")
    return str(peer) if peer else ""


def zipkin_span(span: SpanRecord) -> dict[str, Any]:
    """Return one Zipkin v2 span."""
    tags = {k: str(v) for k, v in span.attributes.items()}
    if span.error:
        tags["error"] = str(span.attributes.get("http.status_code", "true"))
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "id": span.span_id,
        "name": span.name,
        "timestamp": span.start_ns // 1000,
        "duration": max(1, (span.end_ns - span.start_ns) // 1000),
        "localEndpoint": {"serviceName": span.service},
        "tags": tags,
    }
    if span.kind in ZIPKIN_KIND:
        out["kind"] = ZIPKIN_KIND[span.kind]
    if span.parent_id:
        out["parentId"] = span.parent_id
    peer = _peer_service(span)
    if peer:
        out["remoteEndpoint"] = {"serviceName": peer}
    return out


def zipkin_request(spans: Sequence[SpanRecord]) -> list[dict[str, Any]]:
    """Return the JSON array ``POST /api/v2/spans`` takes."""
    return [zipkin_span(s) for s in spans]
