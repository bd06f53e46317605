"""Who may call the proxies' endpoints (register, watch, ack, telemetry push, CSR, JWKS refresh).

A proxy presents its join token as ``Authorization: Bearer <join token>``. The rule:

- a token is presented: it must be genuine and unexpired (else 401), and when the call acts
  for a node (register and telemetry push name one in their body; watch and ack name a
  registered proxy), the token must entitle that node: same trust domain, namespace and
  service account, and same workload name when the token was minted for one (else 403).
  The admin token is accepted for any node;
- no token: fine from loopback (proxies on the control plane's host, as before join tokens
  guarded anything), refused with 401 from any other address.

The CSR endpoint is left to the CA: its body carries the join token, which the CA checks and
logs with the peer's address.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from typing import TYPE_CHECKING

import msgspec

from tether.control.api.http import HttpError, Request
from tether.control.ca.tokens import InvalidToken, TokenClaims
from tether.control.registry import UnknownProxy
from tether.core.identity import ProxyNode

if TYPE_CHECKING:
    from tether.control.server import ControlPlane

# Endpoints whose JSON body names the node the call is for.
BODY_NODE_PATHS = frozenset({"/v1/proxies/register", "/v1/telemetry/push"})
_PROXY_PATH = re.compile(r"/v1/proxies/([^/]+)/(?:watch|ack)$")
# Endpoints that check a join token of their own (in the body), so need no header.
SELF_CHECKED_PATHS = frozenset({"/v1/ca/sign"})
NO_TOKEN = ("proxies on another host must present their join token (Authorization: Bearer <join token>); "
            "mint one with `tether token create --name N` and give the proxy --token-file or TETHER_JOIN_TOKEN")


class _NodeOnly(msgspec.Struct):
    node: ProxyNode


def is_loopback(peer: str) -> bool:
    """Return True when ``peer`` (an IP address) is a loopback address."""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def bearer(request: Request) -> str | None:
    """Return the token of an ``Authorization: Bearer`` header, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def node_of(plane: ControlPlane, request: Request) -> ProxyNode | None:
    """Return the node ``request`` acts for, or None when it names none (or names it badly:
    the endpoint itself then answers 400 or 404)."""
    if request.path in BODY_NODE_PATHS:
        try:
            return msgspec.json.decode(request.body, type=_NodeOnly).node
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
    match = _PROXY_PATH.match(request.path)
    if match is not None:
        try:
            return plane.registry.get(match[1]).node
        except UnknownProxy:
            return None
    return None


def refusal(claims: TokenClaims, node: ProxyNode) -> str | None:
    """Return why ``claims`` do not entitle ``node``, or None when they do."""
    wrong = [f"{what} {have!r}" for what, have, granted in (
        ("trust domain", node.trust_domain, claims.td),
        ("namespace", node.namespace, claims.ns),
        ("service account", node.sa, claims.sa),
        ("name", node.name, claims.name or node.name),
    ) if have != granted]
    if not wrong:
        return None
    minted = f" (minted for workload {claims.name!r})" if claims.name else ""
    return (f"the join token grants {claims.identity.uri}{minted}, not this proxy's {', '.join(wrong)}; "
            f"mint a token for it with `tether token create --name {node.name} --namespace {node.namespace} "
            f"--sa {node.sa}`")


def check_proxy_call(plane: ControlPlane, request: Request) -> None:
    """Return when ``request`` may use a proxy endpoint (see the module's rule).

    Raises HttpError(401) for a missing (non-loopback) or invalid token, 403 when the token
    does not entitle the node the call is for.
    """
    if request.path in SELF_CHECKED_PATHS:
        return  # the CA checks (and logs) the token of the body itself
    token = bearer(request)
    if token is None:
        if is_loopback(request.peer):
            return
        raise HttpError(401, NO_TOKEN)
    if hmac.compare_digest(token.encode(), plane.token.encode()):  # bytes: a str must be ASCII
        return
    if plane.ca is None:
        if is_loopback(request.peer):
            return  # nothing can check the token; a loopback proxy needs none
        raise HttpError(401, "this control plane runs without a CA and cannot check join tokens")
    try:
        claims = plane.ca.claims(token)
    except InvalidToken as exc:
        raise HttpError(401, f"join token refused: {exc}") from None
    node = node_of(plane, request)
    if node is not None:
        why = refusal(claims, node)
        if why is not None:
            raise HttpError(403, why)
