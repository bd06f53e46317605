"""Rate-limit annotations (``ratelimit.tether.dev/...``) → the snapshot's token buckets.

A limit ``<n>/<unit>[,burst=<b>]`` is a bucket of ``b`` tokens (default ``n``) refilled with
``n`` tokens every unit. Values were checked when the resource was accepted
(``tether.control.model.annotations``); one that still does not parse is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping

from tether.control.model.annotations import LIMIT_KEY, parse_rate_limit, route_limits
from tether.core.schema.snapshot import RateLimit


def bucket(text: str | None) -> RateLimit | None:
    """Return the token bucket of a limit text, or None without one (or for a bad one)."""
    if text is None:
        return None
    try:
        v = parse_rate_limit(text)
    except ValueError:
        return None
    return RateLimit(max_tokens=v.burst, tokens_per_fill=v.requests, fill_interval_ms=v.per_ms)


def cluster_rate_limit(annotations: Mapping[str, str]) -> RateLimit | None:
    """Return the per-destination limit of a DestinationRule's annotations, if any."""
    return bucket(annotations.get(LIMIT_KEY))


def route_rate_limit(annotations: Mapping[str, str], route_name: str) -> RateLimit | None:
    """Return the limit a VirtualService's annotations give its route ``route_name``, if any."""
    return bucket(route_limits(annotations).get(route_name))
