"""The control↔proxy contract: one immutable, versioned snapshot per proxy.

A snapshot is everything a proxy needs to route: virtual hosts (names a service is
reached by, and its ordered routes) and clusters (endpoints and how to reach them).
The control plane builds it with ``translate(world, proxy)``; static mode builds it
from a YAML file through the same function. The proxy swaps whole snapshots
atomically and never mutates one. Later features add optional fields with defaults,
so an older snapshot still decodes.
"""

from __future__ import annotations

import hashlib

import msgspec


class Struct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Base of every snapshot type: frozen, keyword-only, compact on the wire."""


class Endpoint(Struct, frozen=True):
    """One instance of a service: where to connect and what it is."""

    address: str
    port: int
    labels: dict[str, str] = {}
    workload: str = ""
    namespace: str = "default"
    principal: str = ""


class Cluster(Struct, frozen=True):
    """A set of interchangeable endpoints: one service port, optionally one subset.

    ``name`` follows Envoy/Istio: ``outbound|<port>|<subset>|<fqdn>``.
    """

    name: str
    service: str
    port: int
    subset: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    lb_policy: str = "ROUND_ROBIN"


class StringMatch(Struct, frozen=True):
    """Istio's StringMatch: exactly one of the three is set."""

    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None


class HeaderMatch(Struct, frozen=True):
    name: str
    match: StringMatch | None = None
    present: bool = True


class RouteMatch(Struct, frozen=True):
    """All set conditions must hold (AND). An empty match matches every request."""

    uri: StringMatch | None = None
    method: StringMatch | None = None
    authority: StringMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query_params: dict[str, StringMatch] = {}
    port: int | None = None
    source_labels: dict[str, str] = {}


class WeightedCluster(Struct, frozen=True):
    cluster: str
    weight: int = 100


class Route(Struct, frozen=True):
    """One entry of a VirtualService ``http[]`` list; the first route that matches wins.

    ``matches`` are OR-ed; an empty tuple matches everything.
    """

    name: str
    matches: tuple[RouteMatch, ...] = ()
    clusters: tuple[WeightedCluster, ...] = ()
    timeout_ms: int | None = None
    prefix_rewrite: str | None = None
    authority_rewrite: str | None = None
    source: str = ""


class VirtualHost(Struct, frozen=True):
    """The routes of one service port, and every name it answers to (``order``, ``order:80``...)."""

    name: str
    domains: tuple[str, ...]
    port: int
    routes: tuple[Route, ...] = ()


class Snapshot(Struct, frozen=True):
    """Everything a proxy runs. ``version`` is a content hash: unchanged content, same version."""

    version: str = ""
    virtual_hosts: tuple[VirtualHost, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    gateway_hosts: tuple[VirtualHost, ...] = ()


_encoder = msgspec.json.Encoder(order="deterministic")


def content_version(snapshot: Snapshot) -> str:
    """Return the hex content hash of ``snapshot`` ignoring its ``version`` field."""
    body = _encoder.encode(msgspec.structs.replace(snapshot, version=""))
    return hashlib.sha256(body).hexdigest()[:16]


def with_version(snapshot: Snapshot) -> Snapshot:
    """Return ``snapshot`` with ``version`` set to its content hash."""
    return msgspec.structs.replace(snapshot, version=content_version(snapshot))


def encode(snapshot: Snapshot) -> bytes:
    """Return the JSON bytes of ``snapshot`` (deterministic key order)."""
    return _encoder.encode(snapshot)


def decode(data: bytes | str) -> Snapshot:
    """Return the snapshot in ``data``; raises ``msgspec.ValidationError`` naming the bad path."""
    return msgspec.json.decode(data, type=Snapshot)
