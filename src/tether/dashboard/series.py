"""Per-interval history of the rolling windows, for the dashboard's sparklines.

The telemetry store answers "totals over the last N seconds". A sparkline wants one
value per interval, so each interval is the difference of two such answers. Only
complete slots are used: the slot still filling would always look like a dip.
"""

from __future__ import annotations

from tether.control.telemetry.windows import RollingWindows, Totals
from tether.proxy.telemetry.wire import EdgeKey

Buckets = list[dict[EdgeKey, Totals]]


def minus(a: Totals, b: Totals) -> Totals:
    """Return ``a - b`` for totals where ``b`` counts a subset of what ``a`` counts."""
    out = Totals()
    out.codes = {k: n - b.codes.get(k, 0) for k, n in a.codes.items() if n - b.codes.get(k, 0)}
    out.flags = {k: n - b.flags.get(k, 0) for k, n in a.flags.items() if n - b.flags.get(k, 0)}
    out.latency = [x - y for x, y in zip(a.latency, b.latency, strict=True)]
    out.latency_sum = a.latency_sum - b.latency_sum
    out.request_bytes = a.request_bytes - b.request_bytes
    out.response_bytes = a.response_bytes - b.response_bytes
    return out


def buckets(windows: RollingWindows, now: float, count: int, slots_per_bucket: int = 1) -> Buckets:
    """Return ``count`` buckets of per-edge totals, oldest first, each ``slots_per_bucket`` slots.

    The newest bucket ends where the slot that holds ``now`` begins. Edges without
    requests in a bucket are left out of it.
    """
    step = windows.slot * slots_per_bucket
    # query(w) covers the slot of ``now`` plus the slots that start within w before it.
    cumulative = [windows.query(windows.slot + i * step, now) for i in range(count + 1)]
    out: Buckets = []
    for i in range(count, 0, -1):
        wider, narrower = cumulative[i], cumulative[i - 1]
        bucket: dict[EdgeKey, Totals] = {}
        for key, totals in wider.items():
            inner = narrower.get(key)
            diff = totals if inner is None else minus(totals, inner)
            if diff.requests:
                bucket[key] = diff
        out.append(bucket)
    return out
