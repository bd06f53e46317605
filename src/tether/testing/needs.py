"""What a test needs from the machine. Without it the test is skipped, except under
``CI=true``: there every tool must be installed, and a missing one fails the test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(problem: str) -> NoReturn:
    """Skip the running test because of ``problem``; under CI=true fail it instead.

    Raises pytest's skip (or fail) outcome; never returns.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (required under CI=true)")
    pytest.skip(problem)
