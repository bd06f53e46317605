"""``tether gateway`` (DESIGN §3): an ingress gateway in front of real sidecars.

The gateway runs the book's ingress (examples/book/ingress.yaml: Gateway on host ``*``, one
VirtualService per prefix with ``rewrite: {uri: /}``) in static mode, with ServiceEntries
pointing the services at real ``tether proxy`` sidecars whose apps are scriptable upstreams;
one test runs it against a control plane instead.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tether.testing.mesh import Mesh
from tether.testing.procs import start_tether, wait_until
from tether.testing.rawhttp import RawClient, http_request
from tether.testing.sidecar import Sidecar, start_sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

BOOK = Path(__file__).resolve().parents[2] / "examples" / "book"
ORDER_FQDN = "order.default.svc.cluster.local"

SERVICE = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}}}
spec:
  hosts: [{name}.default.svc.cluster.local]
  ports: [{{number: 8080, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints:
  - {{address: 127.0.0.1, ports: {{http: {port}}}, labels: {{app: {name}}}}}
"""

NAMED_HOSTS = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gateway]
  http:
  - route: [{destination: {host: order.default.svc.cluster.local, port: {number: 8080}}}]
"""


def start_gateway(tmp: Path, config: str, name: str = "ingressgateway",
                  extra: Sequence[str] = ()) -> Sidecar:
    """Start ``tether gateway`` in static mode on ephemeral ports; its port is ``.outbound``.

    Raises ProcessFailed if it does not come up; AssertionError if never ready.
    """
    path = tmp / f"{name}.yaml"
    path.write_text(config)
    log = tmp / f"{name}.access.log"
    args = ["gateway", "--name", name, "--config", str(path), "--port", "0", "--admin-port", "0",
            "--access-log", str(log), *extra]
    gateway = Sidecar(start_tether(args, tmp, name=name), name, log)
    try:
        assert wait_until(lambda: gateway.admin_get("/ready").status == 200, 15), gateway.describe()
    except BaseException:
        gateway.proc.kill()
        raise
    return gateway


def services_config(ports: dict[str, int]) -> str:
    """Return one ServiceEntry (port 8080, as the book's Services) per ``name: inbound port``."""
    return "---\n".join(SERVICE.format(name=n, port=p) for n, p in ports.items())


class Shop:
    """Order and shipping apps, each behind its own sidecar, and the gateway in front."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.order_app = ScriptableUpstream().start()
        self.shipping_app = ScriptableUpstream().start()
        self.sidecars: list[Sidecar] = []
        self.order = self._sidecar("order", self.order_app)
        self.shipping = self._sidecar("shipping", self.shipping_app)
        self.services = services_config({"order": self.order.inbound, "shipping": self.shipping.inbound,
                                         "invoicing": self.shipping.inbound})
        self.ingress = (BOOK / "ingress.yaml").read_text()
        self.gateway = self.start(self.ingress)

    def _sidecar(self, name: str, app: ScriptableUpstream) -> Sidecar:
        sidecar = start_sidecar(self.tmp, name, {}, app.port)
        self.sidecars.append(sidecar)
        return sidecar

    def start(self, resources: str, name: str = "ingressgateway", extra: Sequence[str] = ()) -> Sidecar:
        gateway = start_gateway(self.tmp, self.services + "---\n" + resources, name, extra)
        self.sidecars.append(gateway)
        return gateway

    def clear(self) -> None:
        for app in (self.order_app, self.shipping_app):
            app.clear()
            app.reset_script()

    def close(self) -> None:
        for sidecar in self.sidecars:
            sidecar.proc.stop()
        self.order_app.stop()
        self.shipping_app.stop()


@pytest.fixture(scope="module")
def module_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    shop = Shop(tmp_path_factory.mktemp("gateway"))
    try:
        yield shop
    finally:
        shop.close()


@pytest.fixture
def shop(module_shop: Shop) -> Shop:
    module_shop.clear()
    assert module_shop.gateway.proc.alive(), module_shop.gateway.describe()
    return module_shop


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8080", "shop.example.com", "order"])
def test_any_host_reaches_order_with_prefix_stripped(shop: Shop, host: str) -> None:
    resp = http_request(shop.gateway.outbound, "GET", "/order/feed?since=1", [("Host", host)])
    assert resp.status == 200, shop.gateway.describe()
    (seen,) = shop.order_app.requests
    assert (seen.path, seen.query) == ("/feed", "since=1")
    assert shop.shipping_app.requests == []


@pytest.mark.parametrize(("target", "app", "path"), [
    ("/order", "order", "/"),
    ("/order/", "order", "/"),
    ("/order/42", "order", "/42"),
    ("/shipping/", "shipping", "/"),
    ("/shipping/poll", "shipping", "/poll"),
    ("/invoicing/7", "shipping", "/7"),  # invoicing's entry points at the shipping sidecar here
])
def test_each_prefix_routes_to_its_service(shop: Shop, target: str, app: str, path: str) -> None:
    resp = http_request(shop.gateway.outbound, "GET", target, [("Host", "localhost")])
    assert resp.status == 200, shop.gateway.describe()
    upstream = shop.order_app if app == "order" else shop.shipping_app
    assert [r.path for r in upstream.requests] == [path]


def test_post_body_passes_through(shop: Shop) -> None:
    resp = http_request(shop.gateway.outbound, "POST", "/order/", [("Host", "localhost")], b"lines=1")
    assert resp.status == 200
    (seen,) = shop.order_app.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/", b"lines=1")


def test_unknown_prefix_is_404_nr(shop: Shop) -> None:
    resp = http_request(shop.gateway.outbound, "GET", "/nothing-here", [("Host", "localhost")])
    assert resp.status == 404
    (entry,) = shop.gateway.log_entries(1, lambda e: e["path"] == "/nothing-here")
    assert entry["response_flags"] == "NR"
    assert shop.order_app.requests == [] and shop.shipping_app.requests == []


def test_keep_alive_connection_serves_several_routes(shop: Shop) -> None:
    with RawClient(shop.gateway.outbound) as client:
        assert client.request("GET", "/order/a", [("Host", "x")]).status == 200
        assert client.request("GET", "/nope", [("Host", "x")]).status == 404
        assert client.request("GET", "/shipping/b", [("Host", "x")]).status == 200
    assert [r.path for r in shop.order_app.requests] == ["/a"]
    assert [r.path for r in shop.shipping_app.requests] == ["/b"]


def test_gateway_metrics_are_source_reported(shop: Shop) -> None:
    labels = {"reporter": "source", "source_workload": "ingressgateway", "destination_service": ORDER_FQDN,
              "response_code": "200"}
    before = shop.gateway.metric("istio_requests_total", **labels)
    for _ in range(3):
        assert http_request(shop.gateway.outbound, "GET", "/order/m", [("Host", "localhost")]).status == 200
    assert shop.gateway.metric("istio_requests_total", **labels) == before + 3
    assert shop.gateway.metric("istio_request_duration_milliseconds_count", **labels) >= before + 3


def test_destination_sidecar_sees_the_gateway_as_source(shop: Shop) -> None:
    labels = {"reporter": "destination", "source_workload": "ingressgateway", "destination_workload": "order"}
    before = shop.order.metric("istio_requests_total", **labels)
    assert http_request(shop.gateway.outbound, "GET", "/order/peer", [("Host", "localhost")]).status == 200
    assert wait_until(lambda: shop.order.metric("istio_requests_total", **labels) == before + 1, 5)
    (seen,) = shop.order_app.requests
    assert seen.header("x-tether-peer") is None


def test_gateway_access_log(shop: Shop) -> None:
    resp = http_request(shop.gateway.outbound, "GET", "/order/logged", [("Host", "shop.local"),
                                                                          ("x-request-id", "gw-log-1")])
    assert resp.status == 200
    (entry,) = shop.gateway.log_entries(1, lambda e: e["x_request_id"] == "gw-log-1")
    assert entry["direction"] == "outbound"
    assert entry["authority"] == "shop.local"
    assert entry["response_code"] == 200
    assert entry["response_flags"] == "-"
    assert entry["upstream_cluster"] == f"outbound|8080||{ORDER_FQDN}"
    assert entry["upstream_host"] == f"127.0.0.1:{shop.order.inbound}"
    assert entry["source_workload"] == "ingressgateway"
    assert entry["destination_workload"] == "order"
    assert entry["route_name"]
    # The request id reaches the app and the order sidecar's log: one id across both hops.
    (seen,) = shop.order_app.requests
    assert seen.header("x-request-id") == "gw-log-1"
    shop.order.log_entries(1, lambda e: e["x_request_id"] == "gw-log-1" and e["direction"] == "inbound")


def test_named_host_beats_catch_all(shop: Shop) -> None:
    gateway = shop.start(shop.ingress + "---\n" + NAMED_HOSTS, name="named")
    # --name named: the book's `istio: ingressgateway` selector does not match ...
    assert http_request(gateway.outbound, "GET", "/order/x", [("Host", "localhost")]).status == 404
    gateway.proc.stop()
    # ... unless the label is given explicitly.
    gateway = shop.start(shop.ingress + "---\n" + NAMED_HOSTS, name="labelled",
                         extra=["--labels", "istio=ingressgateway"])
    for host in ("shop.example.com", "SHOP.example.com", "shop.example.com:80"):
        resp = http_request(gateway.outbound, "GET", "/shipping/not-a-prefix-here", [("Host", host)])
        assert resp.status == 200, (host, gateway.describe())
    # The named host has no prefix routes: everything goes to order, path untouched.
    assert [r.path for r in shop.order_app.requests] == ["/shipping/not-a-prefix-here"] * 3
    assert shop.shipping_app.requests == []
    # Any other host falls to the "*" server and its prefixes.
    assert http_request(gateway.outbound, "GET", "/shipping/s", [("Host", "other.example.com")]).status == 200
    assert [r.path for r in shop.shipping_app.requests] == ["/s"]


def test_named_host_matches_whatever_port_the_client_used(shop: Shop) -> None:
    gateway = shop.start(NAMED_HOSTS, name="any-port", extra=["--labels", "istio=ingressgateway"])
    for host in ("shop.example.com:8080", f"shop.example.com:{gateway.outbound}"):
        assert http_request(gateway.outbound, "GET", "/p", [("Host", host)]).status == 200, host


def test_named_host_alone_refuses_other_hosts(shop: Shop) -> None:
    gateway = shop.start(NAMED_HOSTS, name="only-named", extra=["--labels", "istio=ingressgateway"])
    assert http_request(gateway.outbound, "GET", "/a", [("Host", "shop.example.com")]).status == 200
    resp = http_request(gateway.outbound, "GET", "/b", [("Host", "other.example.com")])
    assert resp.status == 404
    (entry,) = gateway.log_entries(1, lambda e: e["path"] == "/b")
    assert entry["response_flags"] == "NR"


GATEWAY_FAULT = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: order}
spec:
  hosts: ["*"]
  gateways: [microservice-gateway]
  http:
  - match: [{uri: {prefix: /order}}]
    rewrite: {uri: /}
    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: order.default.svc.cluster.local, port: {number: 8080}}}]
"""


def test_route_policies_apply_at_the_gateway(shop: Shop) -> None:
    # The same VirtualService name replaces the book's `order` route with one that aborts.
    ingress = shop.ingress.split("---\n")
    kept = [doc for doc in ingress if "name: order\n" not in doc]
    gateway = shop.start("---\n".join([*kept, GATEWAY_FAULT]), name="faulty",
                         extra=["--labels", "istio=ingressgateway"])
    resp = http_request(gateway.outbound, "GET", "/order/x", [("Host", "localhost"), ("x-request-id", "gw-fi")])
    assert resp.status == 503
    (entry,) = gateway.log_entries(1, lambda e: e["x_request_id"] == "gw-fi")
    assert "FI" in entry["response_flags"].split(","), entry
    assert shop.order_app.requests == []
    assert http_request(gateway.outbound, "GET", "/shipping/y", [("Host", "localhost")]).status == 200
    assert gateway.metric("istio_requests_total", reporter="source", response_flags="FI") == 1


def test_sigterm_drains_and_exits_zero(shop: Shop) -> None:
    gateway = shop.start(shop.ingress, name="short-lived", extra=["--labels", "istio=ingressgateway"])
    assert http_request(gateway.outbound, "GET", "/order/bye", [("Host", "x")]).status == 200
    assert gateway.proc.stop() == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "/nonexistent/gateway.yaml"], "/nonexistent/gateway.yaml"),
])
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tether", "gateway", "--port", "0", "--admin-port", "0", *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 1, done
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_gateway_with_control_plane(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    try:
        with ScriptableUpstream() as app:
            mesh.start_control()
            mesh.start_proxy("order", app.port)
            gateway = mesh.start_gateway()
            done = mesh.cli("apply", "-f", str(BOOK / "ingress.yaml"))
            assert done.returncode == 0, done.stderr

            def routed() -> bool:
                return http_request(gateway.outbound, "GET", "/order/feed", [("Host", "localhost")]).status == 200

            assert wait_until(routed, 10), gateway.describe()
            assert app.requests[-1].path == "/feed"
            # The gateway is a proxy of the mesh, but not a service of it.
            status = mesh.cli("proxy-status")
            assert status.returncode == 0 and "ingressgateway" in status.stdout, status
            clusters = mesh.config_dump("order")["snapshot"].get("clusters", [])
            assert not any("ingressgateway" in c["service"] for c in clusters)
            # Removing the routes leaves the gateway answering 404 NR.
            done = mesh.cli("delete", "-f", str(BOOK / "ingress.yaml"))
            assert done.returncode == 0, done.stderr

            def unrouted() -> bool:
                return http_request(gateway.outbound, "GET", "/order/feed", [("Host", "localhost")]).status == 404

            assert wait_until(unrouted, 10), gateway.describe()
    finally:
        mesh.close()
