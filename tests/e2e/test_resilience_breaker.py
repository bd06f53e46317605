"""Circuit breaking and outlier detection through a real static-mode ``tether proxy`` (issue 4):
the book's circuit-breaker listing (connection limits: parallel load on a slow order gets 503
``UO`` at once while single calls pass; outlier detection: one 5xx ejects order, then 503
``UH``), the pending queue, requests per connection, ejection of one of two endpoints and its
return, and the max-ejection share. Each test starts its own sidecar: ejections outlive config
reloads, as in Envoy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.sidecar import service_entry, start_static
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

GOLDEN_BOOK = Path(__file__).resolve().parents[1] / "control" / "golden" / "book" / "resources"
def service(name: str, *ports: int) -> str:
    """Return a STATIC ServiceEntry for ``name`` with one endpoint per port."""
    return service_entry(name, *((p, name, f"v{i}") for i, p in enumerate(ports, 1)))


def destination_rule(host: str, traffic_policy: str) -> str:
    """Return a DestinationRule for ``host`` with ``traffic_policy`` (YAML, indented 4)."""
    return (f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: dr-{host}\n"
            f"spec:\n  host: {host}\n  trafficPolicy:\n{traffic_policy}")


NO_RETRIES = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: no-retries}
spec:
  hosts: [pair]
  http:
  - retries: {attempts: 0}
    route:
    - destination: {host: pair}
"""


class Proxy:
    """A static-mode sidecar on ``docs``; stopped by the fixture."""

    def __init__(self, tmp: Path, docs: str) -> None:
        self.sidecar = start_static(tmp, "client", docs)  # config in tmp/client.yaml

    def get(self, host: str, path: str, request_id: str = "") -> int:
        headers = [("Host", host)] + ([("x-request-id", request_id)] if request_id else [])
        return http_request(self.sidecar.outbound, "GET", f"http://{host}{path}", headers, timeout=30).status

    def endpoints(self, service: str) -> list[dict[str, Any]]:
        """Return the endpoints of ``service``'s cluster as /clusters shows them."""
        for cluster in self.sidecar.admin_get("/clusters").json()["clusters"]:
            if cluster["service"].startswith(f"{service}."):
                return list(cluster["endpoints"])
        raise AssertionError(f"no cluster for {service}")

    def flags(self, request_id: str) -> str:
        (entry,) = self.sidecar.log_entries(1, lambda e: e["x_request_id"] == request_id)
        return str(entry["response_flags"])


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    with ExitStack() as started:

        def factory(docs: str) -> Proxy:
            proxy = Proxy(tmp_path, docs)
            started.callback(proxy.sidecar.proc.stop)
            return proxy

        yield factory


def parallel(proxy: Proxy, host: str, count: int) -> list[tuple[int, int]]:
    """Send ``count`` requests at once (one connection each); return (status, rank of its end)."""
    barrier = threading.Barrier(count)
    ticket = iter(range(count * 2))
    lock = threading.Lock()

    def one(i: int) -> tuple[int, int]:
        barrier.wait()
        status = proxy.get(host, f"/p/{i}", f"par-{i}")
        with lock:
            return status, next(ticket)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_book_circuit_breaker_refuses_parallel_load_at_once(start: Any) -> None:
    with ScriptableUpstream() as order:
        proxy = start(service("order", order.port) + "---\n" + (GOLDEN_BOOK / "circuit-breaker.yaml").read_text())
        assert proxy.get("order", "/single") == 200, "a single call passes"
        order.delay_all(1.0)
        results = parallel(proxy, "order", 8)
        ok = [rank for status, rank in results if status == 200]
        refused = [rank for status, rank in results if status == 503]
        assert len(ok) >= 1 and len(refused) >= 5 and len(ok) + len(refused) == 8, results
        assert max(refused) < min(ok), "overflow is answered at once, before the admitted call ends"
        flags = [proxy.flags(f"par-{i}") for i, (status, _) in enumerate(results) if status == 503]
        assert set(flags) == {"UO"}, flags
        assert order.request_count == 1 + len(ok)
        order.delay_all(0)
        assert proxy.get("order", "/after") == 200, "the breaker closes once load is gone"
        assert proxy.sidecar.metric("istio_requests_total", response_code="503", response_flags="UO") == len(refused)
        assert proxy.sidecar.metric("tether_circuit_breaker_overflow_total") == len(refused)


