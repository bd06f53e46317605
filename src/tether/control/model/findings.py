"""Collecting semantic findings with the field path they are about."""

from __future__ import annotations

import re

from tether.control.model.values import Duration, Percent

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class Findings:
    """Errors and warnings of one document, each as ``(path, message)`` relative to the spec."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append((path, message))

    def range(self, path: str, value: float | None, low: float, high: float | None = None) -> None:
        """Record an error unless ``value`` is unset or within ``[low, high]``."""
        if value is None:
            return
        if value < low or (high is not None and value > high):
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            self.error(path, f"must be {bound}, got {value:g}")

    def percent(self, path: str, value: Percent | None) -> None:
        if value is not None:
            self.range(f"{path}.value", value.value, 0, 100)

    def duration(self, path: str, value: Duration | None, minimum_ms: int = 0) -> None:
        if value is not None and value.ms < minimum_ms:
            self.error(path, f"must be at least {minimum_ms}ms, got \"{value.text}\"")

    def regex(self, path: str, pattern: str | None) -> None:
        if pattern is None:
            return
        try:
            re.compile(pattern)
        except re.error as exc:
            self.error(path, f"invalid regular expression: {exc}")

    def port(self, path: str, value: int | None) -> None:
        self.range(path, value, 1, 65535)

    def export_to(self, path: str, values: tuple[str, ...]) -> None:
        for i, ns in enumerate(values):
            if ns not in (".", "*") and not is_dns_label(ns):
                self.error(f"{path}[{i}]", f'expected ".", "*" or a namespace name, got "{ns}"')


def is_dns_label(value: str) -> bool:
    """Return whether ``value`` is a DNS-1123 label (a valid namespace name)."""
    return len(value) <= 63 and _DNS_LABEL.fullmatch(value) is not None


def is_dns_subdomain(value: str) -> bool:
    """Return whether ``value`` is a DNS-1123 subdomain (a valid resource name)."""
    return len(value) <= 253 and _DNS_SUBDOMAIN.fullmatch(value) is not None
