"""Telemetry of ``tether proxy`` after known traffic (DESIGN §6, docs/interfaces.md):
Istio metric names and labels, Prometheus format accepted by promtool, access-log fields."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from tether.testing.rawhttp import http_request
from tether.testing.sidecar import Sample, Sidecar, free_port
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

SidecarFactory = Callable[..., Sidecar]
UPSTREAM_SVC = "upstream.default.svc.cluster.local"
REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"
ISTIO_LABELS = {
    "reporter", "source_workload", "source_workload_namespace", "source_principal",
    "source_app", "source_version", "destination_workload", "destination_workload_namespace",
    "destination_principal", "destination_service", "destination_service_name",
    "destination_service_namespace", "destination_app", "destination_version",
    "request_protocol", "response_code", "grpc_response_status", "response_flags",
    "connection_security_policy"}
ACCESS_LOG_KEYS = {
    "start_time", "direction", "method", "path", "authority", "protocol", "response_code",
    "response_flags", "bytes_received", "bytes_sent", "duration_ms", "upstream_host",
    "upstream_cluster", "route_name", "x_request_id", "trace_id", "user_agent",
    "downstream_remote_address", "source_workload", "source_namespace",
    "destination_workload", "destination_namespace"}


@pytest.fixture
def upstream() -> Iterator[ScriptableUpstream]:
    with ScriptableUpstream() as up:
        yield up


@pytest.fixture
def client(sidecar_factory: SidecarFactory, upstream: ScriptableUpstream) -> Sidecar:
    """A fresh sidecar (zero counters) named ``client``."""
    return sidecar_factory("client", {"upstream": upstream.port, "dead": free_port()},
                           upstream.port)


def _get(port: int, path: str, host: str = "upstream", body: bytes = b"") -> int:
    return http_request(port, "POST" if body else "GET", path, [("Host", host)], body).status


def _total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_requests_total_by_code_and_flags(client: Sidecar) -> None:
    codes = [_get(client.outbound, "/m") for _ in range(3)]
    codes += [_get(client.outbound, "/status/500") for _ in range(2)]
    codes += [_get(client.outbound, "/status/404"), _get(client.outbound, "/x", "nowhere"),
              _get(client.outbound, "/x", "dead")]
    assert codes == [200, 200, 200, 500, 500, 404, 404, 503]
    client.log_entries(8)
    samples = client.metrics()
    src = {"reporter": "source"}
    assert _total(samples, REQUESTS, **src, response_code="200",
                  destination_service=UPSTREAM_SVC, response_flags="-") == 3
    assert _total(samples, REQUESTS, **src, response_code="500",
                  destination_service=UPSTREAM_SVC) == 2
    assert _total(samples, REQUESTS, **src, response_code="404", response_flags="-") == 1
    assert _total(samples, REQUESTS, **src, response_code="404", response_flags="NR") == 1
    uf = [s for s in samples if s.name == REQUESTS and "UF" in
          s.labels.get("response_flags", "").split(",")]
    assert [(s.labels["response_code"], s.value) for s in uf] == [("503", 1.0)]
    assert _total(samples, REQUESTS) == 8
    for sample in (s for s in samples if s.name == REQUESTS):
        assert set(sample.labels) >= ISTIO_LABELS, sample
    ok = next(s for s in samples if s.name == REQUESTS and s.labels["response_code"] == "200")
    assert ok.labels["source_workload"] == "client"
    assert ok.labels["source_workload_namespace"] == "default"
    assert ok.labels["destination_service_name"] == "upstream"
    assert ok.labels["destination_service_namespace"] == "default"
    assert ok.labels["request_protocol"] == "http"


def test_inbound_reports_destination(client: Sidecar, upstream: ScriptableUpstream) -> None:
    assert [_get(client.inbound, "/in", "client") for _ in range(2)] == [200, 200]
    client.log_entries(2)
    samples = client.metrics()
    assert _total(samples, REQUESTS, reporter="destination", response_code="200") == 2
    assert _total(samples, REQUESTS, reporter="source") == 0
    dest = next(s for s in samples if s.name == REQUESTS)
    assert dest.labels["destination_workload"] == "client"
    assert dest.labels["source_workload"] == "unknown"


def test_two_hops_carry_peer_identity(sidecar_factory: SidecarFactory,
                                      upstream: ScriptableUpstream) -> None:
    server = sidecar_factory("server", {"upstream": upstream.port}, upstream.port)
    caller = sidecar_factory("caller", {"server": server.inbound}, free_port(),
                             ["--labels", "app=caller-app,version=v2"])
    assert [_get(caller.outbound, "/hop", "server") for _ in range(2)] == [200, 200]
    assert all(r.header("x-tether-peer") is None for r in upstream.requests)
    server.log_entries(2)
    caller.log_entries(2)
    assert caller.metric(REQUESTS, reporter="source", source_workload="caller",
                         destination_service_name="server", response_code="200") == 2
    assert server.metric(REQUESTS, reporter="destination", source_workload="caller",
                         source_workload_namespace="default", source_app="caller-app",
                         source_version="v2", destination_workload="server",
                         response_code="200") == 2


def test_request_and_response_bytes(client: Sidecar) -> None:
    assert [_get(client.outbound, "/echo", body=b"q" * 1000) for _ in range(2)] == [200, 200]
    assert [_get(client.outbound, "/bytes/5000") for _ in range(2)] == [200, 200]
    client.log_entries(4)
    samples = client.metrics()
    src = {"reporter": "source"}
    assert _total(samples, "istio_request_bytes_count", **src) == 4
    assert 2000 <= _total(samples, "istio_request_bytes_sum", **src) < 2000 + 4 * 8192
    assert _total(samples, "istio_response_bytes_count", **src) == 4
    assert 10000 <= _total(samples, "istio_response_bytes_sum", **src) < 10000 + 4 * 8192


def test_duration_histogram(client: Sidecar) -> None:
    assert _get(client.outbound, "/delay/300") == 200
    assert [_get(client.outbound, "/fast") for _ in range(2)] == [200, 200]
    client.log_entries(3)
    samples = client.metrics()
    buckets: dict[float, float] = defaultdict(float)
    for s in samples:
        if s.name == f"{DURATION}_bucket" and s.labels.get("reporter") == "source":
            buckets[float(s.labels["le"])] += s.value
    assert buckets, "no duration buckets"
    bounds = sorted(buckets)
    assert bounds[-1] == float("inf")
    counts = [buckets[b] for b in bounds]
    assert counts == sorted(counts), "buckets must be cumulative"
    assert counts[-1] == 3 == _total(samples, f"{DURATION}_count", reporter="source")
    # The delayed request took at least 300 ms, so no bucket below 300 can hold all three.
    assert all(buckets[b] <= 2 for b in bounds if b < 300)
    assert _total(samples, f"{DURATION}_sum", reporter="source") >= 300


def test_prometheus_format_passes_promtool(client: Sidecar, promtool: str) -> None:
    _get(client.outbound, "/m")
    _get(client.outbound, "/x", "nowhere")
    client.log_entries(2)
    text = client.metrics_text()
    assert f"# TYPE {REQUESTS} counter" in text
    assert f"# TYPE {DURATION} histogram" in text
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                            capture_output=True, timeout=30, check=False)
    problems = [line for line in (result.stdout + result.stderr).decode().splitlines()
                if line.strip()]
    # Exit 3 is lint only; the one lint we accept is the Istio-fixed name in milliseconds.
    accepted = [p for p in problems if 'base unit "seconds" instead of "milliseconds"' in p]
    assert result.returncode in (0, 3), problems
    assert problems == accepted, problems


def test_access_log_fields(client: Sidecar, upstream: ScriptableUpstream) -> None:
    headers = [("Host", "upstream"), ("User-Agent", "e2e-agent/1"),
               ("x-request-id", "log-rid-1")]
    resp = http_request(client.outbound, "POST", "/logged?k=v", headers, b"hello")
    assert resp.status == 200
    (entry,) = client.log_entries(1)
    assert set(entry) >= ACCESS_LOG_KEYS, ACCESS_LOG_KEYS - set(entry)
    start = datetime.fromisoformat(entry["start_time"].replace("Z", "+00:00"))
    offset = start.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert "." in entry["start_time"], "milliseconds expected"
    assert entry["direction"] == "outbound"
    assert entry["method"] == "POST"
    assert entry["path"].startswith("/logged")
    assert entry["authority"] == "upstream"
    assert entry["protocol"] == "HTTP/1.1"
    assert entry["response_code"] == 200
    assert entry["response_flags"] == "-"
    assert entry["bytes_received"] == 5
    assert entry["bytes_sent"] == len(resp.body or b"")
    assert entry["duration_ms"] >= 0
    assert entry["upstream_host"] == f"127.0.0.1:{upstream.port}"
    assert "upstream" in entry["upstream_cluster"]
    assert entry["x_request_id"] == "log-rid-1"
    assert entry["trace_id"]
    assert entry["user_agent"] == "e2e-agent/1"
    assert entry["downstream_remote_address"].startswith("127.0.0.1")
    assert entry["source_workload"] == "client"
    assert entry["source_namespace"] == "default"
    assert entry["destination_namespace"] == "default"


def test_access_log_inbound_and_no_route(client: Sidecar) -> None:
    assert _get(client.inbound, "/in-log", "client") == 200
    assert _get(client.outbound, "/nr-log", "nowhere") == 404
    inbound = client.log_entries(1, lambda e: e["path"] == "/in-log")[0]
    assert inbound["direction"] == "inbound"
    assert inbound["destination_workload"] == "client"
    nr = client.log_entries(1, lambda e: e["path"] == "/nr-log")[0]
    assert (nr["response_code"], nr["response_flags"], nr["upstream_host"]) == (404, "NR", None)
