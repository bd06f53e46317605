"""Load balancers: pure choice of an endpoint from a list."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class Balancer(Protocol):
    def pick(self, endpoints: Sequence[T]) -> T: ...


class RoundRobin:
    """Each endpoint in turn."""

    def __init__(self) -> None:
        self.next = 0

    def pick(self, endpoints: Sequence[T]) -> T:
        """Return the next endpoint in turn."""
        index = self.next % len(endpoints)
        self.next = index + 1
        return endpoints[index]


class RandomChoice:
    """A uniformly random endpoint."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()

    def pick(self, endpoints: Sequence[T]) -> T:
        """Return a random endpoint."""
        return endpoints[self.rng.randrange(len(endpoints))]


def make_balancer(policy: str, rng: random.Random | None = None) -> Balancer:
    """Return a balancer for an Istio ``loadBalancer.simple`` value (unknown → round robin)."""
    if policy == "RANDOM":
        return RandomChoice(rng)
    return RoundRobin()
