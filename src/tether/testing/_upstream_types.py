"""Records the scriptable upstream shares between its server, connections and tests."""

from __future__ import annotations

import msgspec

from tether.testing.rawhttp import HeaderLookup


class ReceivedRequest(msgspec.Struct, HeaderLookup, frozen=True):
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


class Plan(msgspec.Struct, frozen=True):
    """How the script wants a request answered; the path decides the rest."""

    delay: float = 0.0
    reset: bool = False
    fail_status: int | None = None
