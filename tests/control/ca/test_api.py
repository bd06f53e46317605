"""The CA's endpoints on a real control plane (in-process, real sockets): sign, tokens, bundle."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.client.aio import Control, ControlError, request_json
from tether.control.ca.service import CaOptions, MeshCA
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.clock import SYSTEM_CLOCK
from tether.core.schema.snapshot import Snapshot
from tether.proxy.tls.certs import make_csr, new_key
from tether.proxy.tls.identity import request_certificate
from tether.proxy.tls.spiffe import make_id


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, int]]:
    cp = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    cp.ca = MeshCA.in_dir(str(tmp_path), CaOptions(cert_ttl_s=120), SYSTEM_CLOCK)
    port = await cp.start("127.0.0.1", 0)
    try:
        yield cp, port
    finally:
        await cp.close()


async def _mint(port: int, token: str, body: dict[str, object]) -> dict[str, object]:
    """POST /v1/tokens with ``token`` as the admin credential; return the answer plus its ``status``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(b"POST /v1/tokens HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer " + token.encode()
                 + b"\r\ncontent-length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    answer: dict[str, object] = json.loads(payload)
    answer["status"] = int(head.split()[1])
    return answer


async def test_a_token_holder_gets_a_certificate_for_its_identity_only(plane: tuple[ControlPlane, int]) -> None:
    cp, port = plane
    assert cp.ca is not None
    minted = await _mint(port, cp.token, {"name": "order", "namespace": "default"})
    assert minted["status"] == 200 and minted["spiffe_id"] == "spiffe://cluster.local/ns/default/sa/order"
    token = str(minted["token"])
    ident = make_id("cluster.local", "default", "order")
    creds = await request_certificate(Control("127.0.0.1", port), token, ident)
    assert creds.identity == ident
    assert creds.bundle == cp.ca.authority.bundle
    assert 100 < creds.not_after - SYSTEM_CLOCK.wall() <= 120
    with pytest.raises(ControlError) as refused:
        await request_json("127.0.0.1", port, "POST", "/v1/ca/sign",
                           {"token": token, "csr": make_csr(new_key(), make_id("cluster.local", "default", "admin"))})
    assert refused.value.status == 403
    with pytest.raises(ControlError) as bad:
        await request_json("127.0.0.1", port, "POST", "/v1/ca/sign", {"token": "tjt1.x.y", "csr": "x"})
    assert bad.value.status == 401
    with pytest.raises(ControlError) as malformed:
        await request_json("127.0.0.1", port, "POST", "/v1/ca/sign", {"csr": "x"})
    assert malformed.value.status == 400
    assert (cp.ca.issued, cp.ca.refused) == (1, 2)


async def test_minting_needs_the_admin_credential(plane: tuple[ControlPlane, int]) -> None:
    cp, port = plane
    assert (await _mint(port, "wrong", {"name": "order"}))["status"] == 401
    assert (await _mint(port, cp.token, {"name": "order", "namespace": "Bad/NS"}))["status"] == 400


async def test_every_snapshot_carries_the_trust_bundle(plane: tuple[ControlPlane, int]) -> None:
    cp, port = plane
    answer = await request_json("127.0.0.1", port, "GET", "/v1/ca/bundle")
    assert answer["trust_domain"] == "cluster.local" and len(answer["trust_bundle"]) == 1
    secured = cp.secure(Snapshot())
    assert secured.trust_bundle == tuple(answer["trust_bundle"]) and secured.version


async def test_without_a_ca_the_endpoints_answer_503(tmp_path: Path) -> None:
    cp = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    port = await cp.start("127.0.0.1", 0)
    try:
        with pytest.raises(ControlError) as unavailable:
            await request_json("127.0.0.1", port, "GET", "/v1/ca/bundle")
        assert unavailable.value.status == 503
        assert cp.secure(Snapshot()) == Snapshot()
    finally:
        await cp.close()
