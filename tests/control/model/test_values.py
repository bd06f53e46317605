"""Durations and quantities as users write them."""

from __future__ import annotations

import pytest

from tether.control.model.values import Duration, parse_quantity


@pytest.mark.parametrize(
    ("text", "ms"),
    [("5s", 5000), ("100ms", 100), ("1m", 60_000), ("1h", 3_600_000), ("1.5s", 1500),
     ("1h30m", 5_400_000), ("0s", 0), ("0", 0), ("250us", 1), (".5s", 500), ("2000000ns", 2)],
)
def test_duration_parse(text: str, ms: int) -> None:
    d = Duration.parse(text)
    assert d.ms == ms and d.text == text


@pytest.mark.parametrize("text", ["", "5", "5 s", "s", "-1s", "1d", "1.2.3s"])
def test_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        Duration.parse(text)


def test_duration_is_immutable_and_compares_by_value() -> None:
    d = Duration.parse("1m")
    assert d == Duration(60_000) and hash(d) == hash(Duration(60_000)) and d != 60_000
    with pytest.raises(AttributeError):
        setattr(d, "ms", 1)  # noqa: B010 - proving the runtime guard


@pytest.mark.parametrize(
    ("value", "number"), [("500m", 0.5), ("1", 1.0), (2, 2.0), ("1500m", 1.5), ("1k", 1000.0), (0.25, 0.25)]
)
def test_quantity(value: object, number: float) -> None:
    assert parse_quantity(value) == pytest.approx(number)


@pytest.mark.parametrize("value", ["ten", True, None, "5x", [1]])
def test_quantity_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="expected a quantity"):
        parse_quantity(value)
