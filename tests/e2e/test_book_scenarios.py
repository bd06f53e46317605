"""The book's chapter-4 resilience scenarios, with the files of examples/book/ applied unchanged
(``tether apply -f``) to a control plane, and undone with ``tether delete -f``.

The example system is reduced to what the scenarios exercise: ``order`` (a scriptable upstream
standing in for the order service, behind its sidecar), ``shipping`` (whose sidecar's outbound
listener is the caller polling ``http://order/feed``, as the book's pollers do), and the ingress
gateway routing ``/order`` and ``/shipping`` (examples/book/ingress.yaml). The book's "failing
order service" (FAILRANDOMLY=true: about half of all requests answer 500) is the upstream's
seeded ``fail_ratio(0.5)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tether.testing.mesh import Mesh
from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawClient, RawResponse, http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

BOOK = Path(__file__).resolve().parents[2] / "examples" / "book"
ORDER_FQDN = "order.default.svc.cluster.local"
ORDER_CLUSTER = f"outbound|80||{ORDER_FQDN}"
SHORT_DELAY_MS = 400

Route = dict[str, Any]


def retry_attempts(route: Route) -> int | None:
    """Return the route's retry attempts (routes without ``retries`` carry Istio's default policy)."""
    retry = route.get("retry")
    return None if retry is None else int(retry.get("attempts", 2))


class Book:
    """Control plane, order and shipping sidecars, the ingress gateway; the book's ingress applied."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.order_app = ScriptableUpstream().start()
        self.shipping_app = ScriptableUpstream().start()
        self.mesh = Mesh(tmp)
        try:
            self._start(tmp)
        except BaseException:
            self.close()
            raise

    def _start(self, tmp: Path) -> None:
        self.mesh.start_control()
        self.mesh.start_proxy("order", self.order_app.port)
        self.mesh.start_proxy("shipping", self.shipping_app.port)
        self.gateway = self.mesh.start_gateway()
        self.shipping = Sidecar(self.mesh.proxies["shipping"], "shipping", tmp / "shipping.access.log")
        self.apply("ingress.yaml")
        assert wait_until(lambda: self.via_gateway("/order/ready").status == 200, 10), self.gateway.describe()

    # -- resources -------------------------------------------------------------------------

    def _cli(self, verb: str, name: str, text: str | None) -> None:
        path = str(BOOK / name) if text is None else "-"
        done = self.mesh.cli(verb, "-f", path, stdin=text)
        assert done.returncode == 0, f"tether {verb} -f {name}: {done.stderr}"
        assert wait_until(lambda: self.mesh.all_synced(3), 10), self.mesh.status()

    def apply(self, name: str, text: str | None = None) -> None:
        """``tether apply -f examples/book/<name>`` (or ``text`` on stdin); wait until all synced."""
        self._cli("apply", name, text)

    def delete(self, name: str, text: str | None = None) -> None:
        """``tether delete -f examples/book/<name>`` (or ``text``); wait until all synced."""
        self._cli("delete", name, text)

    def order_route(self, proxy: str = "shipping") -> Route:
        """Return the first route of the order virtual host that ``proxy`` runs."""
        for vh in self.mesh.config_dump(proxy)["snapshot"].get("virtual_hosts", []):
            if "order" in vh["domains"]:
                routes: list[Route] = vh.get("routes", [])
                return routes[0] if routes else {}
        return {}

    def order_cluster(self, proxy: str = "shipping") -> dict[str, Any]:
        for cluster in self.mesh.config_dump(proxy)["snapshot"].get("clusters", []):
            if cluster["name"] == ORDER_CLUSTER:
                return dict(cluster)
        return {}

    def converge(self, check: Callable[[], bool], what: str) -> None:
        assert wait_until(check, 10), f"{what} never reached the proxies: {self.order_route()}"

    # -- traffic ---------------------------------------------------------------------------

    def via_mesh(self, path: str, request_id: str = "") -> RawResponse:
        """GET http://order<path> through shipping's sidecar, as the book's poller does."""
        headers = [("Host", "order")] + ([("x-request-id", request_id)] if request_id else [])
        return http_request(self.shipping.outbound, "GET", f"http://order{path}", headers)

    def via_gateway(self, path: str, request_id: str = "") -> RawResponse:
        headers = [("Host", "localhost")] + ([("x-request-id", request_id)] if request_id else [])
        return http_request(self.gateway.outbound, "GET", path, headers)

    def burst(self, send: Callable[[int], RawResponse], count: int = 10) -> list[int]:
        """Send ``count`` requests at once (one connection each); return the statuses in order."""
        with ThreadPoolExecutor(max_workers=count) as pool:
            return [r.status for r in pool.map(send, range(count))]

    def mesh_statuses(self, count: int, prefix: str) -> list[int]:
        """Send ``count`` requests through shipping's sidecar on one connection; return the statuses."""
        with RawClient(self.shipping.outbound, timeout=30) as client:
            return [client.request("GET", f"http://order/{prefix}/{i}", [("Host", "order")]).status
                    for i in range(count)]

    def log_entry(self, sidecar: Sidecar, request_id: str) -> dict[str, Any]:
        (entry,) = sidecar.log_entries(1, lambda e: e["x_request_id"] == request_id)
        return entry

    def reset(self) -> None:
        for app in (self.order_app, self.shipping_app):
            app.clear()
            app.reset_script()

    def close(self) -> None:
        self.mesh.close()
        self.order_app.stop()
        self.shipping_app.stop()


