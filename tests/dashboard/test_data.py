from __future__ import annotations

from pathlib import Path

from tether.control.telemetry.views import metrics
from tether.control.telemetry.windows import Totals
from tether.dashboard.data import DashboardData, window_name
from tether.proxy.telemetry.wire import EdgeKey
from tether.testing.clock import FakeClock

from .support import TRACE, aggregate, plane, push


def test_rows_graph_and_traces_come_from_the_plane(tmp_path: Path) -> None:
    data = DashboardData(plane(tmp_path, FakeClock()))
    stat = {r.name: r for r in data.stat("1m")}
    assert stat["order"].requests == 27 and stat["order"].reporter == "destination"
    assert stat["shipping"].requests == 0  # a caller only
    routes = data.routes("order.default", "1m")
    assert {r.route for r in routes} == {"order.0", "[DEFAULT]"}
    graph = data.graph("1m")
    assert {n.id: n.kind for n in graph.nodes}["default/ingressgateway"] == "gateway"
    assert {(e.source, e.target) for e in graph.edges} == {
        ("default/ingressgateway", "default/order"), ("default/shipping", "default/order")}
    (summary,) = data.traces()
    assert summary.trace_id == TRACE and summary.errors == 1
    trace = data.trace(TRACE)
    assert trace is not None and [s.kind for s in trace.span_list] == ["client", "server"]
    assert data.trace("0" * 32) is None
    assert data.last_push("default", "order") is not None and data.last_push("default", "nobody") is None
    assert data.resources() == [] and data.findings() == [] and data.revision() == 0


def test_history_shows_each_complete_slot(tmp_path: Path) -> None:
    clock = FakeClock(wall_start=1_700_000_000.0)  # a slot boundary
    cp = plane(tmp_path, clock)
    data = DashboardData(cp)
    assert "default/order" not in {f"{ns}/{n}" for ns, n in data.history("1m")}  # still in the open slot
    clock.advance(10.0)
    history = data.history("1m")
    points = history[("default", "order")]
    assert len(points) == 30 and points[-1]["requests"] == 27 and points[0] == metrics(Totals(), 10.0)
    assert points[-1]["rps"] == 2.7
    route = data.route_history("order", "1m")
    assert route["order.0"][-1]["requests"] == 18
    assert len(data.history("1h")[("default", "order")]) == 60


def test_window_names_default_to_one_minute() -> None:
    assert [window_name(w) for w in ("1m", "10m", "1h", "2d", None)] == ["1m", "10m", "1h", "1m", "1m"]


def test_mtls_edges_are_those_the_callee_saw_a_certificate_for(tmp_path: Path) -> None:
    cp = plane(tmp_path, FakeClock())
    cp.telemetry.ingest(push("order", aggregate(EdgeKey("destination", "home", "default", "unknown", "order",
                                                        "default", "x", "order.default.svc.cluster.local", ""), 3)))
    data = DashboardData(cp)
    assert data.mtls_edges("1m") == {"default/ingressgateway->default/order", "default/shipping->default/order"}
    locks = {(e.source, e.mtls) for e in data.graph("1m").edges}
    assert ("default/home", False) in locks and ("default/shipping", True) in locks
