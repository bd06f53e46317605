from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Cluster, Endpoint
from tether.core.tasks import TaskGroup
from tether.proxy.exchange import Exchange
from tether.proxy.telemetry.record import build_span, edge_key, is_sampled, summarize, url_of
from tether.proxy.upstream.cluster import build_cluster
from tether.proxy.upstream.pool import PoolManager
from tether.testing.factories import make_exchange

ORDER = ProxyNode(name="order", service_account="order-sa")
SHIPPING = ProxyNode(name="shipping", labels={"app": "shipping", "version": "v2"})


def routed(ex: Exchange) -> Exchange:
    spec = Cluster(
        name="outbound|80||shipping.default.svc.cluster.local",
        service="shipping.default.svc.cluster.local",
        port=80,
        endpoints=(Endpoint(address="127.0.0.1", port=9000, workload="shipping", namespace="default",
                            principal="cluster.local/ns/default/sa/shipping"),),
    )
    cluster = build_cluster(spec, PoolManager(TaskGroup("test")).pool)
    ex.cluster = cluster
    ex.endpoint = cluster.endpoints[0]
    return ex


def traced(ex: Exchange, sampled: bytes = b"1", parent: bytes | None = b"00f067aa0ba902b7") -> Exchange:
    ex.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    ex.span_id = "b7ad6b7169203331"
    ex.request_id = b"rid-1"
    ex.headers.put(b"x-b3-sampled", sampled)
    if parent is not None:
        ex.headers.put(b"x-b3-parentspanid", parent)
    return ex


def test_source_edge_names_both_sides_and_the_route() -> None:
    ex = routed(make_exchange())
    key = edge_key(ex, ORDER, "source")
    assert (key.reporter, key.source_workload, key.source_principal) == (
        "source", "order", "cluster.local/ns/default/sa/order-sa")
    assert (key.destination_workload, key.destination_principal) == (
        "shipping", "cluster.local/ns/default/sa/shipping")
    assert key.destination_service == "shipping.default.svc.cluster.local"
    assert key.route == ""


def test_source_edge_without_cluster_uses_the_authority() -> None:
    ex = make_exchange()
    ex.authority = b"nowhere"
    key = edge_key(ex, ORDER, "source")
    assert key.destination_service == "nowhere"
    assert key.destination_workload == key.destination_principal == "unknown"


def test_destination_edge_uses_the_peer_and_itself() -> None:
    ex = make_exchange(direction="inbound")
    ex.peer = ("order", "shop", "order", "v1")
    key = edge_key(ex, SHIPPING, "destination")
    assert (key.source_workload, key.source_namespace, key.source_principal) == ("order", "shop", "unknown")
    assert key.destination_workload == "shipping"
    assert key.destination_principal == "cluster.local/ns/default/sa/shipping"
    assert key.destination_service == "shipping.default.svc.cluster.local"
    ex.extra = {"peer_principal": "cluster.local/ns/shop/sa/order"}
    assert edge_key(ex, SHIPPING, "destination").source_principal == "cluster.local/ns/shop/sa/order"
    anonymous = edge_key(make_exchange(direction="inbound"), SHIPPING, "destination")
    assert anonymous.source_workload == "unknown"


def test_sampling_follows_the_hop_decision() -> None:
    assert is_sampled(traced(make_exchange()))
    assert not is_sampled(traced(make_exchange(), sampled=b"0"))
    assert not is_sampled(make_exchange())  # no trace context at all


def test_client_span_carries_http_attributes_and_parent() -> None:
    ex = traced(routed(make_exchange(target=b"/orders/7?x=1", headers=[(b"host", b"shipping"),
                                                                       (b"user-agent", b"curl")])))
    ex.authority = b"shipping"
    ex.status = 503
    ex.add_flag("UF")
    ex.end_mono = ex.start_mono + 0.25
    ex.bytes_sent = 10
    ex.extra = {"retry_attempts": 2}
    span = build_span(ex, ORDER, "source", edge_key(ex, ORDER, "source"))
    assert span.kind == "client"
    assert span.name == "GET /orders/7"
    assert span.parent_id == "00f067aa0ba902b7"
    assert (span.trace_id, span.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "b7ad6b7169203331")
    assert span.start_ns == 1_700_000_000_250_000_000
    assert span.end_ns - span.start_ns == 250_000_000
    assert span.service == "order.default"
    assert span.error
    attrs = span.attributes
    assert attrs["http.method"] == "GET"
    assert attrs["http.url"] == "http://shipping/orders/7?x=1"
    assert attrs["http.status_code"] == 503
    assert attrs["peer.service"] == "shipping.default.svc.cluster.local"
    assert attrs["response_flags"] == "UF"
    assert attrs["retry.attempt"] == 2
    assert attrs["upstream.address"] == "127.0.0.1:9000"
    assert attrs["user_agent"] == "curl"
    assert attrs["guid:x-request-id"] == "rid-1"


def test_server_span_without_parent_is_a_root() -> None:
    ex = traced(make_exchange(direction="inbound"), parent=None)
    ex.peer = ("order", "default", "order", "v1")
    ex.status = 200
    span = build_span(ex, SHIPPING, "destination", edge_key(ex, SHIPPING, "destination"))
    assert span.kind == "server" and span.parent_id == "" and not span.error
    assert span.attributes["peer.service"] == "order.default"
    assert span.attributes["retry.attempt"] == 0


def test_url_of_absolute_form_is_kept() -> None:
    ex = make_exchange(target=b"http://shipping.default/x")
    assert url_of(ex) == "http://shipping.default/x"


def test_summary_is_one_line_of_facts() -> None:
    ex = traced(routed(make_exchange(target=b"/a")))
    ex.status = 200
    ex.end_mono = ex.start_mono + 0.0015
    s = summarize(ex, "source", edge_key(ex, ORDER, "source"))
    assert (s.method, s.path, s.status, s.flags) == ("GET", "/a", 200, "-")
    assert s.authority == "upstream"
    assert s.duration_ms == 1.5
    assert (s.source_workload, s.destination_workload) == ("order", "shipping")
    assert s.request_id == "rid-1" and s.trace_id == ex.trace_id
