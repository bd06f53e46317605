"""Records the scriptable upstream shares between its server, connections and tests."""

from __future__ import annotations

import msgspec


class ReceivedRequest(msgspec.Struct, frozen=True):
    """What the upstream received. ``body`` is None when it was longer than 1 MiB."""

    method: str
    target: str
    path: str
    query: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    trailers: tuple[tuple[str, str], ...]
    body: bytes | None
    body_length: int
    body_sha256: str
    connection_id: int

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (any case), or None."""
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        """Return every value of header ``name`` (any case), in order."""
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]


class Plan(msgspec.Struct, frozen=True):
    """How the script wants a request answered; the path decides the rest."""

    delay: float = 0.0
    reset: bool = False
    fail_status: int | None = None
