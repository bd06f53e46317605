"""The push's shared shapes: empty edge counts have one latency bucket per bound, plus overflow."""

from __future__ import annotations

from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, EdgeCounts


def test_edge_counts_start_empty_in_the_aggregate_layout() -> None:
    counts = EdgeCounts()
    assert (counts.codes, counts.flags, counts.latency_sum, counts.request_bytes, counts.response_bytes) == (
        {}, {}, 0.0, 0, 0)
    assert counts.latency == [0] * (len(LATENCY_BUCKETS_MS) + 1)
    assert not hasattr(counts, "__dict__")  # slots only: one per edge, many edges
