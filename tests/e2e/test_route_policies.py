"""Route policies through a real static-mode ``tether proxy`` (issue 4): fault injection (the
book's files), redirect, direct response, header ops, CORS, local rate limits and mirroring.

One sidecar ``client`` per module knows three services: ``order`` and ``shadow`` (each a
scriptable upstream) and ``dead`` (nothing listens). Each test writes its Istio resources
next to the services, reloads the proxy with SIGHUP and waits for the new snapshot.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawClient, RawResponse, http_request
from tether.testing.sidecar import free_port, service_config, start_sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

BOOK = Path(__file__).resolve().parents[2] / "examples" / "book"

# The book's fault-injection.yaml as printed in its repository (the deprecated ``percent``).
BOOK_FAULT_INJECTION = """\
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: order-fault
spec:
  hosts:
  - order.default.svc.cluster.local
  http:
  - fault:
      abort:
        percent: 100
        httpStatus: 500
    route:
    - destination:
        host: order.default.svc.cluster.local
"""


def virtual_service(name: str, http: str, annotations: str = "") -> str:
    """Return a VirtualService for host ``order`` whose ``http`` list is ``http`` (YAML, indented 2)."""
    meta = f"  annotations:\n{annotations}" if annotations else ""
    return (f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {name}\n{meta}"
            f"spec:\n  hosts: [order]\n  http:\n{http}")


class Policies:
    """The module's sidecar and upstreams, and how a test puts its resources in force."""

    def __init__(self, tmp: Path, order: ScriptableUpstream, shadow: ScriptableUpstream) -> None:
        self.order, self.shadow = order, shadow
        self.services = {"order": order.port, "shadow": shadow.port, "dead": free_port()}
        self.sidecar = start_sidecar(tmp, "client", self.services, order.port)
        self.config = tmp / "client.yaml"

    def version(self) -> str:
        doc = self.sidecar.admin_get("/config_dump").json()
        return str(doc["snapshot"].get("version", ""))

    def configure(self, docs: str) -> None:
        """Put ``docs`` (Istio YAML) in force next to the services; fails if it is refused."""
        before, seen = self.version(), len(self.sidecar.proc.stderr_text())
        self.config.write_text(service_config(self.services) + "---\n" + docs)
        self.sidecar.proc.send_signal(signal.SIGHUP)

        def settled() -> bool:
            return self.version() != before or "refused" in self.sidecar.proc.stderr_text()[seen:]

        assert wait_until(settled, 10) and self.version() != before, (
            f"config not applied:\n{docs}\n{self.sidecar.describe()}")

    def get(self, path: str, headers: list[tuple[str, str]] | None = None, method: str = "GET",
            body: bytes = b"") -> RawResponse:
        return http_request(self.sidecar.outbound, method, f"http://order{path}",
                            [("Host", "order"), *(headers or [])], body)

    def entry(self, request_id: str) -> dict[str, Any]:
        (found,) = self.sidecar.log_entries(1, lambda e: e["x_request_id"] == request_id)
        return found


NO_POLICY = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: order-plain}
spec:
  hosts: [order.default.svc.cluster.local]
  http: [{route: [{destination: {host: order.default.svc.cluster.local}}]}]
