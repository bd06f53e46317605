"""Join tokens on the proxies' endpoints, calling the handler directly with fake peer addresses
(10.250.0.2 stands for a proxy on another host; no socket needed)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tether.control.api.http import HttpError, Request, Response
from tether.control.api.proxy_access import bearer, is_loopback, node_of, refusal
from tether.control.api.routes import make_handler
from tether.control.ca.service import CaOptions, MeshCA
from tether.control.ca.tokens import TokenClaims
from tether.control.server import ControlPlane
from tether.control.store import Store
from tether.core.clock import SYSTEM_CLOCK
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.wire import Push

REMOTE = "10.250.0.2"
ORDER = ProxyNode(name="order")


def request(path: str, peer: str, token: str = "", body: object = None, method: str = "POST") -> Request:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    return Request(method=method, path=path, query={}, headers=headers, body=raw, peer=peer)


def registration(node: ProxyNode = ORDER) -> dict[str, object]:
    return {"node": msgspec.to_builtins(node), "inbound": "10.250.0.2:15006"}


@pytest.fixture
def plane(tmp_path: Path) -> ControlPlane:
    cp = ControlPlane(Store(":memory:"), "admin-secret")
    cp.ca = MeshCA.in_dir(str(tmp_path), CaOptions(), SYSTEM_CLOCK)
    return cp


async def answer(plane: ControlPlane, req: Request) -> int:
    """Return the status the handler answers ``req`` with (an HttpError's, or the response's)."""
    try:
        result = await make_handler(plane)(req)
    except HttpError as exc:
        return exc.status
    assert isinstance(result, Response)
    return result.status


async def refused(plane: ControlPlane, req: Request) -> HttpError:
    with pytest.raises(HttpError) as err:
        await make_handler(plane)(req)
    return err.value


async def test_a_proxy_without_a_token_registers_on_loopback_only(plane: ControlPlane) -> None:
    assert await answer(plane, request("/v1/proxies/register", "127.0.0.1", body=registration())) == 200
    err = await refused(plane, request("/v1/proxies/register", REMOTE, body=registration()))
    assert err.status == 401
    assert "must present their join token" in err.message and "tether token create" in err.message


async def test_a_join_token_registers_the_node_it_entitles_from_anywhere(plane: ControlPlane) -> None:
    assert plane.ca is not None
    token = plane.ca.mint("default", "order", name="order")
    assert await answer(plane, request("/v1/proxies/register", REMOTE, token, registration())) == 200
    (record,) = plane.registry.records()
    ack = request(f"/v1/proxies/{record.id}/ack", REMOTE, token, {"version": "v1", "ok": True})
    assert await answer(plane, ack) == 200
    assert await answer(plane, request(f"/v1/proxies/{record.id}/ack", REMOTE, body={"version": "v1"})) == 401


async def test_a_token_for_another_identity_is_refused_even_on_loopback(plane: ControlPlane) -> None:
    assert plane.ca is not None
    evil = plane.ca.mint("default", "evil", name="billing")
    err = await refused(plane, request("/v1/proxies/register", "127.0.0.1", evil,
                                       registration(ProxyNode(name="billing"))))
    assert err.status == 403
    assert "grants spiffe://cluster.local/ns/default/sa/evil" in err.message
    assert "service account 'billing'" in err.message
    other_name = plane.ca.mint("default", "order", name="order-canary")
    err = await refused(plane, request("/v1/proxies/register", REMOTE, other_name, registration()))
    assert err.status == 403 and "name 'order'" in err.message
    forged = plane.ca.mint("default", "order", name="order")[:-4] + "AAAA"
    err = await refused(plane, request("/v1/proxies/register", "127.0.0.1", forged, registration()))
    assert err.status == 401 and "join token refused" in err.message


async def test_watch_and_ack_must_present_a_token_for_the_registered_node(plane: ControlPlane) -> None:
    assert plane.ca is not None
    proxy_id = plane.register(ProxyNode(name="shipping"), "10.250.0.3", 15006)
    order_token = plane.ca.mint("default", "order", name="order")
    err = await refused(plane, request(f"/v1/proxies/{proxy_id}/ack", REMOTE, order_token, {"version": "v"}))
    assert err.status == 403
    assert node_of(plane, request(f"/v1/proxies/{proxy_id}/watch", REMOTE, method="GET")) == ProxyNode(
        name="shipping")
    assert node_of(plane, request("/v1/proxies/unknown/watch", REMOTE, method="GET")) is None


async def test_telemetry_push_takes_the_join_token_of_its_node(plane: ControlPlane) -> None:
    assert plane.ca is not None
    body = msgspec.json.encode(Push(node=ORDER, interval=2.0))
    token = plane.ca.mint("default", "order", name="order")
    assert await answer(plane, request("/v1/telemetry/push", REMOTE, token, body)) == 200
    assert await answer(plane, request("/v1/telemetry/push", REMOTE, "admin-secret", body)) == 200
    assert await answer(plane, request("/v1/telemetry/push", REMOTE, body=body)) == 401
    other = plane.ca.mint("default", "shipping", name="shipping")
    assert await answer(plane, request("/v1/telemetry/push", REMOTE, other, body)) == 403
    assert await answer(plane, request("/v1/telemetry/push", "127.0.0.1", body=body)) == 200
    # a join token is no read credential
    assert await answer(plane, request("/v1/telemetry/stat", REMOTE, token, method="GET")) == 401


async def test_the_csr_and_jwks_refresh_endpoints(plane: ControlPlane) -> None:
    assert plane.ca is not None
    token = plane.ca.mint("default", "order", name="order")
    # the CSR endpoint checks the token in its body: without a header it reaches the handler
    assert await answer(plane, request("/v1/ca/sign", REMOTE, body={"token": token})) == 400
    refresh = {"uri": "https://issuer.example/jwks"}
    assert await answer(plane, request("/v1/jwks/refresh", REMOTE, token, refresh)) == 200
    assert await answer(plane, request("/v1/jwks/refresh", REMOTE, body=refresh)) == 401


async def test_without_a_ca_tokens_cannot_be_checked() -> None:
    plane = ControlPlane(Store(":memory:"), "admin-secret")
    assert await answer(plane, request("/v1/proxies/register", "127.0.0.1", "tjt1.x.y", registration())) == 200
    err = await refused(plane, request("/v1/proxies/register", REMOTE, "tjt1.x.y", registration()))
    assert err.status == 401 and "without a CA" in err.message


async def test_a_token_that_is_not_ascii_is_refused_not_a_crash(plane: ControlPlane) -> None:
    assert await answer(plane, request("/v1/proxies/register", REMOTE, "caf\u00e9", registration())) == 401
    assert await answer(plane, request("/v1/apply", "127.0.0.1", "caf\u00e9", {"files": []})) == 401


def test_helpers() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback(REMOTE)
    assert not is_loopback("not an address")
    assert bearer(request("/", REMOTE, "t")) == "t"
    assert bearer(Request("GET", "/", {}, {"authorization": "Basic abc"}, b"", REMOTE)) is None
    claims = TokenClaims(td="cluster.local", ns="default", sa="order")
    assert refusal(claims, ORDER) is None
    assert refusal(claims, ProxyNode(name="order-v2", service_account="order")) is None  # no name in the token
    why = refusal(claims, ProxyNode(name="order", namespace="shop"))
    assert why is not None and "namespace 'shop'" in why and "--namespace shop" in why
