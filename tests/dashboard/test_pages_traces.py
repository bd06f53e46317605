from __future__ import annotations

from pathlib import Path

from tether.dashboard.data import DashboardData
from tether.dashboard.pages_traces import depths, missing_trace, traces, waterfall
from tether.testing.clock import FakeClock

from .support import TRACE, plane, span


def test_depths_follow_parents_and_tolerate_loops() -> None:
    spans = [span("a", "", "x", "client", 0, 1), span("b", "a", "x", "server", 0, 1),
             span("c", "b", "x", "client", 0, 1), span("d", "missing", "x", "client", 0, 1),
             span("e", "f", "x", "client", 0, 1), span("f", "e", "x", "client", 0, 1)]
    assert depths(spans) == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 1, "f": 1}


def test_waterfall_places_bars_on_one_axis(tmp_path: Path) -> None:
    trace = DashboardData(plane(tmp_path, FakeClock())).trace(TRACE)
    assert trace is not None
    html = waterfall(trace)
    assert html.count('class="span-row') == 2 and 'span-row error"' in html
    assert "left:0.00%;width:100.00%" in html and "left:12.50%;width:75.00%" in html
    assert "http://order/feed?&lt;x&gt;" in html  # attributes, escaped
    assert "8.00 ms" in html and "6.00 ms" in html


def test_trace_list_and_missing_trace(tmp_path: Path) -> None:
    data = DashboardData(plane(tmp_path, FakeClock()))
    html = traces(data.traces(), "order")
    assert f'href="/traces/{TRACE}"' in html and 'value="order"' in html
    assert "not in the store" in missing_trace("ab" * 16)
