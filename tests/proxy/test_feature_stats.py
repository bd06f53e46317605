from __future__ import annotations

from tether.proxy.chain import Filter
from tether.proxy.feature_stats import render_feature_stats


class _Stats:
    """Widgets made and broken."""

    def __init__(self) -> None:
        self.made = 3
        self.broken = 1
        self.enabled = True  # not a counter


class _Feature(Filter):
    name = "widget"

    def __init__(self) -> None:
        self.stats = _Stats()


def test_each_integer_attribute_is_a_counter_per_direction() -> None:
    lines = render_feature_stats({"outbound": [_Feature(), Filter()], "inbound": [_Feature()]})
    assert "# HELP tether_widget_made_total Widgets made and broken." in lines
    assert "# TYPE tether_widget_made_total counter" in lines
    assert 'tether_widget_made_total{direction="outbound"} 3' in lines
    assert 'tether_widget_broken_total{direction="inbound"} 1' in lines
    assert not any("enabled" in line for line in lines)
    assert sum(line.startswith("# TYPE tether_widget_made_total") for line in lines) == 1
