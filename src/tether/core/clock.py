"""Injected time: production code asks a Clock, tests hand it a fake one."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of time. ``monotonic`` for durations, ``wall`` for timestamps."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Return seconds from an arbitrary fixed point (never goes back)."""
        return time.monotonic()

    def wall(self) -> float:
        """Return seconds since the epoch."""
        return time.time()


SYSTEM_CLOCK = SystemClock()
