"""Typed views of the control API's JSON answers (msgspec.convert; unknown fields ignored)."""

from __future__ import annotations

from typing import Any

import msgspec

from tether.core.identity import ProxyNode


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    store: str
    revision: int
    time: float
    proxies: int = 0
    resources: int = 0


class StoredResource(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    namespace: str
    name: str
    body: dict[str, Any]
    revision: int

    @property
    def key(self) -> tuple[str, str, str]:
        """Return ``(kind, namespace, name)``."""
        return (self.kind, self.namespace, self.name)


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    namespace: str
    name: str
    qualified: str
    outcome: str
    apiVersion: str = ""


class FindingView(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    severity: str
    resource: tuple[str, str, str]
    path: str
    message: str
    fix: str

    def line(self) -> str:
        """Return ``Warning [TTH0101] (VirtualService default/x) message``."""
        kind, namespace, name = self.resource
        where = f"{kind} {namespace}/{name}"
        return f"{self.severity.capitalize()} [{self.code}] ({where}) {self.message}"


class ApplyResult(msgspec.Struct, frozen=True, kw_only=True):
    revision: int
    results: tuple[Outcome, ...]
    warnings: tuple[str, ...] = ()
    findings: tuple[FindingView, ...] = ()


class DeleteResult(msgspec.Struct, frozen=True, kw_only=True):
    revision: int
    results: tuple[Outcome, ...]


class AnalyzeResult(msgspec.Struct, frozen=True, kw_only=True):
    findings: tuple[FindingView, ...]
    warnings: tuple[str, ...] = ()


class NackView(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    at: float
    reason: str


class ProxyView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    node: ProxyNode
    address: str
    port: int
    registered_at: float
    connected: bool
    status: str
    desired_version: str = ""
    sent_version: str = ""
    sent_at: float | None = None
    acked_version: str = ""
    acked_at: float | None = None
    last_nack: NackView | None = None


class ProxyList(msgspec.Struct, frozen=True, kw_only=True):
    time: float
    proxies: tuple[ProxyView, ...]
