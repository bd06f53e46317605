"""Retries and timeouts through a real static-mode ``tether proxy`` (issue 4): the book's retry
listing against an order service failing half of the time, Istio's default policy, exhausted
retries (URX), body replay and its 64 KiB limit, per-try and route timeouts (UT).

One sidecar ``client`` per module knows ``order`` (a scriptable upstream) and ``dead``
(nothing listens); each test writes its resources next to them and reloads with SIGHUP.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawClient, RawResponse, http_request
from tether.testing.sidecar import Sidecar, free_port, service_config, start_sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

GOLDEN_BOOK = Path(__file__).resolve().parents[1] / "control" / "golden" / "book" / "resources"


def virtual_service(http: str, host: str = "order") -> str:
    """Return a VirtualService for ``host`` whose ``http`` list is ``http`` (YAML, indented 2)."""
    return (f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs-{host}\n"
            f"spec:\n  hosts: [{host}]\n  http:\n{http}")


class Client:
    """The module's sidecar and the order upstream; tests put resources in force with SIGHUP."""

    def __init__(self, tmp: Path, order: ScriptableUpstream) -> None:
        self.order = order
        self.services = {"order": order.port, "dead": free_port()}
        self.sidecar: Sidecar = start_sidecar(tmp, "client", self.services, order.port)
        self.config = tmp / "client.yaml"

    def version(self) -> str:
        return str(self.sidecar.admin_get("/config_dump").json()["snapshot"].get("version", ""))

    def configure(self, docs: str) -> None:
        """Put ``docs`` in force next to the services; fails if the proxy refuses them."""
        seen = len(self.sidecar.proc.stderr_text())
        self.config.write_text(service_config(self.services) + "---\n" + docs)
        self.sidecar.proc.send_signal(signal.SIGHUP)

        def news() -> str:
            return self.sidecar.proc.stderr_text()[seen:]

        assert wait_until(lambda: " applied" in news() or "refused" in news(), 10), self.sidecar.describe()
        assert "refused" not in news(), f"config refused:\n{docs}\n{self.sidecar.describe()}"

    def get(self, path: str, request_id: str, host: str = "order", method: str = "GET",
            body: bytes = b"") -> RawResponse:
        return http_request(self.sidecar.outbound, method, f"http://{host}{path}",
                            [("Host", host), ("x-request-id", request_id)], body)

    def entry(self, request_id: str) -> dict[str, Any]:
        (found,) = self.sidecar.log_entries(1, lambda e: e["x_request_id"] == request_id)
        return found


@pytest.fixture(scope="module")
def module_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with ScriptableUpstream() as order:
        client = Client(tmp_path_factory.mktemp("retry"), order)
        try:
            yield client
        finally:
            client.sidecar.proc.stop()


@pytest.fixture
def client(module_client: Client) -> Iterator[Client]:
    assert module_client.sidecar.proc.alive(), module_client.sidecar.describe()
    module_client.order.clear()
    module_client.order.reset_script()
    yield module_client
    module_client.order.reset_script()


def test_book_retry_listing_turns_half_failures_into_success(client: Client) -> None:
    # The book's retry.yaml, verbatim: 20 attempts on connect-failure,5xx, 5 s per try, 10 s in all.
    client.configure((GOLDEN_BOOK / "retry.yaml").read_text())
    client.order.fail_ratio(0.5, 500, seed=4)
    with RawClient(client.sidecar.outbound, timeout=30) as conn:
        statuses = [conn.request("GET", f"http://order/order/{i}", [("Host", "order")]).status
                    for i in range(200)]
    assert statuses == [200] * 200
    assert client.order.request_count > 300, "about one in two attempts failed and was retried"
    assert client.sidecar.metric("istio_requests_total", reporter="source", response_code="500") == 0
    assert client.sidecar.metric("tether_retry_retries_total", direction="outbound") == client.order.request_count - 200


def test_without_retries_half_of_the_calls_fail(client: Client) -> None:
    client.configure(virtual_service("  - retries: {attempts: 0}\n    route:\n    - destination: {host: order}\n"))
    client.order.fail_ratio(0.5, 500, seed=4)
    with RawClient(client.sidecar.outbound, timeout=30) as conn:
        statuses = [conn.request("GET", f"http://order/x/{i}", [("Host", "order")]).status for i in range(200)]
    assert 60 <= statuses.count(500) <= 140
    assert client.order.request_count == 200


def test_istio_default_policy_retries_503_but_not_500(client: Client) -> None:
    client.configure(virtual_service("  - route:\n    - destination: {host: order}\n"))
    client.order.fail_next(2, 503)
    assert client.get("/d1", "default-503").status == 200
    assert client.order.request_count == 3
    client.order.fail_next(1, 500)
    assert client.get("/d2", "default-500").status == 500
    assert client.order.request_count == 4


