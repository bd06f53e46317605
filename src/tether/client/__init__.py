"""Typed client of the control API, shared by the CLI and the dashboard."""

from tether.client.http import ApiError, ControlClient, ControlUnreachable, load_token

__all__ = ["ApiError", "ControlClient", "ControlUnreachable", "load_token"]
