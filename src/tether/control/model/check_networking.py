"""Semantic checks of DestinationRule, Gateway and ServiceEntry specs."""

from __future__ import annotations

import ipaddress

from tether.control.model.destination_rule import (
    ClientTLSSettings,
    ConnectionPoolSettings,
    DestinationRuleSpec,
    LoadBalancerSettings,
    OutlierDetection,
    TrafficPolicy,
)
from tether.control.model.findings import Findings, is_dns_subdomain
from tether.control.model.gateway_entry import GatewaySpec, ServiceEntrySpec

GATEWAY_PROTOCOLS = frozenset({"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS"})


def _load_balancer(f: Findings, path: str, lb: LoadBalancerSettings) -> None:
    if lb.simple is not None and lb.consistent_hash is not None:
        f.error(path, "set only one of simple, consistentHash")
    if lb.simple == "LEAST_CONN":
        f.warn(f"{path}.simple", "deprecated: LEAST_CONN is LEAST_REQUEST")
    ch = lb.consistent_hash
    if ch is not None:
        keys = [k for k in ("http_header_name", "http_cookie", "use_source_ip",
                            "http_query_parameter_name") if getattr(ch, k) not in (None, False)]
        if len(keys) != 1:
            f.error(f"{path}.consistentHash",
                    "set exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName")
        if ch.ring_hash is not None and ch.maglev is not None:
            f.error(f"{path}.consistentHash", "set only one of ringHash, maglev")
        if ch.minimum_ring_size is not None:
            f.warn(f"{path}.consistentHash.minimumRingSize", "deprecated: use ringHash.minimumRingSize")


def _pool(f: Findings, path: str, pool: ConnectionPoolSettings) -> None:
    if pool.tcp is not None:
        f.range(f"{path}.tcp.maxConnections", pool.tcp.max_connections, 0)
        f.duration(f"{path}.tcp.connectTimeout", pool.tcp.connect_timeout, 1)
    if pool.http is not None:
        h = pool.http
        for wire, value in (("http1MaxPendingRequests", h.http1_max_pending_requests),
                            ("http2MaxRequests", h.http2_max_requests),
                            ("maxRequestsPerConnection", h.max_requests_per_connection),
                            ("maxRetries", h.max_retries),
                            ("maxConcurrentStreams", h.max_concurrent_streams)):
            f.range(f"{path}.http.{wire}", value, 0)


def _outlier(f: Findings, path: str, od: OutlierDetection) -> None:
    if od.consecutive_errors is not None:
        f.range(f"{path}.consecutiveErrors", od.consecutive_errors, 0)
        hint = "; consecutive5xxErrors is used" if od.consecutive_5xx_errors is not None else ""
        f.warn(f"{path}.consecutiveErrors", f"deprecated: use consecutive5xxErrors{hint}")
    for wire, value in (("consecutive5xxErrors", od.consecutive_5xx_errors),
                        ("consecutiveGatewayErrors", od.consecutive_gateway_errors),
                        ("consecutiveLocalOriginFailures", od.consecutive_local_origin_failures)):
        f.range(f"{path}.{wire}", value, 0)
    f.duration(f"{path}.interval", od.interval, 1)
    f.duration(f"{path}.baseEjectionTime", od.base_ejection_time, 1)
    f.range(f"{path}.maxEjectionPercent", od.max_ejection_percent, 0, 100)
    f.range(f"{path}.minHealthPercent", od.min_health_percent, 0, 100)


def _tls(f: Findings, path: str, tls: ClientTLSSettings) -> None:
    if tls.mode == "MUTUAL" and tls.credential_name is None and (
        tls.client_certificate is None or tls.private_key is None
    ):
        f.error(path, "mode MUTUAL needs clientCertificate and privateKey (or credentialName)")


def _parts(
    f: Findings,
    path: str,
    lb: LoadBalancerSettings | None,
    pool: ConnectionPoolSettings | None,
    od: OutlierDetection | None,
    tls: ClientTLSSettings | None,
) -> None:
    if lb is not None:
        _load_balancer(f, f"{path}.loadBalancer", lb)
    if pool is not None:
        _pool(f, f"{path}.connectionPool", pool)
    if od is not None:
        _outlier(f, f"{path}.outlierDetection", od)
    if tls is not None:
        _tls(f, f"{path}.tls", tls)


