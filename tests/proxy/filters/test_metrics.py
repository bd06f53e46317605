from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.proxy.filters.metrics import LABELS, IstioMetrics, RequestSeries
from tether.testing.factories import make_exchange


def test_destination_reporter_uses_peer_and_own_identity() -> None:
    store = RequestSeries()
    metrics = IstioMetrics(ProxyNode(name="order", labels={"version": "v2"}), "destination", store)
    ex = make_exchange(direction="inbound")
    ex.peer = ("shipping", "default", "shipping", "v1")
    ex.status = 503
    ex.add_flag("UF")
    ex.end_mono = ex.start_mono + 0.012
    ex.bytes_sent = 120
    metrics.on_complete(ex)
    metrics.on_complete(ex)
    values = dict(zip(LABELS, metrics.label_values(ex), strict=True))
    assert values["source_workload"] == "shipping"
    assert values["destination_workload"] == "order"
    assert values["destination_version"] == "v2"
    assert values["destination_service"] == "order.default.svc.cluster.local"
    assert values["response_code"] == "503" and values["response_flags"] == "UF"
    text = "\n".join(store.render())
    assert text.count("# TYPE istio_requests_total counter") == 1
    assert 'response_flags="UF"' in text
    series = next(iter(store.series.values()))
    assert series.requests == 2
    assert series.response_bytes.sum == 240
    assert series.duration.count == 2


def test_source_reporter_without_route_reports_authority_and_unknowns() -> None:
    metrics = IstioMetrics(ProxyNode(name="client"), "source", RequestSeries())
    ex = make_exchange()
    ex.authority = b"nowhere"
    ex.status = 404
    values = dict(zip(LABELS, metrics.label_values(ex), strict=True))
    assert values["destination_service"] == "nowhere"
    assert values["destination_workload"] == "unknown"
    assert values["source_workload"] == "client"
    assert values["source_principal"] == "cluster.local/ns/default/sa/client"
