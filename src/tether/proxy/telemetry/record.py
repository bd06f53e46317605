"""From a finished exchange to telemetry records: the edge key, the span, the tap summary.

Pure functions of the exchange and the node; the completion hook calls them. The
reporter is ``source`` on the outbound side (a ``client`` span) and ``destination``
on the inbound side (a ``server`` span), as in Istio.
"""

from __future__ import annotations

from tether.core.identity import ProxyNode, service_fqdn
from tether.proxy.exchange import Exchange
from tether.proxy.telemetry.wire import Attribute, EdgeKey, RequestSummary, SpanRecord

UNKNOWN = "unknown"
PEER_PRINCIPAL = "peer_principal"  # the ex.extra key the mTLS layer fills (see filters/authz.py)
SPAN_KIND = {"source": "client", "destination": "server"}
MAX_NAME = 120


def edge_key(ex: Exchange, node: ProxyNode, reporter: str) -> EdgeKey:
    """Return who called whom for ``ex`` as ``reporter`` sees it (``unknown`` where unseen)."""
    route = ex.route.name if ex.route is not None else ""
    if reporter == "source":
        ep, cluster = ex.endpoint, ex.cluster
        service = cluster.service if cluster is not None else ex.authority.decode("latin-1") or UNKNOWN
        dest = (ep.workload, ep.namespace, ep.principal or UNKNOWN) if ep is not None else (UNKNOWN,) * 3
        return EdgeKey(reporter, node.name, node.namespace, node.principal, *dest, service, route)
    peer = ex.peer
    source = (peer[0], peer[1]) if peer else (UNKNOWN, UNKNOWN)
    service = service_fqdn(node.app, node.namespace)
    return EdgeKey(reporter, *source, peer_principal(ex), node.name, node.namespace, node.principal, service, route)


def peer_principal(ex: Exchange) -> str:
    """Return the caller's principal as verified by mTLS (``ex.extra["peer_principal"]``), else unknown."""
    extra = ex.extra
    return str(extra.get(PEER_PRINCIPAL) or UNKNOWN) if extra else UNKNOWN


def is_sampled(ex: Exchange) -> bool:
    """Return True when the hop's trace decision (set by the tracing filter) is "sampled"."""
    return bool(ex.trace_id) and ex.headers.get(b"x-b3-sampled") == b"1"


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def url_of(ex: Exchange) -> str:
    """Return the request's URL as a client would write it (``http://authority/path``)."""
    authority = ex.authority or ex.headers.get(b"host") or b""
    path = ex.path
    if path.startswith(b"http://") or path.startswith(b"https://"):
        return _text(path)
    return f"{_text(ex.scheme)}://{_text(authority)}{_text(path)}"


def build_span(ex: Exchange, node: ProxyNode, reporter: str, key: EdgeKey) -> SpanRecord:
    """Return the span of this hop: parented by the incoming context, with HTTP attributes."""
    path = _text(ex.path).split("?", 1)[0]
    name = f"{_text(ex.method)} {path}"[:MAX_NAME]
    start_ns = round(ex.start_wall * 1e6) * 1000  # microseconds: what a float of epoch seconds holds
    end_ns = start_ns + max(0, int((ex.end_mono - ex.start_mono) * 1e9))
    peer = key.destination_service if reporter == "source" else f"{key.source_workload}.{key.source_namespace}"
    extra = ex.extra or {}
    attrs: dict[str, Attribute] = {
        "http.method": _text(ex.method),
        "http.url": url_of(ex),
        "http.status_code": ex.status,
        "http.protocol": f"HTTP/{ex.http_version}",
        "peer.service": peer,
        "response_flags": ex.response_flags,
        "retry.attempt": int(extra.get("retry_attempts", 0)),
        "request_size": ex.body.received,
        "response_size": ex.bytes_sent,
        "guid:x-request-id": _text(ex.request_id),
        "node_id": f"{node.kind}~{node.name}.{node.namespace}",
        "component": "proxy",
    }
    if ex.route is not None:
        attrs["route.name"] = ex.route.name
    if ex.endpoint is not None:
        attrs["upstream.address"] = ex.endpoint.host
    user_agent = ex.headers.get(b"user-agent")
    if user_agent is not None:
        attrs["user_agent"] = _text(user_agent)
    parent = ex.headers.get(b"x-b3-parentspanid")
    return SpanRecord(
        trace_id=ex.trace_id,
        span_id=ex.span_id,
        parent_id=_text(parent) if parent else "",
        name=name,
        kind=SPAN_KIND.get(reporter, "internal"),
        start_ns=start_ns,
        end_ns=end_ns,
        service=f"{node.app}.{node.namespace}",
        workload=node.name,
        namespace=node.namespace,
        attributes=attrs,
        error=ex.status >= 500 or ex.status == 0,
    )


RawSummary = tuple[float, str, bytes, bytes, bytes, int, str, float, EdgeKey, bytes, str, int, int]


def raw_summary(ex: Exchange, reporter: str, key: EdgeKey) -> RawSummary:
    """Return the facts of ``ex`` for ``tether tap`` as a plain tuple (decoded later, off the hot path)."""
    authority = ex.authority or ex.headers.get(b"host") or b""
    duration = (ex.end_mono - ex.start_mono) * 1000.0
    return (ex.start_wall, reporter, ex.method, authority, ex.path, ex.status, ex.response_flags, duration, key,
            ex.request_id, ex.trace_id, ex.body.received, ex.bytes_sent)


def summary_of(raw: RawSummary) -> RequestSummary:
    """Return the RequestSummary of a ``raw_summary`` tuple."""
    at, reporter, method, authority, path, status, flags, duration, key, request_id, trace_id, received, sent = raw
    return RequestSummary(
        at=at,
        reporter=reporter,
        method=_text(method),
        authority=_text(authority),
        path=_text(path),
        status=status,
        flags=flags,
        duration_ms=round(duration, 3),
        source_workload=key.source_workload,
        source_namespace=key.source_namespace,
        destination_workload=key.destination_workload,
        destination_namespace=key.destination_namespace,
        destination_service=key.destination_service,
        request_id=_text(request_id),
        trace_id=trace_id,
        request_bytes=received,
        response_bytes=sent,
    )


def summarize(ex: Exchange, reporter: str, key: EdgeKey) -> RequestSummary:
    """Return the one-line view of ``ex`` that ``tether tap`` streams."""
    return summary_of(raw_summary(ex, reporter, key))
