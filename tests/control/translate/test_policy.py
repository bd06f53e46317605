"""DestinationRule traffic policy → cluster settings."""

from __future__ import annotations

from tether.control.model import parse_documents
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.translate.policy import cluster_policy
from tether.core.schema.snapshot import ConnectionPool, ConsistentHash, OutlierDetection, RetryBudget

DR = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: r
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 250ms}
      http: {http1MaxPendingRequests: 5, maxRetries: 2, idleTimeout: 30s}
    outlierDetection: {consecutive5xxErrors: 0, consecutiveGatewayErrors: 3}
    retryBudget: {percent: 25}
    portLevelSettings:
    - port: {number: 9080}
      connectionPool: {tcp: {maxConnections: 1}}
  subsets:
  - name: sticky
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 10s}}}
      outlierDetection: {interval: 1s}
"""


def spec() -> DestinationRuleSpec:
    (r,) = parse_documents(DR, "dr.yaml").resources
    assert isinstance(r.spec, DestinationRuleSpec)
    return r.spec


def test_rule_level_policy() -> None:
    p = cluster_policy(spec(), "", 80)
    assert p.connection_pool == ConnectionPool(max_connections=10, connect_timeout_ms=250,
                                               http1_max_pending_requests=5, max_retries=2,
                                               idle_timeout_ms=30_000)
    assert p.outlier_detection == OutlierDetection(consecutive_5xx=None, consecutive_gateway_errors=3)
    assert p.retry_budget == RetryBudget(percent=25.0, min_retry_concurrency=3)
    assert p.lb_policy == "LEAST_REQUEST" and p.consistent_hash is None


def test_port_level_and_subset_override_whole_parts() -> None:
    port = cluster_policy(spec(), "", 9080)
    assert port.connection_pool == ConnectionPool(max_connections=1)
    sticky = cluster_policy(spec(), "sticky", 80)
    assert sticky.consistent_hash == ConsistentHash(cookie="user", cookie_ttl_ms=10_000)
    assert sticky.outlier_detection == OutlierDetection(interval_ms=1000)
    assert sticky.connection_pool is not None and sticky.connection_pool.max_connections == 10


def _policy(traffic_policy: str) -> DestinationRuleSpec:
    text = f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r}}\n" \
           f"spec: {{host: r, trafficPolicy: {traffic_policy}}}\n"
    (r,) = parse_documents(text, "dr.yaml").resources
    assert isinstance(r.spec, DestinationRuleSpec)
    return r.spec


def test_zero_limits_mean_unset_as_in_istio() -> None:
    p = cluster_policy(_policy(
        "{connectionPool: {tcp: {maxConnections: 0}, http: {http2MaxRequests: 0, "
        "maxRequestsPerConnection: 0, maxRetries: 0, idleTimeout: 0s, http1MaxPendingRequests: 0}}}"), "", 80)
    assert p.connection_pool == ConnectionPool()
    one = cluster_policy(_policy("{connectionPool: {http: {maxRequestsPerConnection: 1, http2MaxRequests: 7}}}"),
                         "", 80)
    assert one.connection_pool == ConnectionPool(max_requests_per_connection=1, http2_max_requests=7)


def test_outlier_defaults_and_the_deprecated_alias() -> None:
    assert cluster_policy(_policy("{outlierDetection: {}}"), "", 80).outlier_detection == OutlierDetection()
    old = cluster_policy(_policy("{outlierDetection: {consecutiveErrors: 1, interval: 1m, baseEjectionTime: 10m, "
                                 "maxEjectionPercent: 100, minHealthPercent: 50}}"), "", 80)
    assert old.outlier_detection == OutlierDetection(consecutive_5xx=1, interval_ms=60_000,
                                                     base_ejection_time_ms=600_000, max_ejection_percent=100.0,
                                                     min_health_percent=50.0)
    both = cluster_policy(_policy("{outlierDetection: {consecutiveErrors: 1, consecutive5xxErrors: 4}}"), "", 80)
    assert both.outlier_detection is not None and both.outlier_detection.consecutive_5xx == 4
    assert cluster_policy(_policy("{loadBalancer: {simple: ROUND_ROBIN}}"), "", 80).outlier_detection is None


def test_load_balancer_names_and_hash_keys() -> None:
    for simple, expected in (("LEAST_CONN", "LEAST_REQUEST"), ("UNSPECIFIED", "LEAST_REQUEST"),
                             ("PASSTHROUGH", "LEAST_REQUEST"), ("RANDOM", "RANDOM"), ("ROUND_ROBIN", "ROUND_ROBIN")):
        assert cluster_policy(_policy(f"{{loadBalancer: {{simple: {simple}}}}}"), "", 80).lb_policy == expected
    for hash_spec, expected_hash in (
        ("{httpHeaderName: X-User}", ConsistentHash(header="x-user")),
        ("{useSourceIp: true}", ConsistentHash(source_ip=True)),
        ("{httpQueryParameterName: user}", ConsistentHash(query_param="user")),
        ("{httpCookie: {name: session}}", ConsistentHash(cookie="session")),
    ):
        p = cluster_policy(_policy(f"{{loadBalancer: {{consistentHash: {hash_spec}}}}}"), "", 80)
        assert p.consistent_hash == expected_hash and p.lb_policy == "LEAST_REQUEST"
    budget = cluster_policy(_policy("{retryBudget: {}}"), "", 80).retry_budget
    assert budget == RetryBudget(percent=20.0, min_retry_concurrency=3)
