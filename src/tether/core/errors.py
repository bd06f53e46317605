"""Errors shared across the proxy and the control plane."""

from __future__ import annotations


class TetherError(Exception):
    """Base of every error Tether raises on purpose."""


class ConfigRejected(TetherError):
    """A snapshot or a config file cannot be used; the proxy keeps the last good one.

    ``reason`` is one line a human can act on; it travels back to the control plane in a NACK.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UsageError(TetherError):
    """The user asked for something that cannot work (exit status 1 at the CLI)."""
