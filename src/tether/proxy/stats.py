"""Hot-path counters as plain Python objects, rendered to Prometheus text on scrape.

Recording is an attribute increment and a ``bisect``; no locks (one event loop per
process), no per-sample objects. ``render`` builds the text format 0.0.4.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

# Istio's standard buckets: Envoy's default for durations (ms), powers of ten for bytes.
DURATION_BUCKETS: tuple[float, ...] = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip
BYTES_BUCKETS: tuple[float, ...] = (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000)


def escape_label(value: str) -> str:
    """Return ``value`` escaped for a Prometheus label value."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """Return ``{a="x",b="y"}`` for the given names and values."""
    inner = ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + inner + "}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Histogram:
    """Counts per bucket (not cumulative until rendered), a sum and a count."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Add one observation."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def render(self, name: str, labels: str) -> Iterable[str]:
        """Yield the ``_bucket``, ``_sum`` and ``_count`` lines; ``labels`` is ``a="x",...``."""
        sep = "," if labels else ""
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            running += n
            yield f'{name}_bucket{{{labels}{sep}le="{_num(bound)}"}} {running}'
        yield f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}'
        yield f"{name}_sum{{{labels}}} {_num(self.sum)}"
        yield f"{name}_count{{{labels}}} {self.count}"


class Family:
    """Metadata of one metric family for the HELP/TYPE lines."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.kind = kind
        self.help = help_text

    def header(self) -> list[str]:
        """Return the ``# HELP`` and ``# TYPE`` lines."""
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


def render_counters(family: Family, samples: Iterable[tuple[str, float]]) -> list[str]:
    """Return the lines of a counter or gauge family from ``(labels, value)`` pairs."""
    lines = family.header()
    lines.extend(f"{family.name}{labels} {_num(value)}" for labels, value in samples)
    return lines
