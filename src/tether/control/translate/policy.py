"""DestinationRule traffic policy → the cluster settings of one subset and port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from tether.control.model import destination_rule as dr
from tether.core.schema.snapshot import ConnectionPool, ConsistentHash, OutlierDetection, RetryBudget

DEFAULT_LB = "LEAST_REQUEST"  # Istio's default balancer
# LEAST_CONN is Istio's deprecated name of LEAST_REQUEST; there is no original destination to
# PASSTHROUGH to (every endpoint is known), so it balances like the default.
_LB = {"LEAST_CONN": "LEAST_REQUEST", "UNSPECIFIED": DEFAULT_LB, "PASSTHROUGH": DEFAULT_LB}


@dataclass(frozen=True)
class ClusterPolicy:
    """What a cluster carries from its DestinationRule (all None/default without one)."""

    lb_policy: str = DEFAULT_LB
    consistent_hash: ConsistentHash | None = None
    connection_pool: ConnectionPool | None = None
    outlier_detection: OutlierDetection | None = None
    retry_budget: RetryBudget | None = None


@dataclass
class _Parts:
    lb: dr.LoadBalancerSettings | None = None
    pool: dr.ConnectionPoolSettings | None = None
    od: dr.OutlierDetection | None = None

    def apply(self, lb: dr.LoadBalancerSettings | None, pool: dr.ConnectionPoolSettings | None,
              od: dr.OutlierDetection | None) -> None:
        self.lb = lb or self.lb
        self.pool = pool or self.pool
        self.od = od or self.od


def _apply_policy(parts: _Parts, tp: dr.TrafficPolicy | None, port: int) -> None:
    if tp is None:
        return
    parts.apply(tp.load_balancer, tp.connection_pool, tp.outlier_detection)
    for pl in tp.port_level_settings:
        if pl.port is not None and pl.port.number == port:
            parts.apply(pl.load_balancer, pl.connection_pool, pl.outlier_detection)


def _hash(lb: dr.LoadBalancerSettings | None) -> ConsistentHash | None:
    ch = lb.consistent_hash if lb is not None else None
    if ch is None:
        return None
    cookie = ch.http_cookie
    return ConsistentHash(
        header=ch.http_header_name.lower() if ch.http_header_name else None,
        cookie=cookie.name if cookie is not None else None,
        cookie_ttl_ms=cookie.ttl.ms if cookie is not None and cookie.ttl is not None else None,
        source_ip=bool(ch.use_source_ip),
        query_param=ch.http_query_parameter_name,
    )


def _limit(value: int | None) -> int | None:
    # Istio reads 0 (and unset) as "no limit of its own": Envoy's effectively unlimited default.
    return value if value is not None and value > 0 else None


def _pool(pool: dr.ConnectionPoolSettings | None) -> ConnectionPool | None:
    """Return the connection pool limits (0 = unset; a ``0s`` idle timeout = the default)."""
    if pool is None:
        return None
    tcp, http = pool.tcp, pool.http
    connect = tcp.connect_timeout if tcp is not None else None
    idle = http.idle_timeout if http is not None else None
    return ConnectionPool(
        max_connections=_limit(tcp.max_connections if tcp is not None else None),
        connect_timeout_ms=connect.ms if connect is not None and connect.ms > 0 else 10_000,
        http1_max_pending_requests=_limit(http.http1_max_pending_requests if http is not None else None),
        http2_max_requests=_limit(http.http2_max_requests if http is not None else None),
        max_requests_per_connection=_limit(http.max_requests_per_connection if http is not None else None),
        max_retries=_limit(http.max_retries if http is not None else None),
        idle_timeout_ms=idle.ms if idle is not None and idle.ms > 0 else None,
    )


def _outlier(od: dr.OutlierDetection | None) -> OutlierDetection | None:
    if od is None:
        return None
    # The deprecated consecutiveErrors (the book's listing) counts 5xx, as the book describes.
    five = od.consecutive_5xx_errors if od.consecutive_5xx_errors is not None else od.consecutive_errors
    fields: dict[str, Any] = {}  # only what is set: Istio's defaults are the schema's
    if five is not None:
        fields["consecutive_5xx"] = five or None
    if od.consecutive_gateway_errors:
        fields["consecutive_gateway_errors"] = od.consecutive_gateway_errors
    if od.interval is not None:
        fields["interval_ms"] = od.interval.ms
    if od.base_ejection_time is not None:
        fields["base_ejection_time_ms"] = od.base_ejection_time.ms
    if od.max_ejection_percent is not None:
        fields["max_ejection_percent"] = float(od.max_ejection_percent)
    if od.min_health_percent is not None:
        fields["min_health_percent"] = float(od.min_health_percent)
    return msgspec.convert(fields, OutlierDetection)


def _budget(*policies: dr.TrafficPolicy | None) -> RetryBudget | None:
    for tp in policies:
        rb = tp.retry_budget if tp is not None else None
        if rb is not None:
            return RetryBudget(
                percent=rb.percent if rb.percent is not None else 20.0,
                min_retry_concurrency=rb.min_retry_concurrency if rb.min_retry_concurrency is not None else 3,
            )
    return None


def cluster_policy(spec: dr.DestinationRuleSpec | None, subset: str, port: int) -> ClusterPolicy:
    """Return the settings in force for ``subset`` (``""``: none) on ``port``.

    As in Istio, each part (loadBalancer, connectionPool, outlierDetection) is taken whole from
    the most specific place that sets it: the subset's port-level settings, the subset's
    policy, the rule's port-level settings, the rule's policy.
    """
    if spec is None:
        return ClusterPolicy()
    subset_policy = next((s.traffic_policy for s in spec.subsets if s.name == subset), None) if subset else None
    parts = _Parts()
    _apply_policy(parts, spec.traffic_policy, port)
    _apply_policy(parts, subset_policy, port)
    simple = parts.lb.simple if parts.lb is not None else None
    return ClusterPolicy(
        lb_policy=_LB.get(simple, simple) if simple else DEFAULT_LB,
        consistent_hash=_hash(parts.lb),
        connection_pool=_pool(parts.pool),
        outlier_detection=_outlier(parts.od),
        retry_budget=_budget(subset_policy, spec.traffic_policy),
    )