"""


@pytest.fixture(scope="module")
def module_policies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Policies]:
    with ScriptableUpstream() as order, ScriptableUpstream() as shadow:
        policies = Policies(tmp_path_factory.mktemp("policies"), order, shadow)
        try:
            yield policies
        finally:
            policies.sidecar.proc.stop()


@pytest.fixture
def policies(module_policies: Policies) -> Iterator[Policies]:
    p = module_policies
    assert p.sidecar.proc.alive(), p.sidecar.describe()
    for up in (p.order, p.shadow):
        up.clear()
        up.reset_script()
    yield p
    for up in (p.order, p.shadow):
        up.reset_script()


# -- fault injection: the book's scenarios -----------------------------------------------------

def test_book_fault_injection_every_call_fails_with_500(policies: Policies) -> None:
    policies.configure((BOOK / "fault-injection.yaml").read_text())
    with RawClient(policies.sidecar.outbound) as client:
        responses = [client.request("GET", f"http://order/feed/{i}", [("Host", "order")]) for i in range(10)]
    assert [r.status for r in responses] == [500] * 10
    assert {r.body for r in responses} == {b"fault filter abort"}
    resp = policies.get("/feed", [("x-request-id", "fault-1")])
    assert resp.status == 500
    assert policies.entry("fault-1")["response_flags"] == "FI"
    assert policies.order.requests == [], "an aborted call never reaches order"
    assert policies.sidecar.metric("istio_requests_total", response_code="500", response_flags="FI") >= 11


def test_book_fault_injection_as_printed_deprecated_percent(policies: Policies) -> None:
    # The deprecated `percent: 100` translates exactly like `percentage: {value: 100}`: start from a
    # config without faults, so that applying the book's file is a visible change.
    policies.configure(NO_POLICY)
    policies.configure(BOOK_FAULT_INJECTION)
    assert policies.get("/feed").status == 500


def test_book_delay_injection_shows_as_latency(policies: Policies) -> None:
    text = (BOOK / "delay-injection.yaml").read_text()
    assert "fixedDelay: 7s" in text
    policies.configure(text.replace("fixedDelay: 7s", "fixedDelay: 1s"))
    resp = policies.get("/feed", [("x-request-id", "delay-1")])
    assert resp.status == 200
    entry = policies.entry("delay-1")
    assert entry["response_flags"] == "DI"
    assert entry["duration_ms"] >= 1000, entry
    assert [r.path for r in policies.order.requests] == ["/feed"]


def test_half_of_the_calls_aborted_over_2000(policies: Policies) -> None:
    policies.configure(virtual_service("half", """\
  - fault:
      abort: {httpStatus: 503, percentage: {value: 50}}
    route: [{destination: {host: order}}]
"""))
    with RawClient(policies.sidecar.outbound, timeout=30) as client:
        statuses = [client.request("GET", "/x", [("Host", "order")]).status for _ in range(2000)]
    aborted = statuses.count(503)
    assert abs(aborted / 2000 - 0.5) <= 0.04, aborted
    assert statuses.count(200) + aborted == 2000
    assert policies.order.request_count == statuses.count(200)


# -- routes that answer by themselves ----------------------------------------------------------

def test_redirect_and_direct_response(policies: Policies) -> None:
    policies.configure(virtual_service("answers", """\
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: shop.example, redirectCode: 302}
  - match: [{uri: {exact: /moved}}]
    redirect: {scheme: https}
  - match: [{uri: {prefix: /maintenance}}]
    directResponse: {status: 503, body: {string: down for maintenance}}
  - route: [{destination: {host: order}}]
"""))
    resp = policies.get("/old/page?q=1", [("x-request-id", "redirect-1")])
    assert resp.status == 302
    assert resp.header("location") == "http://shop.example/new?q=1"
    moved = policies.get("/moved")
    assert (moved.status, moved.header("location")) == (301, "https://order/moved")
    down = policies.get("/maintenance/now")
    assert (down.status, down.body) == (503, b"down for maintenance")
    assert policies.entry("redirect-1")["response_code"] == 302
    assert policies.order.requests == []
    assert policies.get("/other").status == 200


# -- header manipulation -----------------------------------------------------------------------

def test_header_ops_on_request_and_response(policies: Policies) -> None:
    policies.configure(virtual_service("headers", """\
  - headers:
      request:
        set: {x-env: mesh}
        add: {x-tag: route}
        remove: [x-secret]
      response:
        set: {x-served-by: tether}
        remove: [content-type]
    route:
    - destination: {host: order}
      headers:
        request: {set: {x-env: destination, x-dest: order}}
        response: {add: {x-dest-response: "1"}}
