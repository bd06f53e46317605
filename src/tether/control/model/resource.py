"""A parsed resource, and the errors and warnings parsing reports.

Every message names where it comes from the same way:
``retry.yaml doc 1 VirtualService/order-retry: spec.http[0].retries.attempts: expected integer, got "many"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from tether.core.errors import TetherError


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted resource document.

    ``spec`` is the typed spec Struct of the kind (for SMI kinds whose older versions put the
    fields at the top level, the normalised spec of the newest shape); ``raw`` is the
    mapping the user wrote.
    """

    api_version: str
    kind: str
    name: str
    namespace: str = "default"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    spec: msgspec.Struct
    raw: dict[str, Any] = {}

    @property
    def key(self) -> tuple[str, str, str]:
        """Return ``(kind, namespace, name)``, the identity of the resource in a store."""
        return (self.kind, self.namespace, self.name)

    @property
    def group(self) -> str:
        """Return the API group, e.g. ``networking.istio.io``."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        """Return the API version, e.g. ``v1``."""
        return self.api_version.rpartition("/")[2]


def _location(source: str, doc: int, kind: str, name: str, path: str) -> str:
    where = source
    if doc:
        where += f" doc {doc}"
    if kind or name:
        where += f" {kind or '?'}/{name or '?'}"
    if path:
        where += f": {path}"
    return where


class ResourceError(TetherError):
    """One thing wrong with one document. ``doc`` is 1-based (0: not about one document)."""

    def __init__(
        self, source: str, doc: int, kind: str, name: str, path: str, message: str
    ) -> None:
        self.source = source
        self.doc = doc
        self.kind = kind
        self.name = name
        self.path = path
        self.message = message
        super().__init__(f"{_location(source, doc, kind, name, path)}: {message}")


@dataclass(frozen=True)
class ParseWarning:
    """Something accepted that the user should change (a deprecated field, a duplicate...)."""

    source: str
    doc: int
    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{_location(self.source, self.doc, self.kind, self.name, self.path)}: {self.message}"


class ResourceErrors(TetherError):
    """Every error found in an input; nothing of it may take effect. ``str()`` is one per line."""

    def __init__(
        self, errors: tuple[ResourceError, ...], warnings: tuple[ParseWarning, ...] = ()
    ) -> None:
        self.errors = errors
        self.warnings = warnings
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class ParseResult:
    """Accepted resources in input order, and the warnings about them."""

    resources: tuple[Resource, ...]
    warnings: tuple[ParseWarning, ...] = ()