@pytest.fixture(scope="module")
def module_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Book]:
    book = Book(tmp_path_factory.mktemp("book"))
    try:
        yield book
    finally:
        book.close()


@pytest.fixture
def book(module_book: Book) -> Iterator[Book]:
    module_book.reset()
    for name, proc in module_book.mesh.proxies.items():
        assert proc.alive(), f"{name} died\n{proc.describe()}"
    yield module_book
    module_book.reset()


def test_ingress_routes_the_prefixes(book: Book) -> None:
    assert book.via_gateway("/order/feed").status == 200
    assert book.via_gateway("/shipping/").status == 200
    assert [r.path for r in book.order_app.requests] == ["/feed"]
    assert [r.path for r in book.shipping_app.requests] == ["/"]


def test_fault_injection_makes_every_order_call_fail_with_500(book: Book) -> None:
    book.apply("fault-injection.yaml")
    try:
        book.converge(lambda: "fault" in book.order_route(), "fault")
        assert book.mesh_statuses(20, "feed") == [500] * 20
        resp = book.via_mesh("/feed", request_id="book-fault-1")
        assert resp.status == 500
        entry = book.log_entry(book.shipping, "book-fault-1")
        assert "FI" in entry["response_flags"].split(","), entry
        assert book.order_app.requests == [], "an aborted request must not reach order"
        assert book.shipping.metric("istio_requests_total", reporter="source", response_code="500",
                                    response_flags="FI", destination_service=ORDER_FQDN) >= 21
        # The rule is for calls inside the mesh: order's own UI through the gateway still works.
        assert book.via_gateway("/order/").status == 200
    finally:
        book.delete("fault-injection.yaml")
    book.converge(lambda: "fault" not in book.order_route(), "removal of the fault")
    assert book.via_mesh("/feed").status == 200


def test_delay_injection_shows_as_latency(book: Book) -> None:
    # The book delays by 7 s; the test applies the same file with a shorter delay.
    text = (BOOK / "delay-injection.yaml").read_text()
    assert "fixedDelay: 7s" in text
    short = text.replace("fixedDelay: 7s", f"fixedDelay: {SHORT_DELAY_MS}ms")
    book.apply("delay-injection.yaml (short)", short)
    try:
        book.converge(lambda: "fault" in book.order_route(), "delay")
        began = time.monotonic()
        resp = book.via_mesh("/feed", request_id="book-delay-1")
        waited_ms = (time.monotonic() - began) * 1000
        assert resp.status == 200, "a delayed request still succeeds"
        assert waited_ms >= SHORT_DELAY_MS, "the caller waits at least the injected delay"
        entry = book.log_entry(book.shipping, "book-delay-1")
        assert "DI" in entry["response_flags"].split(","), entry
        assert entry["duration_ms"] >= SHORT_DELAY_MS, entry
        assert [r.path for r in book.order_app.requests] == ["/feed"]
    finally:
        book.delete("delay-injection.yaml (short)", short)
    book.converge(lambda: "fault" not in book.order_route(), "removal of the delay")


