"""Rate-limit annotations → token buckets."""

from __future__ import annotations

from tether.control.translate.ratelimit import bucket, cluster_rate_limit, route_rate_limit
from tether.core.schema.snapshot import RateLimit


def test_bucket_is_burst_tokens_refilled_by_the_rate_each_unit() -> None:
    assert bucket("100/s") == RateLimit(max_tokens=100, tokens_per_fill=100, fill_interval_ms=1000)
    assert bucket("600/m,burst=50") == RateLimit(max_tokens=50, tokens_per_fill=600, fill_interval_ms=60_000)
    assert bucket("2/h") == RateLimit(max_tokens=2, tokens_per_fill=2, fill_interval_ms=3_600_000)
    assert bucket(None) is None
    assert bucket("bogus") is None  # refused at parse time; never a half-read limit


def test_cluster_and_route_limits_come_from_their_keys() -> None:
    annotations = {"ratelimit.tether.dev/limit": "5/s", "ratelimit.tether.dev/route.r1": "1/m"}
    assert cluster_rate_limit(annotations) == RateLimit(max_tokens=5, tokens_per_fill=5)
    assert route_rate_limit(annotations, "r1") == RateLimit(max_tokens=1, tokens_per_fill=1, fill_interval_ms=60_000)
    assert route_rate_limit(annotations, "r2") is None
    assert cluster_rate_limit({}) is None
