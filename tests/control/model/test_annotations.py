"""Rate-limit annotations: the value's grammar, where each key belongs, and parse-time errors."""

from __future__ import annotations

import pytest

from tether.control.model import ResourceErrors, parse_documents
from tether.control.model.annotations import (
    RateLimitValue,
    check_annotations,
    parse_rate_limit,
    route_limits,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("100/s", RateLimitValue(100, 1000, 100)),
    ("600/m,burst=50", RateLimitValue(600, 60_000, 50)),
    (" 10 / h , burst = 20 ", RateLimitValue(10, 3_600_000, 20)),
])
def test_parse_rate_limit(text: str, expected: RateLimitValue) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["", "100", "100/d", "-1/s", "0/s", "10/s,burst=0", "10/s,bust=3",
                                  "1.5/s", "10/s,burst=", "2000000000/s"])
def test_parse_rate_limit_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate_limit(text)


def test_check_annotations_by_kind() -> None:
    assert check_annotations("DestinationRule", {"ratelimit.tether.dev/limit": "5/s", "other": "x"}) == []
    assert check_annotations("VirtualService", {"ratelimit.tether.dev/route.r1": "5/m,burst=1"}) == []
    [(path, message)] = check_annotations("VirtualService", {"ratelimit.tether.dev/limit": "5/s"})
    assert path == 'metadata.annotations["ratelimit.tether.dev/limit"]' and "DestinationRule" in message
    [(path, message)] = check_annotations("DestinationRule", {"ratelimit.tether.dev/route.x": "5/s"})
    assert "VirtualService" in message
    [(path, message)] = check_annotations("DestinationRule", {"ratelimit.tether.dev/limits": "5/s"})
    assert "unknown annotation" in message
    [(path, message)] = check_annotations("DestinationRule", {"ratelimit.tether.dev/limit": "lots"})
    assert '"lots"' in message and "100/s" in message


def test_route_limits() -> None:
    assert route_limits({"ratelimit.tether.dev/route.a.b": "1/s", "ratelimit.tether.dev/limit": "2/s",
                         "ratelimit.tether.dev/route.": "3/s"}) == {"a.b": "1/s"}


def test_bad_annotation_is_refused_at_parse_time_with_its_path() -> None:
    text = ("apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
            "metadata: {name: order, annotations: {ratelimit.tether.dev/limit: 'ten per second'}}\n"
            "spec: {host: order}\n")
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, "rl.yaml")
    assert str(info.value).startswith(
        'rl.yaml doc 1 DestinationRule/order: metadata.annotations["ratelimit.tether.dev/limit"]: expected')
    good = text.replace("ten per second", "10/s,burst=20")
    (r,) = parse_documents(good, "rl.yaml").resources
    assert r.annotations == {"ratelimit.tether.dev/limit": "10/s,burst=20"}
