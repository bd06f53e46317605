"""Tether's own annotations on Istio resources: local rate limits (``ratelimit.tether.dev/...``).

Istio has no first-class local rate limit, so Tether reads one from annotations:

- ``ratelimit.tether.dev/limit: "<n>/<s|m|h>[,burst=<b>]"`` on a DestinationRule limits every
  cluster of its host (enforced by each calling sidecar);
- ``ratelimit.tether.dev/route.<route name>: "..."`` on a VirtualService limits that route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "ratelimit.tether.dev/"
LIMIT_KEY = "ratelimit.tether.dev/limit"
ROUTE_KEY_PREFIX = "ratelimit.tether.dev/route."

_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}
_VALUE = re.compile(r"\s*(\d+)\s*/\s*([smh])\s*(?:,\s*burst\s*=\s*(\d+)\s*)?")
_MAX = 1_000_000_000
_EXAMPLE = 'expected "<n>/<s|m|h>[,burst=<b>]" such as "100/s" or "600/m,burst=50"'


@dataclass(frozen=True)
class RateLimitValue:
    """A parsed limit: ``requests`` per ``per_ms`` milliseconds, bursts up to ``burst``."""

    requests: int
    per_ms: int
    burst: int


def parse_rate_limit(text: str) -> RateLimitValue:
    """Return the limit ``text`` names (burst defaults to the rate).

    Raises ``ValueError`` with a message naming the expected form when ``text`` is not one,
    or when the rate or burst is 0 or absurdly large.
    """
    m = _VALUE.fullmatch(text)
    if m is None:
        raise ValueError(f'{_EXAMPLE}, got "{text}"')
    requests = int(m.group(1))
    burst = int(m.group(3)) if m.group(3) is not None else requests
    for name, value in (("rate", requests), ("burst", burst)):
        if not 1 <= value <= _MAX:
            raise ValueError(f'{name} must be between 1 and {_MAX:,}, got {value} in "{text}"')
    return RateLimitValue(requests=requests, per_ms=_UNIT_MS[m.group(2)], burst=burst)


def route_limits(annotations: Mapping[str, str]) -> dict[str, str]:
    """Return ``{route name: limit text}`` of the ``ratelimit.tether.dev/route.<name>`` annotations."""
    return {k[len(ROUTE_KEY_PREFIX):]: v for k, v in annotations.items()
            if k.startswith(ROUTE_KEY_PREFIX) and len(k) > len(ROUTE_KEY_PREFIX)}


def check_annotations(kind: str, annotations: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return ``(path, message)`` for every bad ``ratelimit.tether.dev/`` annotation of a ``kind``.

    Paths look like ``metadata.annotations["ratelimit.tether.dev/limit"]``.
    """
    out: list[tuple[str, str]] = []
    for key in sorted(annotations):
        if not key.startswith(PREFIX):
            continue
        path = f'metadata.annotations["{key}"]'
        if key == LIMIT_KEY:
            if kind != "DestinationRule":
                out.append((path, "a destination's limit goes on its DestinationRule; on a "
                                  f"{kind} use {ROUTE_KEY_PREFIX}<route name>"))
                continue
        elif key.startswith(ROUTE_KEY_PREFIX) and len(key) > len(ROUTE_KEY_PREFIX):
            if kind != "VirtualService":
                out.append((path, f"route limits go on a VirtualService; on a {kind} use {LIMIT_KEY}"))
                continue
        else:
            out.append((path, f"unknown annotation; Tether reads {LIMIT_KEY} (DestinationRule) "
                              f"and {ROUTE_KEY_PREFIX}<route name> (VirtualService)"))
            continue
        try:
            parse_rate_limit(annotations[key])
        except ValueError as exc:
            out.append((path, str(exc)))
    return out
