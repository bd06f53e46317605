from __future__ import annotations

from tether.control.telemetry.windows import RollingWindows, Totals
from tether.dashboard.series import buckets, minus

from .support import aggregate, key

K = key("destination", "order", "shipping")


def test_minus_takes_the_subset_away() -> None:
    a, b = Totals(), Totals()
    a.add(aggregate(K, 5, failed=2))
    b.add(aggregate(K, 3))
    diff = minus(a, b)
    assert diff.codes == {"200": 2, "503": 2} and diff.flags == {"UO": 2}
    assert diff.requests == 4 and sum(diff.latency) == 4


def test_buckets_are_complete_slots_oldest_first() -> None:
    windows = RollingWindows(slot=10.0)
    windows.add(aggregate(K, 1), 1005.0)  # slot 100
    windows.add(aggregate(K, 2), 1015.0)  # slot 101
    windows.add(aggregate(K, 4), 1035.0)  # slot 103, the one filling now
    got = buckets(windows, 1036.0, 4)
    assert [sum(t.requests for t in b.values()) for b in got] == [0, 1, 2, 0]
    pairs = buckets(windows, 1036.0, 2, slots_per_bucket=2)
    assert [sum(t.requests for t in b.values()) for b in pairs] == [1, 2]
