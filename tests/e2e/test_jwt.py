"""JWT through a control plane and a real sidecar: keys fetched from a ``jwksUri`` by the control
plane (never by the proxy), every kind of bad token answered 401 with Envoy's reason, and a
rotated key picked up after a refresh."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tether.proxy.authz.signing import PrivateKey, jwks, new_key, public_jwk, sign, unsigned
from tether.testing.mesh import Mesh
from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawResponse, http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ISSUER = "https://idp.tether.test"
KEY1 = new_key("RS256")
KEY2 = new_key("EdDSA")


class KeyServer:
    """A JWKS endpoint on 127.0.0.1 whose key set a test changes; counts the fetches."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                owner.fetches += 1
                body = owner.text.encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # base signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="jwks", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def token(key: PrivateKey = KEY1, alg: str = "RS256", kid: str = "k1", **claims: Any) -> str:
    return sign({"iss": ISSUER, "sub": "alice", "aud": "orders", "exp": int(time.time()) + 600, **claims},
                key, alg, kid)


class JwtMesh:
    def __init__(self, mesh: Mesh, keys: KeyServer, app: ScriptableUpstream) -> None:
        self.mesh, self.keys, self.app = mesh, keys, app

    def providers(self) -> list[dict[str, Any]]:
        snapshot = self.mesh.config_dump("order")["snapshot"]
        return list((snapshot.get("request_authn") or {}).get("providers", []))

    def has_key(self, kid: str) -> bool:
        return any(f'"{kid}"' in p.get("jwks", "") for p in self.providers())

    def call(self, tok: str | None, path: str = "/orders") -> RawResponse:
        headers = [("Host", "order")] + ([("Authorization", f"Bearer {tok}")] if tok is not None else [])
        return http_request(self.mesh.proxies["order"].port("inbound"), "GET", path, headers)


@pytest.fixture
def jwt_mesh(tmp_path: Path) -> Iterator[JwtMesh]:
    keys = KeyServer(jwks(public_jwk(KEY1, "k1")))
    mesh = Mesh(tmp_path)
    try:
        with ScriptableUpstream() as app:
            mesh.start_control()
            resources = (f"apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {{name: jwt}}\n"
                         f"spec:\n  selector: {{matchLabels: {{app: order}}}}\n  jwtRules:\n"
                         f"  - {{issuer: '{ISSUER}', jwksUri: '{keys.url}', audiences: [orders]}}\n")
            mesh.client().apply([("jwt.yaml", resources)])
            mesh.start_proxy("order", app.port)
            harness = JwtMesh(mesh, keys, app)
            assert wait_until(lambda: harness.has_key("k1"), 15), harness.providers()
            yield harness
    finally:
        mesh.close()
        keys.close()


def test_keys_come_from_the_control_plane_and_bad_tokens_get_401(jwt_mesh: JwtMesh) -> None:
    assert jwt_mesh.keys.fetches >= 1
    maps = Path(f"/proc/{jwt_mesh.mesh.proxies['order'].pid}/maps")
    assert "/cryptography/" not in maps.read_text()  # loaded by the first request its JWT filter checks
    assert jwt_mesh.providers()[0]["jwks_uri"] == jwt_mesh.keys.url
    good = token()
    head, _, sig = good.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": ISSUER, "sub": "root", "aud": "orders"}).encode())
    cases = {
        "valid": (good, 200, None),
        "no token": (None, 200, None),
        "expired": (token(exp=int(time.time()) - 3600), 401, b"Jwt is expired"),
        "wrong issuer": (token(iss="https://evil.test"), 401, b"Jwt issuer is not configured"),
        "wrong audience": (token(aud="billing"), 401, b"Audiences in Jwt are not allowed"),
        "bad signature": (f"{head}.{forged.rstrip(b'=').decode()}.{sig}", 401, b"Jwt verification fails"),
        "alg none": (unsigned({"iss": ISSUER, "sub": "alice", "aud": "orders"}), 401,
                     b"Jwt header [alg] is not supported"),
        "not a jwt": ("abc", 401, b"Jwt is not in the form of Header.Payload.Signature"),
    }
    for name, (tok, status, body) in cases.items():
        response = jwt_mesh.call(tok)
        assert response.status == status, (name, response)
        if body is not None:
            assert response.body == body, name
            assert 'error="invalid_token"' in (response.header("www-authenticate") or ""), name
    assert "/cryptography/" in maps.read_text()


def test_unknown_kid_is_refused_until_the_jwks_is_refreshed(jwt_mesh: JwtMesh) -> None:
    jwt_mesh.keys.text = jwks(public_jwk(KEY1, "k1"), public_jwk(KEY2, "k2"))  # the issuer rotates
    rotated = token(KEY2, "EdDSA", "k2")
    response = jwt_mesh.call(rotated)
    assert (response.status, response.body) == (401, b"Jwks doesn't have key to match kid or alg from Jwt")
    # The proxy's unknown-key report, as it reaches the control plane (rate-limited: asked until granted).
    client = jwt_mesh.mesh.client()

    def granted() -> bool:
        answer = client.request("POST", "/v1/jwks/refresh", {"uri": jwt_mesh.keys.url})
        return bool(answer.get("refreshing"))

    assert wait_until(granted, 15)
    assert wait_until(lambda: jwt_mesh.has_key("k2"), 15), jwt_mesh.providers()
    assert jwt_mesh.call(rotated).status == 200
    assert jwt_mesh.call(token()).status == 200