"""))
    resp = policies.get("/h", [("x-secret", "s"), ("x-tag", "caller"), ("x-env", "caller")])
    assert resp.status == 200
    (seen,) = policies.order.requests
    assert seen.header_all("x-env") == ["mesh"], "the route's set wins over the destination's"
    assert seen.header("x-dest") == "order"
    assert seen.header_all("x-tag") == ["caller", "route"]
    assert seen.header("x-secret") is None
    assert resp.header("x-served-by") == "tether"
    assert resp.header("x-dest-response") == "1"
    assert resp.header("content-type") is None


# -- CORS --------------------------------------------------------------------------------------

def test_cors_preflight_and_actual_requests(policies: Policies) -> None:
    policies.configure(virtual_service("cors", """\
  - corsPolicy:
      allowOrigins: [{exact: "https://shop.example"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-custom]
      exposeHeaders: [x-total]
      maxAge: 24h
      allowCredentials: true
    route: [{destination: {host: order}}]
"""))
    allowed = [("Origin", "https://shop.example")]
    pre = policies.get("/api", [*allowed, ("Access-Control-Request-Method", "POST")], method="OPTIONS")
    assert pre.status == 200
    assert pre.header("access-control-allow-origin") == "https://shop.example"
    assert pre.header("access-control-allow-methods") == "GET,POST"
    assert pre.header("access-control-allow-headers") == "x-custom"
    assert pre.header("access-control-max-age") == "86400"
    assert pre.header("access-control-allow-credentials") == "true"
    assert policies.order.requests == [], "an allowed preflight is answered by the sidecar"
    actual = policies.get("/api", allowed)
    assert actual.status == 200
    assert actual.header("access-control-allow-origin") == "https://shop.example"
    assert actual.header("access-control-expose-headers") == "x-total"
    other = policies.get("/api", [("Origin", "https://evil.example")])
    assert other.status == 200
    assert not [k for k, _ in other.headers if k.lower().startswith("access-control-")]
    policies.order.clear()
    foreign = [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")]
    assert policies.get("/api", foreign, method="OPTIONS").header("access-control-allow-origin") is None
    assert len(policies.order.requests) == 1, "a preflight from another origin goes to the app"


# -- local rate limits -------------------------------------------------------------------------

def test_route_rate_limit_answers_429_rl(policies: Policies) -> None:
    policies.configure(virtual_service("limited", """\
  - name: feed
    match: [{uri: {prefix: /feed}}]
    route: [{destination: {host: order}}]
  - route: [{destination: {host: order}}]
""", annotations='    ratelimit.tether.dev/route.feed: "3/h"\n'))
    with RawClient(policies.sidecar.outbound) as client:
        statuses = [client.request("GET", "/feed", [("Host", "order")]).status for _ in range(3)]
        refused = client.request("GET", "/feed", [("Host", "order"), ("x-request-id", "rl-1")])
        other = client.request("GET", "/other", [("Host", "order")])
    assert statuses == [200, 200, 200]
    assert (refused.status, refused.body) == (429, b"local_rate_limited")
    assert policies.entry("rl-1")["response_flags"] == "RL"
    assert other.status == 200, "another route has its own (no) limit"
    assert policies.order.request_count == 4


def test_destination_rate_limit(policies: Policies) -> None:
    policies.configure("""\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: order-limit
  annotations:
    ratelimit.tether.dev/limit: "1/h,burst=2"
spec:
  host: order
""")
    statuses = [policies.get(f"/d{i}").status for i in range(4)]
    assert statuses == [200, 200, 429, 429]


# -- mirroring ---------------------------------------------------------------------------------

MIRROR = """\
  - route: [{destination: {host: order}}]
    mirror: {host: %s}
    mirrorPercentage: {value: 100}
"""


def test_mirror_sends_a_shadow_copy(policies: Policies) -> None:
    policies.configure(virtual_service("mirror", MIRROR % "shadow"))
    resp = policies.get("/orders", [("x-request-id", "mirror-1")], method="POST", body=b'{"id": 1}')
    assert resp.status == 200
    assert wait_until(lambda: policies.shadow.request_count == 1, 5)
    (real,) = policies.order.requests
    (copy,) = policies.shadow.requests
    assert real.header("host") == "order"
    assert copy.header("host") == "order-shadow"
    assert (copy.method, copy.path, copy.body) == ("POST", "/orders", b'{"id": 1}')
    assert copy.header("x-request-id") == "mirror-1"
    assert copy.header("x-tether-peer") is not None, "the copy says who calls, as the real request does"


def test_mirror_failure_or_slowness_never_reaches_the_caller(policies: Policies) -> None:
    policies.configure(virtual_service("mirror-dead", MIRROR % "dead"))
    assert [policies.get(f"/a{i}").status for i in range(3)] == [200] * 3
    policies.configure(virtual_service("mirror-slow", MIRROR % "shadow"))
    policies.shadow.delay_all(30)
    policies.shadow.fail_next(5, 500)
    assert [policies.get(f"/b{i}").status for i in range(3)] == [200] * 3
    assert len(policies.order.requests) == 6
