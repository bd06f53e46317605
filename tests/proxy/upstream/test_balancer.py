"""Load balancers: round robin, random, least request (P2C) and the consistent-hash ring."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import pytest

from tether.core.schema.snapshot import ConsistentHash
from tether.proxy.codec.http1 import Headers
from tether.proxy.upstream.balancer import (
    LeastRequest,
    RandomChoice,
    RingHash,
    RoundRobin,
    cookie_value,
    hash64,
    hash_key,
    make_balancer,
)


@dataclass
class Host:
    host: str
    active_requests: int = 0


HOSTS = [Host(f"10.0.0.{i}:80") for i in range(4)]


def test_round_robin_takes_each_in_turn() -> None:
    rr = RoundRobin()
    assert [rr.pick(HOSTS, None).host for _ in range(5)] == [h.host for h in [*HOSTS, HOSTS[0]]]


def test_random_is_uniform_with_a_fixed_seed() -> None:
    rc = RandomChoice(random.Random(7))
    counts = Counter(rc.pick(HOSTS, None).host for _ in range(4000))
    assert all(900 <= n <= 1100 for n in counts.values()), counts


def test_least_request_prefers_the_idle_endpoint() -> None:
    hosts = [Host("a", 10), Host("b", 0), Host("c", 10)]
    lr = LeastRequest(random.Random(3))
    picks = Counter(lr.pick(hosts, None).host for _ in range(3000))
    # "b" wins every draw it is part of: 2 of the 3 possible pairs.
    assert 1800 <= picks["b"] <= 2200, picks


def test_least_request_draws_two_distinct_endpoints() -> None:
    hosts = [Host("busy", 5), Host("idle", 0)]
    lr = LeastRequest(random.Random(1))
    assert {lr.pick(hosts, None).host for _ in range(50)} == {"idle"}
    assert lr.pick([Host("only", 9)], None).host == "only"


def test_ring_hash_is_sticky_and_spreads_keys() -> None:
    ring = RingHash(random.Random(1))
    owners = {key: ring.pick(HOSTS, hash64(key.encode())).host for key in (f"user-{i}" for i in range(400))}
    again = RingHash(random.Random(99))
    assert all(again.pick(HOSTS, hash64(k.encode())).host == v for k, v in owners.items())
    counts = Counter(owners.values())
    assert len(counts) == 4 and min(counts.values()) >= 50, counts


def test_ring_hash_keeps_most_keys_when_a_host_leaves() -> None:
    ring = RingHash(random.Random(1))
    keys = [hash64(f"k{i}".encode()) for i in range(1000)]
    before = {k: ring.pick(HOSTS, k).host for k in keys}
    after = {k: ring.pick(HOSTS[:3], k).host for k in keys}
    stayed = [k for k in keys if before[k] != HOSTS[3].host]
    moved = [k for k in stayed if before[k] != after[k]]
    # The leaving host's keys must move; of the others only those the extra virtual nodes of
    # the remaining hosts take over (about a quarter of them at most).
    assert all(after[k] != HOSTS[3].host for k in keys)
    assert len(moved) < 0.25 * len(stayed), len(moved)


def test_ring_hash_without_a_key_picks_at_random() -> None:
    ring = RingHash(random.Random(5))
    assert len({ring.pick(HOSTS, None).host for _ in range(100)}) == 4


@pytest.mark.parametrize(("spec", "headers", "query", "ip", "same_as"), [
    (ConsistentHash(header="x-user"), [(b"x-user", b"alice")], b"", "1.1.1.1", b"alice"),
    (ConsistentHash(cookie="session"), [(b"cookie", b"a=1; session=s1")], b"", "1.1.1.1", b"s1"),
    (ConsistentHash(source_ip=True), [], b"", "10.1.2.3", b"10.1.2.3"),
    (ConsistentHash(query_param="u"), [], b"x=1&u=bob", "1.1.1.1", b"bob"),
])
def test_hash_key_sources(spec: ConsistentHash, headers: list[tuple[bytes, bytes]], query: bytes, ip: str,
                          same_as: bytes) -> None:
    assert hash_key(spec, Headers(headers), query, ip) == hash64(same_as)


def test_hash_key_absent() -> None:
    assert hash_key(ConsistentHash(header="x-user"), Headers(), b"", "1.1.1.1") is None
    assert hash_key(ConsistentHash(cookie="s"), Headers([(b"cookie", b"other=1")]), b"", "") is None
    assert hash_key(ConsistentHash(query_param="u"), Headers(), b"v=1", "") is None
    assert cookie_value(Headers([(b"cookie", b"s=1"), (b"cookie", b"t=2")]), "t") == "2"


def test_make_balancer() -> None:
    rng = random.Random(1)
    assert isinstance(make_balancer("LEAST_REQUEST", rng), LeastRequest)
    assert isinstance(make_balancer("RANDOM", rng), RandomChoice)
    assert isinstance(make_balancer("ROUND_ROBIN", rng), RoundRobin)
    assert isinstance(make_balancer("PASSTHROUGH", rng), RoundRobin)
    assert isinstance(make_balancer("ROUND_ROBIN", rng, ConsistentHash(header="h")), RingHash)
