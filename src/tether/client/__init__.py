"""Typed client of the control API, shared by the CLI and the dashboard.

Names are loaded on first use, so importing a light submodule (``tether.client.settings``,
``tether.client.aio``) does not bring the blocking client into a sidecar.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.client.http import ApiError, ControlClient, ControlUnreachable
    from tether.client.settings import load_token

__all__ = ["ApiError", "ControlClient", "ControlUnreachable", "load_token"]
_HOMES = {"ApiError": "http", "ControlClient": "http", "ControlUnreachable": "http", "load_token": "settings"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"tether.client.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'tether.client' has no attribute {name!r}")