def test_retry_turns_a_failing_order_service_into_success(book: Book) -> None:
    book.order_app.fail_ratio(0.5, status=500, seed=7)
    before = book.mesh_statuses(60, "before")
    assert before.count(200) < 48, "without retries about half of the calls must fail"
    book.apply("retry.yaml")
    try:
        book.converge(lambda: retry_attempts(book.order_route()) == 20, "retry (mesh)")
        book.converge(lambda: book.mesh.route_timeouts("shipping", "order") == [10_000], "timeout (mesh)")
        book.order_app.clear()
        after = book.mesh_statuses(40, "after")
        assert after == [200] * 40, f"{after.count(200)} of 40 succeeded"
        assert book.order_app.request_count > 40, "the successes must come from retried attempts"
        # The second document adds the same retries to the gateway's /order route.
        statuses = [book.via_gateway(f"/order/gw/{i}").status for i in range(20)]
        assert statuses == [200] * 20, f"{statuses.count(200)} of 20 succeeded through the gateway"
    finally:
        book.order_app.reset_script()
        book.delete("retry.yaml")
        book.apply("ingress.yaml")  # retry.yaml replaced the gateway's `order` route; put it back
    book.converge(lambda: retry_attempts(book.order_route()) != 20, "removal of the retries")
    assert book.via_gateway("/order/back").status == 200


def test_circuit_breaker_refuses_parallel_load_at_once(book: Book) -> None:
    book.apply("circuit-breaker.yaml")
    try:
        book.converge(lambda: "connection_pool" in book.order_cluster(), "connection pool")
        book.order_app.delay_all(0.3)
        # One request at a time stays within the limits.
        assert [book.via_mesh(f"/single/{i}").status for i in range(3)] == [200] * 3
        for name, sidecar, send in [
            ("mesh", book.shipping, lambda i: book.via_mesh(f"/burst/{i}", f"book-cb-mesh-{i}")),
            # The book's way: parallel load on order's UI through the ingress gateway.
            ("gateway", book.gateway, lambda i: book.via_gateway(f"/order/burst/{i}", f"book-cb-gateway-{i}")),
        ]:
            book.order_app.clear()
            statuses = book.burst(send)
            assert 200 in statuses, (name, statuses)
            assert 503 in statuses, (name, statuses)
            for i, status in enumerate(statuses):
                if status == 503:
                    entry = book.log_entry(sidecar, f"book-cb-{name}-{i}")
                    assert "UO" in entry["response_flags"].split(","), entry
            # Refused requests were never sent: order saw only the ones that succeeded.
            assert book.order_app.request_count == statuses.count(200), name
        # Overflow is not an error of the order instance: it is not ejected, single calls pass again.
        assert book.via_mesh("/after-burst").status == 200
        assert book.via_gateway("/order/after-burst").status == 200
    finally:
        book.order_app.reset_script()
        book.delete("circuit-breaker.yaml")
    book.converge(lambda: "connection_pool" not in book.order_cluster(), "removal of the breaker")


def test_outlier_detection_ejects_a_failing_order_instance(book: Book) -> None:
    book.apply("circuit-breaker-outlier-detection.yaml")
    try:
        book.converge(lambda: "outlier_detection" in book.order_cluster(), "outlier detection")
        book.order_app.fail_next(1, 500)
        assert book.via_mesh("/first").status == 500
        resp = book.via_mesh("/second", request_id="book-od-2")
        assert resp.status == 503, "the only order instance is ejected: no healthy upstream"
        entry = book.log_entry(book.shipping, "book-od-2")
        assert "UH" in entry["response_flags"].split(","), entry
        assert [r.path for r in book.order_app.requests] == ["/first"]
        clusters = book.shipping.admin_get("/clusters").json()["clusters"]
        (order,) = [c for c in clusters if c["name"] == ORDER_CLUSTER]
        assert [e["ejected"] for e in order["endpoints"]] == [True], json.dumps(order)
    finally:
        book.delete("circuit-breaker-outlier-detection.yaml")
    book.converge(lambda: "outlier_detection" not in book.order_cluster(), "removal of outlier detection")
    assert wait_until(lambda: book.via_mesh("/recovered").status == 200, 5)


def test_enforce_mtls_resources_apply_and_delete(book: Book) -> None:
    done = book.mesh.cli("apply", "-f", str(BOOK / "enforce-mtls.yaml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "peerauthentication.security.istio.io/invoicing-policy created",
        "destinationrule.networking.istio.io/invoicing created",
    ]
    done = book.mesh.cli("delete", "-f", str(BOOK / "enforce-mtls.yaml"))
    assert done.returncode == 0, done.stderr