def test_exhausted_retries_return_the_last_answer_with_urx(client: Client) -> None:
    client.configure(virtual_service("  - retries: {attempts: 2, retryOn: 5xx}\n    route:\n"
                                     "    - destination: {host: order}\n"))
    client.order.fail_next(10, 503)
    resp = client.get("/urx", "urx-1")
    assert resp.status == 503
    assert client.order.request_count == 3
    assert client.entry("urx-1")["response_flags"] == "URX"


def test_connect_failures_are_retried_then_uf_urx(client: Client) -> None:
    client.configure(virtual_service("  - retries: {attempts: 3, retryOn: connect-failure}\n    route:\n"
                                     "    - destination: {host: dead}\n", host="dead"))
    assert client.get("/", "dead-1", host="dead").status == 503
    assert client.entry("dead-1")["response_flags"] == "UF,URX"


def test_request_body_is_replayed_and_large_bodies_are_not_retried(client: Client) -> None:
    client.configure(virtual_service("  - retries: {attempts: 2, retryOn: 5xx}\n    route:\n"
                                     "    - destination: {host: order}\n"))
    client.order.fail_next(1, 500)
    body = bytes(range(256)) * 40
    assert client.get("/post", "replay-1", method="POST", body=body).status == 200
    assert [r.body for r in client.order.requests] == [body, body]
    client.order.clear()
    client.order.fail_next(1, 500)
    big = b"z" * (64 * 1024 + 1)
    assert client.get("/big", "big-1", method="POST", body=big).status == 500
    assert client.order.request_count == 1 and client.order.requests[0].body_length == len(big)
    entry = client.entry("big-1")
    assert entry["notes"]["retry_skipped"] == "body_too_large" and entry["response_flags"] == "-"


def test_per_try_timeouts_are_retried_then_ut_urx(client: Client) -> None:
    client.configure(virtual_service("  - retries: {attempts: 2, perTryTimeout: 100ms, retryOn: 5xx}\n"
                                     "    timeout: 5s\n    route:\n    - destination: {host: order}\n"))
    client.order.delay_all(1.0)
    resp = client.get("/slow", "per-try-1")
    assert resp.status == 504 and resp.body == b"upstream request timeout"
    assert client.entry("per-try-1")["response_flags"] == "UT,URX"
    assert wait_until(lambda: client.order.request_count == 3, 5), client.order.request_count


def test_route_timeout_is_504_ut(client: Client) -> None:
    client.configure(virtual_service("  - timeout: 200ms\n    retries: {attempts: 0}\n    route:\n"
                                     "    - destination: {host: order}\n"))
    client.order.delay_all(2.0)
    resp = client.get("/slow", "timeout-1")
    assert resp.status == 504 and resp.body == b"upstream request timeout"
    assert client.entry("timeout-1")["response_flags"] == "UT"
    assert client.sidecar.metric("istio_requests_total", reporter="source", response_code="504",
                                 response_flags="UT") >= 1


def test_route_timeout_bounds_all_attempts(client: Client) -> None:
    # Each try may take 300 ms and there are 20 of them, but the route allows 500 ms in all.
    client.configure(virtual_service("  - timeout: 500ms\n    retries: {attempts: 20, perTryTimeout: 300ms, "
                                     "retryOn: 5xx}\n    route:\n    - destination: {host: order}\n"))
    client.order.delay_all(1.0)
    resp = client.get("/slow", "deadline-1")
    assert resp.status == 504
    assert "UT" in client.entry("deadline-1")["response_flags"].split(",")
    assert client.order.request_count <= 3


@pytest.mark.parametrize(("retry_on", "script", "status"), [
    ("reset", "reset", 200),
    ("connect-failure", "reset", 503),
    ("gateway-error", 502, 200),
    ("gateway-error", 500, 500),
    ("retriable-4xx", 409, 200),
    ("retriable-status-codes,418", 418, 200),
    ("418", 418, 200),
])
def test_retry_conditions(client: Client, retry_on: str, script: str | int, status: int) -> None:
    client.configure(virtual_service(f"  - retries: {{attempts: 1, retryOn: '{retry_on}'}}\n    route:\n"
                                     "    - destination: {host: order}\n"))
    if script == "reset":
        client.order.reset_next(1)
    else:
        assert isinstance(script, int)
        client.order.fail_next(1, script)
    # A body keeps the proxy from quietly resending on a fresh connection after a reset.
    assert client.get("/c", f"cond-{retry_on}-{script}", method="POST", body=b"x").status == status
    assert client.order.request_count == (2 if status == 200 else 1)
