"""PolicyCache: one compiled form per policy object, kept until cleared."""

from __future__ import annotations

from tether.proxy.filters.compiled import PolicyCache


class Policy:
    """A policy object; equal ones are still distinct objects."""


def test_compiles_once_per_object_until_cleared() -> None:
    made: list[Policy] = []

    def compile_(policy: Policy) -> tuple[Policy, int]:
        made.append(policy)
        return (policy, len(made))

    cache = PolicyCache(compile_)
    a, b = Policy(), Policy()
    assert cache(a) is cache(a) and cache(a)[1] == 1
    assert cache(b)[1] == 2 and len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache(a)[1] == 3
    assert made == [a, b, a]

