"""Authorization through a real static-mode ``tether proxy``: a policy matrix on its inbound side.

One sidecar ``order`` (labels ``app=order,version=v1``) fronts a scriptable upstream; each
scenario replaces its Istio/SMI resources (SIGHUP, waiting for the new snapshot) and sends
requests to the inbound listener as another sidecar would. Cases that need the caller's
mTLS principal are in ``test_authz_mtls.py``.
"""

from __future__ import annotations

import base64
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.proxy.authz.signing import jwks, new_key, public_jwk, sign, unsigned
from tether.testing.listings import WEB_READS_ORDER_FEED
from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawResponse, http_request
from tether.testing.sidecar import Sidecar, service_config, start_sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ISSUER = "https://idp.tether.test"
KEY = new_key("ES256")
KID = "k1"
JWKS = jwks(public_jwk(KEY, KID))


def token(sub: str = "alice", **claims: object) -> str:
    """Return a token of ``ISSUER`` for ``sub``, valid for an hour unless ``claims`` say otherwise."""
    return sign({"iss": ISSUER, "sub": sub, "exp": int(time.time()) + 3600, **claims}, KEY, "ES256", KID)


def request_authentication(extra: str = "") -> str:
    """Return a RequestAuthentication for ``ISSUER`` with the inline key set (``extra``: more rule fields)."""
    return (f"apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {{name: jwt}}\n"
            f"spec:\n  jwtRules:\n  - issuer: {ISSUER}\n    jwks: '{JWKS}'\n{extra}")


class Inbound:
    """The sidecar, its app, and the resources in force."""

    def __init__(self, tmp: Path, app: ScriptableUpstream) -> None:
        self.app = app
        self.services = {"order": app.port}
        self.sidecar: Sidecar = start_sidecar(tmp, "order", self.services, app.port,
                                              ["--labels", "app=order,version=v1"])
        self.config = tmp / "order.yaml"
        self.current: str | None = None
        self.loads = 0

    def version(self) -> str:
        return str(self.sidecar.admin_get("/config_dump").json()["snapshot"].get("version", ""))

    def configure(self, docs: str) -> None:
        """Put ``docs`` in force (nothing if they already are); fails if the proxy refuses them."""
        if docs == self.current:
            return
        self.loads += 1
        # A throw-away ServiceEntry makes every load a new snapshot version to wait for.
        marker = (f"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: load-{self.loads}}}\n"
                  f"spec: {{hosts: [load-{self.loads}.test], ports: [{{number: 80, name: http, protocol: HTTP}}],"
                  f" resolution: STATIC, endpoints: [{{address: 127.0.0.1}}]}}\n")
        before, seen = self.version(), len(self.sidecar.proc.stderr_text())
        self.config.write_text(service_config(self.services) + marker + ("---\n" + docs if docs else ""))
        self.sidecar.proc.send_signal(signal.SIGHUP)

        def settled() -> bool:
            return self.version() != before or "refused" in self.sidecar.proc.stderr_text()[seen:]

        assert wait_until(settled, 10) and self.version() != before, (
            f"config not applied:\n{docs}\n{self.sidecar.describe()}")
        self.current = docs

    def call(self, method: str, path: str, headers: list[tuple[str, str]] | None = None,
             host: str = "order.default.svc.cluster.local") -> RawResponse:
        """Send one request to the inbound listener, as another sidecar would."""
        return http_request(self.sidecar.inbound, method, path, [("Host", host), *(headers or [])])


def ap(name: str, spec: str, namespace: str = "default") -> str:
    """Return an AuthorizationPolicy document; ``spec`` is YAML indented by two spaces."""
    return (f"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}\n---\n")


RA = request_authentication()
ALLOW_ALL = ap("all", "  rules: [{}]")

