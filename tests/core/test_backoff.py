from __future__ import annotations

import random

from tether.core.backoff import Backoff


def test_delays_grow_exponentially_with_full_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=0.1, cap=1.0, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(8)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.1
