"""The CA's endpoints on the control API.

- ``POST /v1/ca/sign`` body ``{"token": JOIN_TOKEN, "csr": PEM}`` → ``{"certificate": PEM chain,
  "trust_bundle": [PEM...], "spiffe_id", "expires"}``; 401 for a bad token, 403 for a CSR naming
  another identity, 503 when the control plane runs without a CA. Open to proxies: the token
  is the credential. ``spiffe_id`` and ``expires`` (Unix time of the leaf's notAfter) are what
  a proxy reads, so that it never parses X.509 (and never loads ``cryptography``).
- ``POST /v1/tokens`` body ``{"name", "namespace", "service_account"}`` (admin credential) →
  ``{"token", "spiffe_id"}``.
- ``GET /v1/ca/bundle`` → ``{"trust_domain", "trust_bundle": [PEM...]}``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from tether.control.api.http import HttpError, Request, Response
from tether.control.api.http import json_response as ok
from tether.control.api.routes import route
from tether.control.ca.service import MeshCA
from tether.control.ca.tokens import InvalidToken
from tether.proxy.tls.spiffe import BadIdentity

if TYPE_CHECKING:
    from tether.control.server import ControlPlane


def ca_of(plane: ControlPlane) -> MeshCA:
    """Return the plane's CA; raises HttpError(503) when it runs without one."""
    ca: MeshCA | None = getattr(plane, "ca", None)
    if ca is None:
        raise HttpError(503, "this control plane runs without a certificate authority")
    return ca


class _SignRequest(msgspec.Struct, frozen=True):
    token: str
    csr: str


class _TokenRequest(msgspec.Struct, frozen=True):
    name: str
    namespace: str = "default"
    service_account: str = ""
    ttl_seconds: float | None = None


@route("POST", r"/v1/ca/sign", access="proxy")
async def sign(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    ca = ca_of(plane)
    try:
        body = msgspec.json.decode(request.body, type=_SignRequest)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise HttpError(400, f'expected {{"token": JOIN_TOKEN, "csr": PEM}}: {exc}') from None
    try:
        issued = ca.issue(body.token, body.csr, request.peer)
    except InvalidToken as exc:
        raise HttpError(401, str(exc)) from None
    except BadIdentity as exc:
        raise HttpError(403, str(exc)) from None
    return ok(msgspec.to_builtins(issued))


@route("POST", r"/v1/tokens", access="admin")
async def create_token(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    ca = ca_of(plane)
    try:
        body = msgspec.json.decode(request.body, type=_TokenRequest)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise HttpError(400, f'expected {{"name": N, "namespace": NS, "service_account": SA}}: {exc}') from None
    sa = body.service_account or body.name
    try:
        token = ca.mint(body.namespace, sa, body.name, body.ttl_seconds)
    except BadIdentity as exc:
        raise HttpError(400, str(exc)) from None
    ident = ca.claims(token).identity
    return ok({"token": token, "spiffe_id": ident.uri, "trust_domain": ca.trust_domain})


@route("GET", r"/v1/ca/bundle")
async def bundle(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    ca = ca_of(plane)
    return ok({"trust_domain": ca.trust_domain, "trust_bundle": list(ca.authority.bundle)})
