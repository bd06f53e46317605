"""Istio ``DestinationRule`` (networking.istio.io v1alpha3/v1beta1/v1)."""

from __future__ import annotations

from typing import Literal

import msgspec

from tether.control.model.values import Duration, Struct
from tether.control.model.virtual_service import PortSelector

LbSimple = Literal["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"]
TlsMode = Literal["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]


class HTTPCookie(Struct, frozen=True):
    name: str
    path: str | None = None
    ttl: Duration | None = None


class RingHash(Struct, frozen=True):
    minimum_ring_size: int | None = None


class Maglev(Struct, frozen=True):
    table_size: int | None = None


class ConsistentHashLB(Struct, frozen=True):
    http_header_name: str | None = None
    http_cookie: HTTPCookie | None = None
    use_source_ip: bool | None = None
    http_query_parameter_name: str | None = None
    ring_hash: RingHash | None = None
    maglev: Maglev | None = None
    minimum_ring_size: int | None = None  # deprecated in Istio


class LocalityDistribute(Struct, frozen=True):
    from_: str | None = msgspec.field(default=None, name="from")
    to: dict[str, int] = {}


class LocalityFailover(Struct, frozen=True):
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None


class LocalityLbSetting(Struct, frozen=True):
    distribute: tuple[LocalityDistribute, ...] = ()
    failover: tuple[LocalityFailover, ...] = ()
    failover_priority: tuple[str, ...] = ()
    enabled: bool | None = None


class LoadBalancerSettings(Struct, frozen=True):
    simple: LbSimple | None = None
    consistent_hash: ConsistentHashLB | None = None
    locality_lb_setting: LocalityLbSetting | None = None
    warmup_duration_secs: Duration | None = None


class TcpKeepalive(Struct, frozen=True):
    probes: int | None = None
    time: Duration | None = None
    interval: Duration | None = None


class TCPSettings(Struct, frozen=True):
    max_connections: int | None = None
    connect_timeout: Duration | None = None
    tcp_keepalive: TcpKeepalive | None = None
    max_connection_duration: Duration | None = None
    idle_timeout: Duration | None = None


class HTTPSettings(Struct, frozen=True):
    http1_max_pending_requests: int | None = None
    http2_max_requests: int | None = None
    max_requests_per_connection: int | None = None
    max_retries: int | None = None
    idle_timeout: Duration | None = None
    h2_upgrade_policy: Literal["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"] | None = None
    use_client_protocol: bool | None = None
    max_concurrent_streams: int | None = None


class ConnectionPoolSettings(Struct, frozen=True):
    tcp: TCPSettings | None = None
    http: HTTPSettings | None = None


class OutlierDetection(Struct, frozen=True):
    split_external_local_origin_errors: bool | None = None
    consecutive_local_origin_failures: int | None = None
    consecutive_gateway_errors: int | None = None
    consecutive_5xx_errors: int | None = msgspec.field(default=None, name="consecutive5xxErrors")
    consecutive_errors: int | None = None  # deprecated in Istio, still accepted
    interval: Duration | None = None
    base_ejection_time: Duration | None = None
    max_ejection_percent: int | None = None
    min_health_percent: int | None = None


class ClientTLSSettings(Struct, frozen=True):
    mode: TlsMode | None = None
    client_certificate: str | None = None
    private_key: str | None = None
    ca_certificates: str | None = None
    credential_name: str | None = None
    subject_alt_names: tuple[str, ...] = ()
    sni: str | None = None
    insecure_skip_verify: bool | None = None
    ca_crl: str | None = None


class RetryBudget(Struct, frozen=True):
    percent: float | None = None
    min_retry_concurrency: int | None = None


class PortTrafficPolicy(Struct, frozen=True):
    port: PortSelector | None = None
    load_balancer: LoadBalancerSettings | None = None
    connection_pool: ConnectionPoolSettings | None = None
    outlier_detection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None


class TrafficPolicy(Struct, frozen=True):
    load_balancer: LoadBalancerSettings | None = None
    connection_pool: ConnectionPoolSettings | None = None
    outlier_detection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None
    port_level_settings: tuple[PortTrafficPolicy, ...] = ()
    retry_budget: RetryBudget | None = None


class Subset(Struct, frozen=True):
    name: str
    labels: dict[str, str] = {}
    traffic_policy: TrafficPolicy | None = None


class WorkloadSelector(Struct, frozen=True):
    match_labels: dict[str, str] = {}


class DestinationRuleSpec(Struct, frozen=True):
    """``spec`` of a DestinationRule."""

    host: str
    traffic_policy: TrafficPolicy | None = None
    subsets: tuple[Subset, ...] = ()
    export_to: tuple[str, ...] = ()
    workload_selector: WorkloadSelector | None = None
