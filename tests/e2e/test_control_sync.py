"""Control plane + several real sidecars: apply reaches exactly the affected proxies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.testing.listings import BOOK_DR, BOOK_VS
from tether.testing.mesh import Mesh
from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ORDER_FQDN = "order.default.svc.cluster.local"

LOCAL_SHIPPING_VS = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: shipping-local, namespace: default}
spec:
  hosts: [shipping]
  exportTo: ["."]
  http:
  - timeout: 3s
    route:
    - destination: {host: shipping}
"""


def test_apply_reaches_affected_proxies_only(mesh: Mesh, tmp_path: Path) -> None:
    with ScriptableUpstream() as app:
        mesh.start_proxy("order", app.port)
        mesh.start_proxy("shipping", app.port)
        mesh.start_proxy("billing", app.port, namespace="finance")
        assert wait_until(lambda: mesh.all_synced(3), 15), mesh.status()

        # The book's listings, verbatim, through the CLI.
        (tmp_path / "retry.yaml").write_text(BOOK_VS)
        (tmp_path / "circuit-breaker.yaml").write_text(BOOK_DR)
        done = mesh.cli("apply", "-f", str(tmp_path / "circuit-breaker.yaml"),
                        "-f", str(tmp_path / "retry.yaml"))
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "destinationrule.networking.istio.io/order-circuit-breaker created",
            "virtualservice.networking.istio.io/order-retry created",
        ]
        def retry_everywhere() -> bool:
            names = ("order", "shipping", "billing")
            return all(mesh.route_timeouts(n, ORDER_FQDN) == [10_000] for n in names)

        assert wait_until(retry_everywhere, 10)
        assert wait_until(lambda: mesh.all_synced(3), 10), mesh.status()
        status = mesh.cli("proxy-status")
        assert status.returncode == 0
        assert [line.split()[2] for line in status.stdout.splitlines()[1:]] == ["SYNCED"] * 3
        check = mesh.cli("check")
        assert check.returncode == 0, check.stdout
        assert "\u221a all proxies are synced (3/3)" in check.stdout

        # A VirtualService exported only to "default" must not wake the proxy in "finance".
        before = {n: mesh.version(n) for n in ("order", "shipping", "billing")}
        billing_acked = mesh.status()["billing"].acked_version
        done = mesh.cli("apply", "-f", "-", stdin=LOCAL_SHIPPING_VS)
        assert done.returncode == 0, done.stderr
        def default_changed() -> bool:
            return all(mesh.version(n) != before[n] for n in ("order", "shipping"))

        assert wait_until(default_changed, 10)
        assert wait_until(lambda: mesh.all_synced(3), 10)
        assert mesh.version("billing") == before["billing"]
        assert mesh.status()["billing"].acked_version == billing_acked

        # Traffic goes through: shipping's sidecar -> order's sidecar -> the app.
        response = http_request(mesh.proxies["shipping"].port("outbound"), "GET",
                                "http://order/feed", [("Host", "order")])
        assert response.status == 200, response

        # A proxy that dies leaves the others' endpoints within 3 heartbeats (0.5 s each).
        order_inbound = mesh.proxies["order"].port("inbound")
        mesh.proxies.pop("order").kill()

        def order_gone() -> bool:
            clusters = mesh.config_dump("shipping")["snapshot"].get("clusters", [])
            ports = [e["port"] for c in clusters for e in c.get("endpoints", [])]
            return order_inbound not in ports

        assert wait_until(order_gone, 10)
        assert wait_until(lambda: set(mesh.status()) == {"shipping", "billing"}, 5)


def test_atomic_apply_with_one_bad_document(mesh: Mesh, tmp_path: Path) -> None:
    bad = BOOK_VS.replace("attempts: 20", "attempts: many")
    path = tmp_path / "mixed.yaml"
    path.write_text(BOOK_DR + "---\n" + bad)
    done = mesh.cli("apply", "-f", str(path))
    assert done.returncode == 1
    assert (f"{path} doc 2 VirtualService/order-retry: spec.http[0].retries.attempts"
            in done.stderr), done.stderr
    # The server refuses the same input on its own (a client that skips validation).
    from tether.client.http import ApiError

    with pytest.raises(ApiError) as err:
        mesh.client().apply([("mixed.yaml", path.read_text())])
    assert err.value.status == 422
    assert mesh.client().list_resources() == []
    assert mesh.client().health().revision == 0
    listed = mesh.cli("get", "dr")
    assert listed.returncode == 0 and "No resources found" in listed.stderr
