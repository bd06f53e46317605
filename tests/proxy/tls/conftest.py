"""Tests of the inbound gate run on both event loops (the proxy runs uvloop; tests default to asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Return both loops for test_inbound.py, asyncio's alone elsewhere."""
    if item.path.name == "test_inbound.py":
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
