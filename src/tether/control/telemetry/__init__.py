"""Telemetry in the control plane: rolling metric windows, a span store, tap fan-out.

Importing this package registers the ``/v1/telemetry/...`` routes of the control API.
"""

from tether.control.telemetry import api as _api  # registers the routes
from tether.control.telemetry.store import TelemetryStore

__all__ = ["TelemetryStore"]

del _api