def _policy(f: Findings, path: str, tp: TrafficPolicy) -> None:
    _parts(f, path, tp.load_balancer, tp.connection_pool, tp.outlier_detection, tp.tls)
    for i, pl in enumerate(tp.port_level_settings):
        p = f"{path}.portLevelSettings[{i}]"
        if pl.port is None or pl.port.number is None:
            f.error(f"{p}.port.number", "required field missing")
        else:
            f.port(f"{p}.port.number", pl.port.number)
        _parts(f, p, pl.load_balancer, pl.connection_pool, pl.outlier_detection, pl.tls)
    if tp.retry_budget is not None:
        f.range(f"{path}.retryBudget.percent", tp.retry_budget.percent, 0, 100)
        f.range(f"{path}.retryBudget.minRetryConcurrency", tp.retry_budget.min_retry_concurrency, 0)


def check_destination_rule(spec: DestinationRuleSpec, f: Findings) -> None:
    """Record what is wrong with a DestinationRule spec in ``f``."""
    if not spec.host:
        f.error("host", "must not be empty")
    if spec.traffic_policy is not None:
        _policy(f, "trafficPolicy", spec.traffic_policy)
    seen: set[str] = set()
    for i, subset in enumerate(spec.subsets):
        if not subset.name:
            f.error(f"subsets[{i}].name", "must not be empty")
        elif subset.name in seen:
            f.error(f"subsets[{i}].name", f'duplicate subset name "{subset.name}"')
        seen.add(subset.name)
        if subset.traffic_policy is not None:
            _policy(f, f"subsets[{i}].trafficPolicy", subset.traffic_policy)
    f.export_to("exportTo", spec.export_to)


def check_gateway(spec: GatewaySpec, f: Findings) -> None:
    """Record what is wrong with a Gateway spec in ``f``."""
    if not spec.servers:
        f.error("servers", "at least one server is required")
    for i, server in enumerate(spec.servers):
        p = f"servers[{i}]"
        f.port(f"{p}.port.number", server.port.number)
        protocol = (server.port.protocol or "").upper()
        if protocol and protocol not in GATEWAY_PROTOCOLS:
            f.error(f"{p}.port.protocol",
                    f"expected one of {', '.join(sorted(GATEWAY_PROTOCOLS))}, got \"{server.port.protocol}\"")
        if not server.hosts:
            f.error(f"{p}.hosts", "at least one host is required")
        if protocol == "HTTPS" and server.tls is None:
            f.error(f"{p}.tls", "required for an HTTPS server")


def check_service_entry(spec: ServiceEntrySpec, f: Findings) -> None:
    """Record what is wrong with a ServiceEntry spec in ``f``."""
    if not spec.hosts:
        f.error("hosts", "at least one host is required")
    for i, host in enumerate(spec.hosts):
        if host == "*" or not host:
            f.error(f"hosts[{i}]", "must be a host name (not empty, not \"*\")")
        elif host.startswith("*") and spec.resolution in ("DNS", "DNS_ROUND_ROBIN"):
            f.error(f"hosts[{i}]", "a wildcard host cannot be resolved with DNS")
        elif not is_dns_subdomain(host.removeprefix("*.").lower()):
            f.error(f"hosts[{i}]", f'"{host}" is not a valid host name')
    if not spec.ports:
        f.error("ports", "at least one port is required")
    names: dict[str, int] = {}
    numbers: set[int] = set()
    for i, port in enumerate(spec.ports):
        f.port(f"ports[{i}].number", port.number)
        f.port(f"ports[{i}].targetPort", port.target_port)
        if port.number in numbers:
            f.error(f"ports[{i}].number", f"duplicate port {port.number}")
        numbers.add(port.number)
        if port.name:
            if port.name in names:
                f.error(f"ports[{i}].name", f'duplicate port name "{port.name}"')
            names[port.name] = port.number
    if spec.endpoints and spec.workload_selector is not None:
        f.error("workloadSelector", "set only one of endpoints, workloadSelector")
    if spec.resolution == "STATIC" and not spec.endpoints and spec.workload_selector is None:
        f.error("endpoints", "resolution STATIC needs endpoints (or a workloadSelector)")
    for i, ep in enumerate(spec.endpoints):
        p = f"endpoints[{i}]"
        if not ep.address:
            if spec.resolution != "DNS" or len(spec.hosts) != 1:
                f.error(f"{p}.address", "required field missing")
        elif spec.resolution == "STATIC" and not ep.address.startswith("unix://"):
            try:
                ipaddress.ip_address(ep.address)
            except ValueError:
                f.error(f"{p}.address", f'resolution STATIC needs an IP address, got "{ep.address}"')
        for name, number in ep.ports.items():
            f.port(f"{p}.ports.{name}", number)
            if name not in names:
                f.error(f"{p}.ports.{name}", f'no port of this ServiceEntry is named "{name}"')
        f.range(f"{p}.weight", ep.weight, 0)
    f.export_to("exportTo", spec.export_to)