SCENARIOS: dict[str, str] = {
    "none": "",
    "allow-nothing": ap("nothing", "  {}"),
    "allow-all": ALLOW_ALL,
    "methods-paths": ap("reads", "  action: ALLOW\n  rules:\n  - to:\n    - operation:\n"
                                 "        methods: [GET]\n        paths: [/feed, /api/*]"),
    "deny-paths": ap("no-admin", "  action: DENY\n  rules: [{to: [{operation: {paths: [/admin*]}}]}]"),
    "deny-not-methods": ap("read-only", "  action: DENY\n  rules: [{to: [{operation: {notMethods: [GET, HEAD]}}]}]"),
    "deny-over-allow": ALLOW_ALL + ap("private", "  action: DENY\n  rules: [{to: [{operation: {paths: [/private]}}]}]"),
    "audit-and-allow": ap("watch", "  action: AUDIT\n  rules: [{}]")
                       + ap("ok", "  rules: [{to: [{operation: {paths: [/ok]}}]}]"),
    "audit-only": ap("watch", "  action: AUDIT\n  rules: [{}]"),
    "selector-other": ap("other", "  selector: {matchLabels: {app: other}}"),
    "selector-order": ap("mine", "  selector: {matchLabels: {app: order, version: v1}}"),
    "root-namespace": ap("mesh-wide", "  {}", namespace="tether-system"),
    "other-namespace": ap("elsewhere", "  {}", namespace="shop"),
    "ip-blocks": ap("local", "  rules: [{from: [{source: {ipBlocks: [127.0.0.0/8]}}]}]"),
    "not-ip-blocks": ap("not-local", "  rules: [{from: [{source: {notIpBlocks: [127.0.0.1]}}]}]"),
    "remote-ip-blocks": ap("remote", "  rules: [{from: [{source: {remoteIpBlocks: [10.0.0.0/8]}}]}]"),
    "header-when": ap("tenant", '  rules: [{when: [{key: "request.headers[x-tenant]", values: [acme]}]}]'),
    "ports": ap("port", '  rules: [{to: [{operation: {ports: ["APP_PORT"]}}]}]')
             + ap("deny-other-port", '  action: DENY\n  rules: [{to: [{operation: {notPorts: ["APP_PORT"]}}]}]'),
    "destination-port-when": ap("dport", '  rules: [{when: [{key: destination.port, values: ["1"]}]}]'),
    "hosts": ap("host", "  rules: [{to: [{operation: {hosts: [order.default.svc.cluster.local]}}]}]"),
    "sni-when": ap("sni", '  rules: [{when: [{key: connection.sni, values: ["*"]}]}]'),
    "jwt-principal": RA + "---\n" + ap("alice", f'  rules: [{{from: [{{source: {{requestPrincipals: ["{ISSUER}/alice"]}}}}]}}]'),
    "jwt-required": RA + "---\n" + ap("need-jwt", '  action: DENY\n  rules: [{from: [{source: {notRequestPrincipals: ["*"]}}]}]'),
    "jwt-claims": RA + "---\n" + ap("admins", '  rules: [{when: [{key: "request.auth.claims[groups]", values: [admin]}]}]'),
    "jwt-aud-presenter": RA + "---\n" + ap("aud", '  rules: [{when: [{key: request.auth.audiences, values: [orders]},'
                                                  ' {key: request.auth.presenter, notValues: [mobile]}]}]'),
    "principals": ap("from-web", "  rules: [{from: [{source: {principals: [cluster.local/ns/default/sa/web]}}]}]"),
    "namespaces": ap("from-default", "  rules: [{from: [{source: {namespaces: [default]}}]}]"),
    "not-principals": ap("not-web", "  action: DENY\n  rules: [{from: [{source: {notPrincipals: [cluster.local/ns/default/sa/web]}}]}]"),
    "traffic-target": WEB_READS_ORDER_FEED,
}

ADMIN = token("carol", groups=["admin", "ops"])
FORGED_PEER = [("x-tether-peer", "web;default;web;v1")]


