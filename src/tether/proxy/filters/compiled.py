"""The compiled forms of a snapshot's policy objects, made once per object.

Filters that turn a policy of the running snapshot (a CORS policy, header ops, a retry
policy) into a faster form keep it here. Entries are keyed by the policy object's
identity, and hold the object, so that no other object can take its id meanwhile; the
filter calls ``clear()`` in ``on_snapshot``, when the old snapshot's objects go away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

P = TypeVar("P")
C = TypeVar("C")


class PolicyCache(Generic[P, C]):
    """``cache(policy)`` returns ``compile(policy)``, made on first use and kept until ``clear()``."""

    __slots__ = ("_compile", "_entries")

    def __init__(self, compile: Callable[[P], C]) -> None:
        self._compile = compile
        self._entries: dict[int, tuple[P, C]] = {}

    def __call__(self, policy: P) -> C:
        """Return ``policy`` compiled (raises what ``compile`` raises)."""
        cached = self._entries.get(id(policy))
        if cached is not None and cached[0] is policy:
            return cached[1]
        result = self._compile(policy)
        self._entries[id(policy)] = (policy, result)
        return result

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every compiled policy."""
        self._entries.clear()
