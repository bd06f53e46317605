"""Authorization on the caller's mTLS principal, through a control plane and real sidecars.

``order`` fronts a scriptable upstream; the callers ``web`` and ``shop`` (their own service
accounts, certificates from join tokens) call it through their outbound listeners, so order's
inbound side sees each caller's verified principal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.proxy.tls.start import mint_join_token
from tether.testing.listings import WEB_READS_ORDER_FEED
from tether.testing.mesh import Mesh
from tether.testing.procs import RunningProcess, wait_until
from tether.testing.rawhttp import RawResponse, http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

AP = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}\n"

SCENARIOS = {
    "principals": AP.format(name="from-web", spec="  selector: {matchLabels: {app: order}}\n"
                                                  "  rules: [{from: [{source: {principals: [cluster.local/ns/default/sa/web]}}]}]"),
    "service-accounts": AP.format(name="from-web-sa", spec="  selector: {matchLabels: {app: order}}\n"
                                                           "  rules: [{from: [{source: {serviceAccounts: [web]}}]}]"),
    "namespaces": AP.format(name="from-default", spec="  selector: {matchLabels: {app: order}}\n"
                                                      "  rules: [{from: [{source: {namespaces: [default]}}]}]"),
    "not-principals": AP.format(name="not-shop", spec="  selector: {matchLabels: {app: order}}\n  action: DENY\n"
                                                      "  rules: [{from: [{source: {principals: ['*/sa/shop']}}]}]"),
    "source-principal-when": AP.format(name="when-web", spec="  selector: {matchLabels: {app: order}}\n"
                                                             "  rules: [{when: [{key: source.principal, values: ['*/sa/web']}]}]"),
    "any-authenticated": AP.format(name="any-peer", spec="  selector: {matchLabels: {app: order}}\n"
                                                         "  rules: [{from: [{source: {principals: ['*']}}]}]"),
    "traffic-target": WEB_READS_ORDER_FEED,
}

# (caller, scenario, method, path, status)
CASES = [
    ("web", "principals", "GET", "/", 200),
    ("shop", "principals", "GET", "/", 403),
    ("web", "service-accounts", "GET", "/", 200),
    ("shop", "service-accounts", "GET", "/", 403),
    ("web", "namespaces", "GET", "/", 200),
    ("shop", "namespaces", "GET", "/", 200),
    ("web", "not-principals", "GET", "/", 200),
    ("shop", "not-principals", "GET", "/", 403),
    ("web", "source-principal-when", "GET", "/", 200),
    ("shop", "source-principal-when", "GET", "/", 403),
    ("shop", "any-authenticated", "GET", "/", 200),
    ("web", "traffic-target", "GET", "/feed/1", 200),
    ("web", "traffic-target", "POST", "/feed", 403),
    ("shop", "traffic-target", "GET", "/feed/1", 403),
]


class MtlsMesh:
    def __init__(self, tmp: Path, app: ScriptableUpstream) -> None:
        self.tmp, self.app = tmp, app
        self.mesh = Mesh(tmp)
        self.mesh.start_control()
        self.current = ""

    def start(self, name: str) -> RunningProcess:
        admin = (self.mesh.data / "admin.token").read_text().strip()
        token_file = self.tmp / f"{name}.join"
        token_file.write_text(mint_join_token(self.mesh.url, admin, name, "default"))
        return self.mesh.start_proxy(name, self.app.port, extra=["--token-file", str(token_file)])

    def configure(self, scenario: str) -> None:
        if scenario == self.current:
            return
        client = self.mesh.client()
        if self.current:
            client.delete_files([("old.yaml", SCENARIOS[self.current])])
        client.apply([("policy.yaml", SCENARIOS[scenario])])

        def order_runs_this_apply() -> bool:
            # apply answers once desired versions are recomputed: SYNCED now means "runs it".
            views = [p for p in client.proxies().proxies if p.node.name == "order"]
            return bool(views) and all(v.status == "SYNCED" for v in views)

        assert wait_until(order_runs_this_apply, 15)
        self.current = scenario

    def call(self, caller: str, method: str, path: str) -> RawResponse:
        return http_request(self.mesh.proxies[caller].port("outbound"), method, f"http://order{path}",
                            [("Host", "order")])


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MtlsMesh]:
    with ScriptableUpstream() as app:
        harness = MtlsMesh(tmp_path_factory.mktemp("mtls-authz"), app)
        try:
            for name in ("order", "web", "shop"):
                harness.start(name)
            assert wait_until(lambda: harness.mesh.all_synced(3), 15), harness.mesh.status()
            yield harness
        finally:
            harness.mesh.close()


@pytest.mark.parametrize(("caller", "scenario", "method", "path", "status"), CASES)
def test_policy_on_the_callers_principal(mtls: MtlsMesh, caller: str, scenario: str, method: str, path: str,
                                         status: int) -> None:
    mtls.configure(scenario)
    response = mtls.call(caller, method, path)
    assert response.status == status, (caller, scenario, response)
