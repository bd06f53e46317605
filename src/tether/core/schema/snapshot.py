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

from tether.core.schema.security import AuthzConfig, RequestAuthnConfig
from tether.core.schema.tls import InboundTls


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
    # Auto mTLS: True when this mesh endpoint's PeerAuthentication is DISABLE (send plaintext).
    plaintext: bool = False


class ConsistentHash(Struct, frozen=True):
    """DestinationRule ``loadBalancer.consistentHash``: exactly one key source is set."""

    header: str | None = None
    cookie: str | None = None
    cookie_ttl_ms: int | None = None
    source_ip: bool = False
    query_param: str | None = None


class ConnectionPool(Struct, frozen=True):
    """DestinationRule ``connectionPool`` (None = Istio's effectively unlimited default)."""

    max_connections: int | None = None
    connect_timeout_ms: int = 10_000
    http1_max_pending_requests: int | None = None
    http2_max_requests: int | None = None
    max_requests_per_connection: int | None = None
    max_retries: int | None = None
    idle_timeout_ms: int | None = None


class OutlierDetection(Struct, frozen=True):
    """DestinationRule ``outlierDetection`` (``consecutiveErrors`` is translated to
    ``consecutive_5xx``). Defaults are Istio's."""

    consecutive_5xx: int | None = 5
    consecutive_gateway_errors: int | None = None
    interval_ms: int = 10_000
    base_ejection_time_ms: int = 30_000
    max_ejection_percent: float = 10.0
    min_health_percent: float = 0.0


class RetryBudget(Struct, frozen=True):
    """DestinationRule ``trafficPolicy.retryBudget``: retries allowed as a share of active requests."""

    percent: float = 20.0
    min_retry_concurrency: int = 3


class RateLimit(Struct, frozen=True):
    """A local token bucket: ``tokens_per_fill`` tokens every ``fill_interval_ms``, at most ``max_tokens``."""

    max_tokens: int
    tokens_per_fill: int
    fill_interval_ms: int = 1000


class Cluster(Struct, frozen=True):
    """A set of interchangeable endpoints: one service port, optionally one subset.

    ``name`` follows Envoy/Istio: ``outbound|<port>|<subset>|<fqdn>``. ``lb_policy`` is one of
    ``ROUND_ROBIN``, ``LEAST_REQUEST`` (Istio's default), ``RANDOM``; ``consistent_hash``
    overrides it when set.
    """

    name: str
    service: str
    port: int
    subset: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    lb_policy: str = "ROUND_ROBIN"
    consistent_hash: ConsistentHash | None = None
    connection_pool: ConnectionPool | None = None
    outlier_detection: OutlierDetection | None = None
    retry_budget: RetryBudget | None = None
    rate_limit: RateLimit | None = None
    # DestinationRule tls.mode: "" (auto mTLS), "ISTIO_MUTUAL" or "DISABLE" (schema/tls.py).
    tls_mode: str = ""


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


class HeaderOps(Struct, frozen=True):
    """Istio ``headers.request`` / ``headers.response``: set (replace), add (append), remove."""

    set: dict[str, str] = {}
    add: dict[str, str] = {}
    remove: tuple[str, ...] = ()


class WeightedCluster(Struct, frozen=True):
    cluster: str
    weight: int = 100
    request_headers: HeaderOps | None = None
    response_headers: HeaderOps | None = None


class RetryPolicy(Struct, frozen=True):
    """VirtualService ``retries``. ``retry_on`` holds Envoy's conditions (``5xx``,
    ``gateway-error``, ``reset``, ``connect-failure``, ``retriable-4xx``, ``refused-stream``,
    ``retriable-status-codes``); bare status codes from ``retryOn`` go to
    ``retriable_status_codes``. ``per_try_timeout_ms`` None = only the route timeout applies."""

    attempts: int = 2
    per_try_timeout_ms: int | None = None
    retry_on: tuple[str, ...] = (
        "connect-failure",
        "refused-stream",
        "unavailable",
        "cancelled",
        "retriable-status-codes",
    )
    retriable_status_codes: tuple[int, ...] = (503,)
    backoff_base_ms: int = 25
    backoff_max_ms: int = 250


class FaultPolicy(Struct, frozen=True):
    """VirtualService ``fault``: percentages are 0..100."""

    delay_ms: int | None = None
    delay_percent: float = 100.0
    abort_status: int | None = None
    abort_percent: float = 100.0


class MirrorPolicy(Struct, frozen=True):
    """One mirror target: a copy of ``percent`` % of requests goes to ``cluster``."""

    cluster: str
    percent: float = 100.0


class Redirect(Struct, frozen=True):
    """VirtualService ``redirect``: fields left None keep the request's value."""

    uri: str | None = None
    authority: str | None = None
    scheme: str | None = None
    port: int | None = None
    status: int = 301


class DirectResponse(Struct, frozen=True):
    status: int
    body: str = ""


class CorsPolicy(Struct, frozen=True):
    allow_origins: tuple[StringMatch, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_s: int | None = None
    allow_credentials: bool = False


class Route(Struct, frozen=True):
    """One entry of a VirtualService ``http[]`` list; the first route that matches wins.

    ``matches`` are OR-ed; an empty tuple matches everything. A route has either
    ``clusters``, or ``redirect``, or ``direct_response``.
    """

    name: str
    matches: tuple[RouteMatch, ...] = ()
    clusters: tuple[WeightedCluster, ...] = ()
    timeout_ms: int | None = None
    prefix_rewrite: str | None = None
    authority_rewrite: str | None = None
    source: str = ""
    retry: RetryPolicy | None = None
    fault: FaultPolicy | None = None
    mirrors: tuple[MirrorPolicy, ...] = ()
    redirect: Redirect | None = None
    direct_response: DirectResponse | None = None
    request_headers: HeaderOps | None = None
    response_headers: HeaderOps | None = None
    cors: CorsPolicy | None = None
    rate_limit: RateLimit | None = None


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
    # Inbound request security (docs/security.md); None: no policy selects this workload.
    authz: AuthzConfig | None = None
    request_authn: RequestAuthnConfig | None = None
    # mTLS (schema/tls.py): the roots to trust (PEM), and PeerAuthentication (None: PERMISSIVE).
    trust_bundle: tuple[str, ...] = ()
    inbound_tls: InboundTls | None = None


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