def test_book_outlier_detection_ejects_a_failing_order(start: Any) -> None:
    with ScriptableUpstream() as order:
        proxy = start(service("order", order.port) + "---\n" + (GOLDEN_BOOK / "circuit-breaker.yaml").read_text())
        order.fail_next(1, 500)
        assert proxy.get("order", "/1") == 500
        (endpoint,) = proxy.endpoints("order")
        assert endpoint["ejected"] is True and endpoint["ejections"] == 1
        assert proxy.get("order", "/2", "ejected-1") == 503
        assert proxy.flags("ejected-1") == "UH"
        assert order.request_count == 1, "an ejected instance gets no traffic for ten minutes"


def test_pending_queue_bounds_waiting_calls(start: Any) -> None:
    with ScriptableUpstream() as order:
        pool = "    connectionPool:\n      tcp: {maxConnections: 1}\n      http: {http1MaxPendingRequests: 2}\n"
        proxy = start(service("order", order.port) + "---\n" + destination_rule("order", pool))
        order.delay_all(0.5)
        statuses = sorted(status for status, _ in parallel(proxy, "order", 6))
        assert statuses == [200, 200, 200, 503, 503, 503]
        assert order.connections == 1, "one connection, the others waited for it"


def test_max_requests_per_connection(start: Any) -> None:
    with ScriptableUpstream() as order:
        pool = "    connectionPool:\n      http: {maxRequestsPerConnection: 1}\n"
        proxy = start(service("order", order.port) + "---\n" + destination_rule("order", pool))
        assert [proxy.get("order", f"/{i}") for i in range(3)] == [200, 200, 200]
        assert order.connections == 3


def test_failing_endpoint_is_ejected_then_returns(start: Any) -> None:
    with ScriptableUpstream() as a, ScriptableUpstream() as b:
        outlier = ("    loadBalancer: {simple: ROUND_ROBIN}\n    outlierDetection:\n      consecutive5xxErrors: 2\n"
                   "      interval: 100ms\n      baseEjectionTime: 1s\n      maxEjectionPercent: 50\n")
        proxy = start(service("pair", a.port, b.port) + "---\n" + destination_rule("pair", outlier)
                      + "---\n" + NO_RETRIES)
        a.fail_ratio(1.0, 500)
        statuses = [proxy.get("pair", f"/{i}") for i in range(12)]
        assert statuses.count(500) == 2 and a.request_count == 2, statuses
        ejected = {e["address"]: e["ejected"] for e in proxy.endpoints("pair")}
        assert ejected == {f"127.0.0.1:{a.port}": True, f"127.0.0.1:{b.port}": False}
        a.reset_script()
        assert wait_until(lambda: not any(e["ejected"] for e in proxy.endpoints("pair")), 10)
        assert [proxy.get("pair", f"/back/{i}") for i in range(4)] == [200] * 4
        assert a.request_count >= 3, "the returned endpoint takes traffic again"


def test_max_ejection_percent_keeps_one_endpoint(start: Any) -> None:
    with ScriptableUpstream() as a, ScriptableUpstream() as b:
        outlier = ("    outlierDetection:\n      consecutive5xxErrors: 1\n      interval: 1m\n"
                   "      baseEjectionTime: 10m\n      maxEjectionPercent: 50\n")
        proxy = start(service("pair", a.port, b.port) + "---\n" + destination_rule("pair", outlier)
                      + "---\n" + NO_RETRIES)
        a.fail_ratio(1.0, 500)
        b.fail_ratio(1.0, 500)
        statuses = [proxy.get("pair", f"/{i}") for i in range(6)]
        assert statuses == [500] * 6, "one endpoint stays in: never 503 UH"
        assert sum(e["ejected"] for e in proxy.endpoints("pair")) == 1


def test_ejection_outlives_a_config_reload(start: Any, tmp_path: Path) -> None:
    with ScriptableUpstream() as order:
        docs = service("order", order.port) + "---\n" + (GOLDEN_BOOK / "circuit-breaker.yaml").read_text()
        proxy = start(docs)
        order.fail_next(1, 500)
        assert proxy.get("order", "/1") == 500
        seen = len(proxy.sidecar.proc.stderr_text())
        (tmp_path / "client.yaml").write_text(docs + "---\n" + destination_rule("other", "    {}\n")
                                              + "---\n" + service("other", order.port))
        proxy.sidecar.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: " applied" in proxy.sidecar.proc.stderr_text()[seen:], 10), proxy.sidecar.describe()
        (endpoint,) = proxy.endpoints("order")
        assert endpoint["ejected"] is True
        assert proxy.get("order", "/2") == 503
        assert order.request_count == 1
