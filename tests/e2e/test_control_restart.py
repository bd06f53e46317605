"""The control plane goes away: sidecars keep routing on their last snapshot, then re-sync."""

from __future__ import annotations

import pytest

from tether.testing.listings import BOOK_VS
from tether.testing.mesh import Mesh
from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ORDER_FQDN = "order.default.svc.cluster.local"


def test_proxies_survive_a_control_plane_restart(mesh: Mesh) -> None:
    with ScriptableUpstream() as app:
        mesh.start_proxy("order", app.port)
        mesh.start_proxy("shipping", app.port)
        assert mesh.client().apply([("retry.yaml", BOOK_VS)]).results[0].outcome == "created"
        assert wait_until(lambda: mesh.route_timeouts("shipping", ORDER_FQDN) == [10_000], 10)
        assert wait_until(lambda: mesh.all_synced(2), 10), mesh.status()
        versions = {n: mesh.version(n) for n in ("order", "shipping")}
        outbound = mesh.proxies["shipping"].port("outbound")

        def call() -> int:
            return http_request(outbound, "GET", "http://order/feed", [("Host", "order")]).status

        assert call() == 200
        mesh.kill_control()
        # No control plane: the last snapshot keeps routing.
        assert [call() for _ in range(3)] == [200, 200, 200]
        assert {n: mesh.version(n) for n in versions} == versions

        mesh.start_control()  # same port, same data directory
        assert wait_until(lambda: mesh.all_synced(2), 20), mesh.status()
        # Nothing was lost and nothing changed, so the proxies run what they ran before (once both
        # have registered again: one that comes back late briefly misses from the other's endpoints).
        assert [r.name for r in mesh.client().list_resources()] == ["order-retry"]
        assert wait_until(lambda: {n: mesh.version(n) for n in versions} == versions, 20), mesh.status()
        assert call() == 200

        # And the restarted control plane pushes new changes again.
        changed = BOOK_VS.replace("timeout: 10s", "timeout: 12s")
        assert mesh.client().apply([("retry.yaml", changed)]).results[0].outcome == "configured"
        assert wait_until(lambda: mesh.route_timeouts("shipping", ORDER_FQDN) == [12_000], 10)
        assert wait_until(lambda: mesh.all_synced(2), 10)
