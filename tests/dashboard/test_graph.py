from __future__ import annotations

from tether.client.telemetry import EdgeRow, Latency, StatRow
from tether.dashboard.graph import Edge, Graph, Node, build_graph, fmt_ms, fmt_rate, health, layers, render_svg


def edge(src: str, dst: str, requests: int = 10, sr: float | None = 1.0) -> EdgeRow:
    return EdgeRow(source=src, source_namespace="default", destination=dst, destination_namespace="default",
                   client_id="unknown", server_id="unknown", requests=requests, success_rate=sr, rps=requests / 60,
                   latency_ms=Latency(p50=1.0, p95=2.0, p99=3.0))


def test_health_thresholds() -> None:
    assert [health(x) for x in (None, 1.0, 0.99, 0.97, 0.5)] == ["idle", "ok", "ok", "warn", "bad"]
    assert (fmt_rate(None), fmt_rate(1.0), fmt_rate(0.625)) == ("-", "100%", "62.5%")
    assert (fmt_ms(None), fmt_ms(1.25), fmt_ms(42.4), fmt_ms(2500)) == ("-", "1.2ms", "42ms", "2.5s")


def test_build_adds_nodes_seen_only_in_edges() -> None:
    stats = [StatRow(namespace="default", name="order", requests=10, success_rate=0.9)]
    graph = build_graph(stats, [edge("ingressgateway", "order"), edge("unknown", "order", sr=0.5)],
                        {"default/ingressgateway"})
    kinds = {n.id: (n.kind, n.health) for n in graph.nodes}
    assert kinds == {"default/order": ("workload", "bad"), "default/ingressgateway": ("gateway", "idle"),
                     "default/unknown": ("external", "idle")}
    assert [(e.source, e.target, e.health, e.mtls) for e in graph.edges] == [
        ("default/ingressgateway", "default/order", "ok", False), ("default/unknown", "default/order", "bad", False)]


def test_layers_put_callers_left_and_survive_cycles() -> None:
    nodes = tuple(Node(id=i, name=i, namespace="default") for i in "abc")
    chain = Graph(nodes=nodes, edges=(
        Edge(source="a", target="b", requests=1, rps=1, success_rate=1, p99=1),
        Edge(source="b", target="c", requests=1, rps=1, success_rate=1, p99=1),
        Edge(source="c", target="a", requests=1, rps=1, success_rate=1, p99=1),
        Edge(source="b", target="b", requests=1, rps=1, success_rate=1, p99=1),
    ))
    col = layers(chain)
    assert col["b"] > col["a"] or col["a"] == 2
    assert max(col.values()) <= 2
    svg = render_svg(chain)
    assert svg.count("data-edge=") == 4 and svg.count("data-node=") == 3


def test_svg_escapes_names_and_links_to_service_pages() -> None:
    stats = [StatRow(namespace="default", name="<x>", requests=1, success_rate=1.0)]
    svg = render_svg(build_graph(stats, []), window="10m")
    assert "<x>" not in svg and "&lt;x&gt;" in svg
    assert 'href="/service/default/%3Cx%3E?window=10m"' in svg
    assert "No workloads" in render_svg(Graph(nodes=(), edges=()))
    locked = Graph(nodes=(Node(id="a", name="a", namespace="d"), Node(id="b", name="b", namespace="d")),
                   edges=(Edge(source="a", target="b", requests=1, rps=1, success_rate=1, p99=1, mtls=True),))
    assert 'data-mtls="true"' in render_svg(locked) and 'class="lock closed"' in render_svg(locked)
