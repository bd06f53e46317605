from __future__ import annotations

from tether.proxy.stats import DURATION_BUCKETS, Histogram, escape_label, label_text


def test_histogram_renders_cumulative_buckets_sum_and_count() -> None:
    hist = Histogram((1, 10))
    for value in (0.5, 1, 5, 50):
        hist.observe(value)
    lines = list(hist.render("m", 'a="b"'))
    assert lines == [
        'm_bucket{a="b",le="1"} 2',
        'm_bucket{a="b",le="10"} 3',
        'm_bucket{a="b",le="+Inf"} 4',
        'm_sum{a="b"} 56.5',
        'm_count{a="b"} 4',
    ]


def test_istio_duration_buckets_start_at_half_a_millisecond() -> None:
    assert DURATION_BUCKETS[0] == 0.5 and DURATION_BUCKETS[-1] == 3600000


def test_label_escaping() -> None:
    assert escape_label('a"b\\c\n') == 'a\\"b\\\\c\\n'
    assert label_text(["x"], ['"']) == '{x="\\""}'
