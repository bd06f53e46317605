"""Counters that features keep in their own module, rendered for ``/stats/prometheus``.

A filter with a ``stats`` object exposes each of its integer attributes as the counter
``tether_<filter>_<attribute>_total{direction="outbound|inbound"}``; the stats class's
docstring is the HELP text. Nothing here knows any feature by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tether.proxy.chain import Filter
from tether.proxy.stats import Family, render_counters


def feature_counters(stacks: Mapping[str, Sequence[Filter]]) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """Return ``{family name: (help, [(labels, value)])}`` from every filter's ``stats``."""
    families: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    for direction, filters in stacks.items():
        for flt in filters:
            stats = getattr(flt, "stats", None)
            if stats is None or not hasattr(stats, "__dict__"):
                continue
            help_text = " ".join((type(stats).__doc__ or f"{flt.name} counters").split())
            for attr, value in vars(stats).items():
                if isinstance(value, int) and not isinstance(value, bool):
                    name = f"tether_{flt.name}_{attr}_total"
                    families.setdefault(name, (help_text, []))[1].append((f'{{direction="{direction}"}}', value))
    return families


def render_feature_stats(stacks: Mapping[str, Sequence[Filter]]) -> list[str]:
    """Return the Prometheus lines of every feature counter."""
    lines: list[str] = []
    for name, (help_text, samples) in sorted(feature_counters(stacks).items()):
        lines += render_counters(Family(name, "counter", help_text), samples)
    return lines
