"""Access rules of the control API, calling the handler directly (no socket needed)."""

from __future__ import annotations

import pytest

from tether.control.api.http import HttpError, Request, Response
from tether.control.api.routes import make_handler
from tether.control.server import ControlPlane
from tether.control.store import Store


def request(method: str, path: str, peer: str, token: str = "", body: bytes = b"") -> Request:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return Request(method=method, path=path, query={}, headers=headers, body=body, peer=peer)


@pytest.fixture
def plane() -> ControlPlane:
    return ControlPlane(Store(":memory:"), "secret")


async def test_reads_open_on_loopback_only(plane: ControlPlane) -> None:
    handle = make_handler(plane)
    ok = await handle(request("GET", "/v1/health", "127.0.0.1"))
    assert isinstance(ok, Response) and ok.status == 200
    assert isinstance(await handle(request("GET", "/v1/health", "::1")), Response)
    with pytest.raises(HttpError) as err:
        await handle(request("GET", "/v1/health", "192.0.2.7"))
    assert err.value.status == 401
    remote = await handle(request("GET", "/v1/health", "192.0.2.7", token="secret"))
    assert isinstance(remote, Response) and remote.status == 200


async def test_apply_always_needs_the_token(plane: ControlPlane) -> None:
    handle = make_handler(plane)
    for token in ("", "wrong"):
        with pytest.raises(HttpError) as err:
            await handle(request("POST", "/v1/apply", "127.0.0.1", token, b'{"files": []}'))
        assert err.value.status == 401


async def test_proxy_endpoints_are_open_on_loopback_and_need_a_token_elsewhere(plane: ControlPlane) -> None:
    handle = make_handler(plane)
    with pytest.raises(HttpError) as err:  # reaches the handler: a bad body, not a 401
        await handle(request("POST", "/v1/proxies/register", "127.0.0.1", body=b"{}"))
    assert err.value.status == 400
    with pytest.raises(HttpError) as err:  # the join-token rules: tests/control/api/test_proxy_access.py
        await handle(request("POST", "/v1/proxies/register", "192.0.2.7", body=b"{}"))
    assert err.value.status == 401


async def test_unknown_path_and_method(plane: ControlPlane) -> None:
    handle = make_handler(plane)
    with pytest.raises(HttpError) as err:
        await handle(request("DELETE", "/v1/health", "127.0.0.1"))
    assert err.value.status == 405
    with pytest.raises(HttpError) as err:
        await handle(request("GET", "/v2/x", "127.0.0.1"))
    assert err.value.status == 404
