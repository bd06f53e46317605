from __future__ import annotations

from tether.dashboard.html import ago, esc, page, sparkline, sparks, table, url


def test_page_shell_has_nav_window_picker_and_assets() -> None:
    html = page("Over <view>", "<p>body</p>", active="/traces", window="10m", here="/service/default/order")
    assert html.startswith("<!doctype html>") and "Over &lt;view&gt;" in html
    assert 'src="/static/dashboard.js"' in html and 'href="/static/dashboard.css"' in html
    assert '<a href="/traces?window=10m" class="active">' in html
    assert 'href="/service/default/order?window=1h"' in html


def test_table_and_helpers() -> None:
    assert "nothing here" in table(["a"], [], empty="nothing here")
    assert "<td>1</td><td>2</td>" in table(["a", "b"], [["1", "2"]])
    assert url("/tap", service="order", path=None) == "/tap?service=order"
    assert esc('"<&') == "&quot;&lt;&amp;"
    assert (ago(None, 10), ago(5, 10), ago(0, 600), ago(0, 36000)) == ("never", "5s ago", "10m ago", "10h ago")


def test_sparkline_draws_runs_and_gaps() -> None:
    assert "polyline" not in sparkline([None, None])
    svg = sparkline([1.0, None, 2.0, 3.0], label="rps")
    assert svg.count("<polyline") == 2 and "last 3" in svg
    point = {"rps": 1.0, "success_rate": 0.5, "latency_ms": {"p99": 10.0}}
    assert all("<polyline" in s for s in sparks([point, point]))


def test_flat_series_sit_at_the_top_unless_zero() -> None:
    assert 'points="0.0,2.0 10.0,2.0"' in sparkline([1.0, 1.0], width=10, height=26, floor=None)
    assert 'points="0.0,24.0 10.0,24.0"' in sparkline([0.0, 0.0], width=10, height=26)
