from __future__ import annotations

import pytest

from tether.core.clock import Clock
from tether.testing.clock import FakeClock


def test_time_moves_only_when_told() -> None:
    clock: Clock = FakeClock(start=10.0, wall_start=1_000.0)
    assert (clock.monotonic(), clock.wall()) == (10.0, 1_000.0)
    assert isinstance(clock, FakeClock)
    clock.advance(2.5)
    assert (clock.monotonic(), clock.wall()) == (12.5, 1_002.5)
    clock.set(20.0)
    assert clock.monotonic() == 20.0


def test_time_never_goes_back() -> None:
    clock = FakeClock(start=5.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(4.0)
