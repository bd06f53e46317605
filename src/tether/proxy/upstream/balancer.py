"""Load balancers: pure choice of one endpoint from the endpoints that may serve.

Istio's ``loadBalancer.simple`` values map to ``RoundRobin``, ``LeastRequest`` (power of two
choices on active requests, Istio's default) and ``RandomChoice``; ``consistentHash`` maps to
``RingHash``, whose key comes from ``hash_key`` (a header, a cookie, the source IP or a query
parameter). Every balancer takes the request's hash key; only the ring uses it.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Sequence
from typing import Protocol, TypeVar
from urllib.parse import parse_qsl

from tether.core.schema.snapshot import ConsistentHash
from tether.proxy.codec.http1 import Headers

MIN_RING_SIZE = 1024  # Envoy's default minimum_ring_size


class Member(Protocol):
    """What a balancer reads of an endpoint."""

    @property
    def host(self) -> str: ...

    @property
    def active_requests(self) -> int: ...


E = TypeVar("E", bound=Member)


class Balancer(Protocol):
    def pick(self, endpoints: Sequence[E], key: int | None) -> E: ...


class RoundRobin:
    """Each endpoint in turn."""

    def __init__(self) -> None:
        self.next = 0

    def pick(self, endpoints: Sequence[E], key: int | None) -> E:
        """Return the next endpoint in turn (``endpoints`` must not be empty)."""
        index = self.next % len(endpoints)
        self.next = index + 1
        return endpoints[index]


class RandomChoice:
    """A uniformly random endpoint."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, endpoints: Sequence[E], key: int | None) -> E:
        """Return a random endpoint (``endpoints`` must not be empty)."""
        return endpoints[self.rng.randrange(len(endpoints))]


class LeastRequest:
    """Power of two choices: of two distinct random endpoints, the one with fewer active requests."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, endpoints: Sequence[E], key: int | None) -> E:
        """Return the less loaded of two random endpoints (ties go to the first drawn)."""
        n = len(endpoints)
        if n == 1:
            return endpoints[0]
        randrange = self.rng.randrange
        i = randrange(n)
        j = randrange(n - 1)
        if j >= i:
            j += 1
        a, b = endpoints[i], endpoints[j]
        return b if b.active_requests < a.active_requests else a


def hash64(data: bytes) -> int:
    """Return a stable 64-bit hash of ``data`` (the same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class RingHash:
    """Consistent hashing on a ring of virtual nodes; rebuilt when the endpoint list changes.

    A request without a key (the header or cookie is absent) goes to a random endpoint, as
    in Envoy.
    """

    def __init__(self, rng: random.Random, min_ring_size: int = MIN_RING_SIZE) -> None:
        self.rng = rng
        self.min_ring_size = min_ring_size
        self._of: Sequence[Member] | None = None
        self._points: list[int] = []
        self._owners: list[int] = []

    def _build(self, endpoints: Sequence[Member]) -> None:
        per_host = -(-self.min_ring_size // len(endpoints))
        ring = sorted(
            (hash64(f"{e.host}_{i}".encode()), index) for index, e in enumerate(endpoints) for i in range(per_host)
        )
        self._points = [p for p, _ in ring]
        self._owners = [o for _, o in ring]
        self._of = endpoints

    def pick(self, endpoints: Sequence[E], key: int | None) -> E:
        """Return the endpoint owning ``key`` on the ring (random when ``key`` is None)."""
        if key is None or len(endpoints) == 1:
            return endpoints[self.rng.randrange(len(endpoints))]
        if self._of is not endpoints:
            self._build(endpoints)
        index = bisect.bisect_left(self._points, key)
        if index == len(self._points):
            index = 0
        return endpoints[self._owners[index]]


def cookie_value(headers: Headers, name: str) -> str | None:
    """Return the value of cookie ``name`` in the request's Cookie headers, or None."""
    for raw in headers.get_all(b"cookie"):
        for part in raw.decode("latin-1").split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value
    return None


def hash_key(spec: ConsistentHash, headers: Headers, query: bytes, source_ip: str) -> int | None:
    """Return the hash of the request's key under ``spec``, or None when the request has none."""
    if spec.header is not None:
        value = headers.get(spec.header.lower().encode())
        return hash64(value) if value is not None else None
    if spec.cookie is not None:
        found = cookie_value(headers, spec.cookie)
        return hash64(found.encode()) if found is not None else None
    if spec.source_ip:
        return hash64(source_ip.encode()) if source_ip else None
    if spec.query_param is not None:
        for name, param in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name == spec.query_param:
                return hash64(param.encode())
    return None


def make_balancer(policy: str, rng: random.Random, consistent_hash: ConsistentHash | None = None) -> Balancer:
    """Return the balancer for ``policy`` (``ROUND_ROBIN``, ``LEAST_REQUEST``, ``RANDOM``; unknown →
    round robin); a ``consistent_hash`` overrides the policy."""
    if consistent_hash is not None:
        return RingHash(rng)
    if policy == "LEAST_REQUEST":
        return LeastRequest(rng)
    if policy == "RANDOM":
        return RandomChoice(rng)
    return RoundRobin()
