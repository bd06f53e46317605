"""A missing tool skips the test, and fails it under CI=true."""

from __future__ import annotations

import pytest

from tether.testing.needs import unavailable


def test_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^widget is not installed$"):
        unavailable("widget is not installed")


def test_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"widget is not installed \(required under CI=true\)"):
        unavailable("widget is not installed")
