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
    assert p.lb_policy == "ROUND_ROBIN" and p.consistent_hash is None


def test_port_level_and_subset_override_whole_parts() -> None:
    port = cluster_policy(spec(), "", 9080)
    assert port.connection_pool == ConnectionPool(max_connections=1)
    sticky = cluster_policy(spec(), "sticky", 80)
    assert sticky.consistent_hash == ConsistentHash(cookie="user", cookie_ttl_ms=10_000)
    assert sticky.outlier_detection == OutlierDetection(interval_ms=1000)
    assert sticky.connection_pool is not None and sticky.connection_pool.max_connections == 10
