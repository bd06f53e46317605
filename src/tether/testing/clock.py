"""A clock for tests: time moves only when the test says so."""

from __future__ import annotations


class FakeClock:
    """Implements ``tether.core.clock.Clock`` on virtual time.

    ``monotonic`` starts at ``start`` and ``wall`` at ``wall_start``; both move together,
    and only through ``advance`` or ``set``.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self._mono = start
        self._offset = wall_start - start

    def monotonic(self) -> float:
        """Return the current virtual monotonic time in seconds."""
        return self._mono

    def wall(self) -> float:
        """Return the current virtual wall time in seconds since the epoch."""
        return self._mono + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``; raises ValueError if negative."""
        if seconds < 0:
            raise ValueError(f"time cannot go back (advance by {seconds})")
        self._mono += seconds

    def set(self, monotonic: float) -> None:
        """Move the monotonic time to ``monotonic``; raises ValueError if that is in the past."""
        self.advance(monotonic - self._mono)
