from __future__ import annotations

from pathlib import Path

from tether.dashboard import pages
from tether.dashboard.data import DashboardData
from tether.testing.clock import FakeClock

from .support import plane


def test_overview_shows_graph_table_and_mesh(tmp_path: Path) -> None:
    html = pages.overview(DashboardData(plane(tmp_path, FakeClock())), "10m")
    assert 'data-node="default/order"' in html and 'data-edge="default/shipping->default/order"' in html
    assert 'data-service="order"' in html and "Golden metrics per workload (last 10m)" in html
    assert 'id="graph" class="card wide" data-live' in html
    assert "0 proxies" in html and "0 analyze findings" in html


def test_service_page_has_metrics_routes_edges_tap_and_traces(tmp_path: Path) -> None:
    html = pages.service(DashboardData(plane(tmp_path, FakeClock())), "default", "order", "1m")
    assert "<h1>order.default</h1>" in html
    assert 'data-metric="success"' in html and "100%" in html
    assert "order.0" in html and "[DEFAULT]" in html  # the routes
    assert 'href="/service/default/shipping?window=1m"' in html  # a caller
    assert '<span title="cluster.local/ns/default/sa/shipping">…/sa/shipping</span>' in html
    assert '<span class="sr ok">yes</span>' in html  # its calls arrived with a verified certificate
    assert 'data-tap="/v1/telemetry/tap"' in html and 'name="service" value="order"' in html
    assert "trace-link" in html


def test_unknown_workload_and_tap_page() -> None:
    html = pages.tap("order", "/feed", "5xx", "")
    assert 'value="/feed"' in html and 'value="5xx"' in html and '<input name="service" value="order"' in html


def test_service_page_without_data(tmp_path: Path) -> None:
    html = pages.service(DashboardData(plane(tmp_path, FakeClock())), "default", "nobody", "1m")
    assert "No requests to this workload" in html
