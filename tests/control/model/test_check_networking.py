"""DestinationRule, Gateway and ServiceEntry: accepted examples and refused ones."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tether.control.model import Duration, ResourceErrors, parse_documents
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.gateway_entry import GatewaySpec, ServiceEntrySpec

VALID = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  exportTo: ["*"]
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: user, ttl: 0s}
        ringHash: {minimumRingSize: 1024}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s}}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 100, maxRequestsPerConnection: 10,
             maxRetries: 3, idleTimeout: 1h, h2UpgradePolicy: UPGRADE}
    outlierDetection:
      consecutive5xxErrors: 7
      consecutiveGatewayErrors: 3
      interval: 5m
      baseEjectionTime: 15m
      maxEjectionPercent: 50
      minHealthPercent: 10
    tls: {mode: ISTIO_MUTUAL}
    retryBudget: {percent: 20, minRetryConcurrency: 3}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shop/bookinfo.example.com]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert}
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: external-api}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: upstream}
spec:
  hosts: [upstream]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {http: 9000}, labels: {app: upstream, version: v1}, weight: 2}
  - {address: 10.0.0.2, locality: eu/west, network: n1}
"""


def test_valid_networking_documents() -> None:
    result = parse_documents(VALID, "net.yaml")
    dr, gw, se_dns, se_static = result.resources
    assert isinstance(dr.spec, DestinationRuleSpec) and isinstance(gw.spec, GatewaySpec)
    assert isinstance(se_static.spec, ServiceEntrySpec) and isinstance(se_dns.spec, ServiceEntrySpec)
    tp = dr.spec.traffic_policy
    assert tp is not None and tp.outlier_detection is not None
    assert tp.outlier_detection.consecutive_5xx_errors == 7
    assert tp.outlier_detection.base_ejection_time == Duration(15 * 60_000)
    assert tp.retry_budget is not None and tp.retry_budget.percent == 20
    assert [s.name for s in dr.spec.subsets] == ["v1", "v2"]
    assert gw.spec.selector == {"istio": "ingressgateway"}
    assert se_static.spec.endpoints[0].ports == {"http": 9000}
    assert result.warnings == ()


def doc(kind: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump({"apiVersion": "networking.istio.io/v1", "kind": kind,
                           "metadata": {"name": "bad"}, "spec": spec})


SE_PORTS = [{"number": 80, "name": "http"}]
INVALID: list[tuple[str, str, str]] = [
    (doc("DestinationRule", {}), "spec.host", "required field missing"),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"loadBalancer": {"simple": "FAST"}}}),
     "spec.trafficPolicy.loadBalancer.simple", 'expected one of LEAST_CONN, LEAST_REQUEST, PASSTHROUGH, '
     'RANDOM, ROUND_ROBIN, UNSPECIFIED, got "FAST"'),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"loadBalancer": {
        "simple": "RANDOM", "consistentHash": {"useSourceIp": True}}}}),
     "spec.trafficPolicy.loadBalancer", "set only one of simple, consistentHash"),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"outlierDetection": {
        "maxEjectionPercent": 101}}}),
     "spec.trafficPolicy.outlierDetection.maxEjectionPercent", "must be between 0 and 100, got 101"),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"connectionPool": {
        "tcp": {"maxConnections": -1}}}}),
     "spec.trafficPolicy.connectionPool.tcp.maxConnections", "must be at least 0, got -1"),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"tls": {"mode": "MUTUAL"}}}),
     "spec.trafficPolicy.tls", "mode MUTUAL needs clientCertificate"),
    (doc("DestinationRule", {"host": "a", "subsets": [{"name": "v1"}, {"name": "v1"}]}),
     "spec.subsets[1].name", 'duplicate subset name "v1"'),
    (doc("DestinationRule", {"host": "a", "subsets": [{"labels": {"version": "v1"}}]}),
     "spec.subsets[0].name", "required field missing"),
    (doc("DestinationRule", {"host": "a", "subsets": [{"name": "v1", "labels": {"version": 1}}]}),
     "spec.subsets[0].labels[...]", "expected string, got"),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"portLevelSettings": [{}]}}),
     "spec.trafficPolicy.portLevelSettings[0].port.number", "required field missing"),
    (doc("DestinationRule", {"host": "a", "trafficPolicy": {"retryBudget": {"percent": 150}}}),
     "spec.trafficPolicy.retryBudget.percent", "must be between 0 and 100, got 150"),
    (doc("Gateway", {"servers": []}), "spec.servers", "at least one server is required"),
    (doc("Gateway", {"servers": [{"port": {"number": 80, "protocol": "SMTP"}, "hosts": ["*"]}]}),
     "spec.servers[0].port.protocol", "expected one of"),
    (doc("Gateway", {"servers": [{"port": {"number": 443, "protocol": "HTTPS"}, "hosts": ["*"]}]}),
     "spec.servers[0].tls", "required for an HTTPS server"),
    (doc("Gateway", {"servers": [{"port": {"number": 80}}]}),
     "spec.servers[0].hosts", "at least one host is required"),
    (doc("ServiceEntry", {"hosts": ["a.com"], "ports": SE_PORTS, "resolution": "MAGIC"}),
     "spec.resolution", 'expected one of DNS, DNS_ROUND_ROBIN, NONE, STATIC, got "MAGIC"'),
    (doc("ServiceEntry", {"hosts": ["a.com"], "ports": SE_PORTS, "resolution": "STATIC"}),
     "spec.endpoints", "resolution STATIC needs endpoints"),
    (doc("ServiceEntry", {"hosts": ["a.com"], "ports": SE_PORTS, "resolution": "STATIC",
                          "endpoints": [{"address": "not-an-ip"}]}),
     "spec.endpoints[0].address", "resolution STATIC needs an IP address"),
    (doc("ServiceEntry", {"hosts": ["a.com"], "ports": SE_PORTS, "resolution": "STATIC",
                          "endpoints": [{"address": "1.2.3.4", "ports": {"grpc": 1}}]}),
     "spec.endpoints[0].ports.grpc", 'no port of this ServiceEntry is named "grpc"'),
    (doc("ServiceEntry", {"hosts": ["*"], "ports": SE_PORTS}), "spec.hosts[0]", "must be a host name"),
    (doc("ServiceEntry", {"hosts": ["a.com"]}), "spec.ports", "at least one port is required"),
    (doc("ServiceEntry", {"hosts": ["a.com"], "ports": [{"number": 0}]}),
     "spec.ports[0].number", "must be between 1 and 65535, got 0"),
    (doc("ServiceEntry", {"hosts": ["a.com"], "ports": [{"name": "http"}]}),
     "spec.ports[0].number", "required field missing"),
]


@pytest.mark.parametrize(("text", "path", "message"), INVALID)
def test_invalid_document_is_refused(text: str, path: str, message: str) -> None:
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, "bad.yaml")
    errors = info.value.errors
    assert any(e.path == path and message in e.message for e in errors), [str(e) for e in errors]


def test_deprecated_consecutive_errors_is_a_warning() -> None:
    text = doc("DestinationRule", {"host": "a", "trafficPolicy": {"outlierDetection": {
        "consecutiveErrors": 1}, "loadBalancer": {"simple": "LEAST_CONN"}}})
    result = parse_documents(text, "w.yaml")
    assert [(w.path, w.message) for w in result.warnings] == [
        ("spec.trafficPolicy.loadBalancer.simple", "deprecated: LEAST_CONN is LEAST_REQUEST"),
        ("spec.trafficPolicy.outlierDetection.consecutiveErrors",
         "deprecated: use consecutive5xxErrors"),
    ]