def bearer(tok: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {tok}")]


# (scenario, method, path, headers, expected status)
Case = tuple[str, str, str, list[tuple[str, str]], int]
CASES: list[Case] = [
    ("none", "GET", "/anything", [], 200),
    ("allow-nothing", "GET", "/", [], 403),
    ("allow-nothing", "POST", "/feed", [], 403),
    ("allow-all", "DELETE", "/x", [], 200),
    ("methods-paths", "GET", "/feed", [], 200),
    ("methods-paths", "GET", "/feed?page=2", [], 200),
    ("methods-paths", "GET", "/api/orders/1", [], 200),
    ("methods-paths", "POST", "/feed", [], 403),
    ("methods-paths", "GET", "/feedback", [], 403),
    ("methods-paths", "GET", "/admin", [], 403),
    ("deny-paths", "GET", "/admin", [], 403),
    ("deny-paths", "GET", "/admin/users", [], 403),
    ("deny-paths", "GET", "/public/../admin", [], 403),
    ("deny-paths", "GET", "//admin", [], 403),
    ("deny-paths", "GET", "/public", [], 200),
    ("deny-not-methods", "GET", "/", [], 200),
    ("deny-not-methods", "PUT", "/", [], 403),
    ("deny-over-allow", "GET", "/private", [], 403),
    ("deny-over-allow", "GET", "/public", [], 200),
    ("audit-and-allow", "GET", "/ok", [], 200),
    ("audit-and-allow", "GET", "/other", [], 403),
    ("audit-only", "GET", "/any", [], 200),
    ("selector-other", "GET", "/", [], 200),
    ("selector-order", "GET", "/", [], 403),
    ("root-namespace", "GET", "/", [], 403),
    ("other-namespace", "GET", "/", [], 200),
    ("ip-blocks", "GET", "/", [], 200),
    ("not-ip-blocks", "GET", "/", [], 403),
    ("remote-ip-blocks", "GET", "/", [], 403),
    ("header-when", "GET", "/", [("x-tenant", "acme")], 200),
    ("header-when", "GET", "/", [("x-tenant", "umbrella")], 403),
    ("header-when", "GET", "/", [], 403),
    ("ports", "GET", "/", [], 200),
    ("destination-port-when", "GET", "/", [], 403),
    ("hosts", "GET", "/", [], 200),
    ("sni-when", "GET", "/", [], 403),
    ("jwt-principal", "GET", "/", bearer(token("alice")), 200),
    ("jwt-principal", "GET", "/", bearer(token("bob")), 403),
    ("jwt-principal", "GET", "/", [], 403),
    ("jwt-principal", "GET", "/", bearer(token("alice", exp=int(time.time()) - 3600)), 401),
    ("jwt-principal", "GET", f"/?access_token={token('alice')}", [], 200),
    ("jwt-required", "GET", "/", [], 403),
    ("jwt-required", "GET", "/", bearer(token("anyone")), 200),
    ("jwt-required", "GET", "/", bearer(unsigned({"iss": ISSUER, "sub": "x"})), 401),
    ("jwt-claims", "GET", "/", bearer(ADMIN), 200),
    ("jwt-claims", "GET", "/", bearer(token("dave", groups=["dev"])), 403),
    ("jwt-claims", "GET", "/", [], 403),
    ("jwt-aud-presenter", "GET", "/", bearer(token("e", aud=["orders"], azp="web")), 200),
    ("jwt-aud-presenter", "GET", "/", bearer(token("e", aud=["orders"], azp="mobile")), 403),
    ("jwt-aud-presenter", "GET", "/", bearer(token("e", aud="billing")), 403),
    # A client-supplied peer header is not a principal: without mTLS these are unauthenticated.
    ("principals", "GET", "/", FORGED_PEER, 403),
    ("namespaces", "GET", "/", FORGED_PEER, 403),
    ("not-principals", "GET", "/", FORGED_PEER, 403),
    # SMI: once a TrafficTarget names this service account, everything else is denied.
    ("traffic-target", "GET", "/feed", [], 403),
    ("traffic-target", "GET", "/feed", FORGED_PEER, 403),
]


def _id(case: Case) -> str:
    scenario, method, path, headers, status = case
    shown = path if len(path) < 30 else path[:27] + "..."
    extra = f" {','.join(h for h, _ in headers)}" if headers else ""
    return f"{scenario} {method} {shown}{extra} -> {status}"


@pytest.fixture(scope="module")
def inbound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbound]:
    with ScriptableUpstream() as app:
        harness = Inbound(tmp_path_factory.mktemp("authz"), app)
        try:
            yield harness
        finally:
            harness.sidecar.proc.stop()


def test_the_matrix_is_large() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("scenario", "method", "path", "headers", "status"), CASES,
                         ids=[_id(c) for c in CASES])
def test_policy_matrix(inbound: Inbound, scenario: str, method: str, path: str,
                       headers: list[tuple[str, str]], status: int) -> None:
    inbound.configure(SCENARIOS[scenario].replace("APP_PORT", str(inbound.app.port)))
    before = inbound.app.request_count
    response = inbound.call(method, path, headers)
    assert response.status == status, (scenario, response, inbound.sidecar.describe())
    reached = inbound.app.request_count - before
    assert reached == (1 if status == 200 else 0), "only allowed requests reach the app"


def test_denial_answer_and_log(inbound: Inbound) -> None:
    inbound.configure(SCENARIOS["allow-nothing"])
    response = inbound.call("GET", "/denied", [("x-request-id", "authz-denied-1")])
    assert (response.status, response.body) == (403, b"RBAC: access denied")
    (entry,) = inbound.sidecar.log_entries(1, lambda e: e["x_request_id"] == "authz-denied-1")
    assert (entry["response_code"], entry["response_flags"], entry["direction"]) == (403, "-", "inbound")
    assert inbound.sidecar.metric("tether_authz_denied_total", direction="inbound") >= 1
    assert inbound.sidecar.metric("istio_requests_total", reporter="destination", response_code="403") >= 1


def test_invalid_token_answer(inbound: Inbound) -> None:
    inbound.configure(SCENARIOS["jwt-principal"])
    head, _, sig = token("alice").split(".")
    forged = json.dumps({"iss": ISSUER, "sub": "root"}).encode()
    body = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    response = inbound.call("GET", "/x", bearer(f"{head}.{body}.{sig}"))
    assert (response.status, response.body) == (401, b"Jwt verification fails")
    assert response.header("www-authenticate") == (
        'Bearer realm="http://order.default.svc.cluster.local/x", error="invalid_token"')


def test_token_is_not_forwarded_and_claims_are(inbound: Inbound) -> None:
    inbound.configure(request_authentication(
        "    outputClaimToHeaders: [{header: x-user, claim: sub}]\n") + "---\n" + ALLOW_ALL)
    inbound.app.clear()
    response = inbound.call("GET", "/me", [*bearer(token("alice")), ("x-user", "forged")])
    assert response.status == 200
    (seen,) = inbound.app.requests
    names = {k.lower(): v for k, v in seen.headers}
    assert "authorization" not in names and names["x-user"] == "alice"
