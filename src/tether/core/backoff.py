"""Exponential backoff with full jitter, randomness injected."""

from __future__ import annotations

import random


class Backoff:
    """Yields delays ``base * 2**n`` capped at ``cap``, each drawn uniformly from [0, delay]."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        """Return the next delay in seconds and advance."""
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        """Start again from ``base`` (after a success)."""
        self.attempt = 0
