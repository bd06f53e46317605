"""Istio's standard request metrics, reported by this proxy as source or destination.

A completion hook: every finished exchange adds to one series keyed by its labels.
Label values come from the node (this proxy), the endpoint or peer (the other side)
and the response. The label set is computed once per distinct combination and cached.
"""

from __future__ import annotations

from collections.abc import Iterable

from tether.core.identity import ProxyNode, service_fqdn
from tether.proxy.chain import Filter
from tether.proxy.exchange import Exchange
from tether.proxy.stats import (
    BYTES_BUCKETS,
    DURATION_BUCKETS,
    Family,
    Histogram,
    escape_label,
    render_counters,
)

LABELS = (
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_app",
    "destination_version",
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
    "connection_security_policy",
)

REQUESTS = Family("istio_requests_total", "counter", "Requests handled, by source, destination and response.")
DURATION = Family("istio_request_duration_milliseconds", "histogram", "Request duration in milliseconds.")
REQUEST_BYTES = Family("istio_request_bytes", "histogram", "Request body sizes in bytes.")
RESPONSE_BYTES = Family("istio_response_bytes", "histogram", "Response body sizes in bytes.")
UNKNOWN = "unknown"
PEER_PRINCIPAL = "peer_principal"  # ex.extra key set by the inbound mTLS gate (same key as filters.authz)


class Series:
    """Everything recorded for one label combination."""

    __slots__ = ("duration", "labels", "request_bytes", "requests", "response_bytes")

    def __init__(self, labels: str) -> None:
        self.labels = labels
        self.requests = 0
        self.duration = Histogram(DURATION_BUCKETS)
        self.request_bytes = Histogram(BYTES_BUCKETS)
        self.response_bytes = Histogram(BYTES_BUCKETS)


class RequestSeries:
    """All request series of one proxy, both reporters; rendered together on scrape."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}

    def get(self, labels: str) -> Series:
        """Return the series for a rendered label set, creating it on first use."""
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = Series(labels)
        return series

    def render(self) -> Iterable[str]:
        """Yield the Prometheus text lines of every series."""
        series = list(self.series.values())
        yield from render_counters(REQUESTS, (("{" + s.labels + "}", s.requests) for s in series))
        histograms = ((DURATION, "duration"), (REQUEST_BYTES, "request_bytes"), (RESPONSE_BYTES, "response_bytes"))
        for family, attr in histograms:
            yield from family.header()
            for s in series:
                hist: Histogram = getattr(s, attr)
                yield from hist.render(family.name, s.labels)


class IstioMetrics(Filter):
    """Records ``istio_requests_total`` and friends; ``reporter`` is ``source`` or ``destination``."""

    name = "metrics"

    def __init__(self, node: ProxyNode, reporter: str, store: RequestSeries) -> None:
        self.node = node
        self.reporter = reporter
        self.store = store
        self._cache: dict[tuple[object, ...], Series] = {}

    def on_complete(self, ex: Exchange) -> None:
        extra = ex.extra
        principal = extra.get(PEER_PRINCIPAL) if extra is not None else None
        key = (ex.endpoint, ex.cluster, ex.peer, ex.status, ex.response_flags, ex.authority, principal)
        series = self._cache.get(key)
        if series is None:
            values = self.label_values(ex)
            labels = ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(LABELS, values, strict=True))
            series = self.store.get(labels)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = series
        series.requests += 1
        series.duration.observe((ex.end_mono - ex.start_mono) * 1000.0)
        series.request_bytes.observe(ex.body.received)
        series.response_bytes.observe(ex.bytes_sent)

    def label_values(self, ex: Exchange) -> tuple[str, ...]:
        """Return the label values of ``ex`` in the order of ``LABELS``."""
        node = self.node
        me = (node.name, node.namespace, node.principal, node.app, node.version)
        if self.reporter == "source":
            source = me
            ep, cluster = ex.endpoint, ex.cluster
            if cluster is not None:
                service, svc_name, svc_ns = cluster.service, cluster.service_name, cluster.service_namespace
            else:
                service = ex.authority.decode("latin-1") or UNKNOWN
                svc_name, svc_ns = service, UNKNOWN
            if ep is not None:
                dest = (ep.workload, ep.namespace, ep.principal or UNKNOWN,
                        ep.labels.get("app", ep.workload), ep.labels.get("version", UNKNOWN))  # fmt: skip
            else:
                dest = (UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
            security = UNKNOWN
        else:
            peer = ex.peer
            # The principal comes only from a verified client certificate (tls/inbound.py).
            principal = ex.extra.get(PEER_PRINCIPAL) if ex.extra is not None else None
            source = (peer[0], peer[1], principal or UNKNOWN, peer[2], peer[3]) if peer else (UNKNOWN,) * 5
            if principal and not peer:
                source = (UNKNOWN, UNKNOWN, principal, UNKNOWN, UNKNOWN)
            dest = me
            service = service_fqdn(node.app, node.namespace)
            svc_name, svc_ns = node.app, node.namespace
            security = "mutual_tls" if principal else "none"
        return (
            self.reporter,
            source[0], source[1], source[2], source[3], source[4],
            dest[0], dest[1], dest[2],
            service, svc_name, svc_ns,
            dest[3], dest[4],
            "http", str(ex.status), "-", ex.response_flags, security,
        )  # fmt: skip

    def on_snapshot(self) -> None:
        """Forget cached label sets: after a swap, endpoints are new objects."""
        self._cache.clear()
