"""The identity manager against a real control plane (in-process): first certificate, rotation, refusals."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.client.aio import Control
from tether.control.ca.service import CaOptions, MeshCA
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.clock import SYSTEM_CLOCK
from tether.core.tasks import TaskGroup
from tether.proxy.tls.contexts import Credentials
from tether.proxy.tls.identity import IdentityManager, credentials_of, identity_of_token, renew_delay
from tether.proxy.tls.jointoken import InvalidToken
from tether.proxy.tls.spiffe import BadIdentity, make_id


def test_renewal_comes_at_seventy_percent_of_the_remaining_lifetime() -> None:
    rng = random.Random(1)
    delays = [renew_delay(1000.0, 900.0, rng) for _ in range(200)]
    assert all(65.0 <= d <= 75.0 for d in delays)
    assert renew_delay(900.0, 1000.0, rng) == 0.0  # already expired: at once


def test_the_identity_comes_from_the_token() -> None:
    with pytest.raises(InvalidToken):
        identity_of_token("nonsense")


ORDER = make_id("cluster.local", "default", "order")
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
ANSWER = {"certificate": CERT, "trust_bundle": [CERT], "spiffe_id": ORDER.uri, "expires": 1800000000.0}


def test_the_certificate_s_identity_and_expiry_come_from_the_answer() -> None:
    creds = credentials_of(ANSWER, b"key", ORDER)
    assert (creds.identity, creds.not_after, creds.bundle, creds.key_pem) == (ORDER, 1800000000.0, (CERT,), b"key")
    with pytest.raises(BadIdentity, match=r"issued spiffe://cluster\.local/ns/default/sa/evil, expected"):
        credentials_of({**ANSWER, "spiffe_id": "spiffe://cluster.local/ns/default/sa/evil"}, b"key", ORDER)
    with pytest.raises(BadIdentity, match="no PEM certificate"):
        credentials_of({**ANSWER, "certificate": "nope"}, b"key", ORDER)
    malformed: object
    for malformed in ({k: v for k, v in ANSWER.items() if k != "expires"}, {**ANSWER, "expires": "soon"}, []):
        with pytest.raises(ValueError):
            credentials_of(malformed, b"key", ORDER)


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[tuple[MeshCA, int]]:
    cp = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    ca = cp.ca = MeshCA.in_dir(str(tmp_path), CaOptions(cert_ttl_s=2), SYSTEM_CLOCK)
    port = await cp.start("127.0.0.1", 0)
    try:
        yield ca, port
    finally:
        await cp.close()


async def _installs(manager_args: tuple[int, str], count: int) -> list[Credentials]:
    port, token = manager_args
    got: list[Credentials] = []
    done = asyncio.Event()

    def install(creds: Credentials) -> None:
        got.append(creds)
        if len(got) >= count:
            done.set()

    tasks = TaskGroup("identity-test")
    manager = IdentityManager(Control("127.0.0.1", port), token, install, SYSTEM_CLOCK, random.Random(3))
    tasks.spawn("identity", manager.run())
    try:
        await asyncio.wait_for(done.wait(), 15)
    finally:
        await tasks.close()
    return got


async def test_certificates_are_renewed_before_they_expire(plane: tuple[MeshCA, int]) -> None:
    ca, port = plane
    got = await _installs((port, ca.mint("default", "order")), 3)
    assert [c.identity.uri for c in got] == ["spiffe://cluster.local/ns/default/sa/order"] * 3
    assert len({c.chain_pem for c in got}) == 3  # a new certificate (and key) each time
    assert got[1].not_after > got[0].not_after


async def test_a_refused_token_is_retried_and_logged(plane: tuple[MeshCA, int], caplog: pytest.LogCaptureFixture) -> None:
    ca, port = plane
    token = ca.mint("default", "order")
    forged = token[:-6] + "AAAAAA"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_installs((port, forged), 1), 1.0)
    assert "certificate for spiffe://cluster.local/ns/default/sa/order refused by the control plane: HTTP 401" \
        in caplog.text
    assert ca.refused >= 2
