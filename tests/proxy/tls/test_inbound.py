"""The inbound gate over real sockets: STRICT, PERMISSIVE, DISABLE, and each kind of refusal.

Every test runs on asyncio's loop and on uvloop (conftest.py): the gate uses each loop's own SSL protocol."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest

from tether.core.clock import SYSTEM_CLOCK
from tether.core.schema.tls import DISABLE, PERMISSIVE, STRICT
from tether.proxy.exchange import Exchange, Response
from tether.proxy.listener import Listener, ListenerSettings
from tether.proxy.tls.contexts import Credentials, client_context, server_context
from tether.proxy.tls.devpki import DevCa
from tether.proxy.tls.inbound import InboundGate, InboundPolicy

CA = DevCa()
SERVER = CA.credentials("default", "shipping")
CLIENT = CA.credentials("default", "order")


async def _echo_principal(ex: Exchange) -> Response:
    principal = (ex.extra or {}).get("peer_principal", "none")
    return Response(200, body=str(principal).encode())


async def _refused(port: int, creds: Credentials | None = None, context: ssl.SSLContext | None = None) -> bool:
    """Return True when the server refuses: under TLS 1.3 the client may finish its side of
    the handshake first and only then read the server's alert (or the close)."""
    try:
        return not await _get(port, creds, context)
    except (ssl.SSLError, ConnectionError):
        return True


async def _counted(policy: InboundPolicy, kind: str) -> bool:
    """Return True once the server has counted one refusal of ``kind`` (it may log after the client saw the close)."""
    for _ in range(500):
        if policy.rejected[kind] == 1:
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.fixture
async def gate() -> AsyncIterator[tuple[Listener, InboundPolicy]]:
    listener = Listener("inbound", "inbound", _echo_principal, SYSTEM_CLOCK, ListenerSettings(header_timeout=2.0))
    policy = InboundPolicy()
    policy.context = server_context(SERVER)
    policy.trust_domain = "cluster.local"
    listener.protocol_factory = lambda: InboundGate(listener, policy)
    await listener.start("127.0.0.1", 0)
    try:
        yield listener, policy
    finally:
        await listener.close()


async def _get(port: int, creds: Credentials | None = None, context: ssl.SSLContext | None = None) -> bytes:
    ctx = context or (client_context(creds) if creds is not None else None)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            return await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            if ctx is not None:
                raise
            return b""  # a refused plaintext connection
    finally:
        writer.close()


async def test_strict_serves_mtls_and_records_the_client_principal(gate: tuple[Listener, InboundPolicy]) -> None:
    listener, policy = gate
    policy.mode = STRICT
    answer = await _get(listener.port, CLIENT)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"cluster.local/ns/default/sa/order")
    assert policy.accepted["mutual_tls"] == 1


async def test_strict_refuses_plaintext(gate: tuple[Listener, InboundPolicy], caplog: pytest.LogCaptureFixture) -> None:
    listener, policy = gate
    policy.mode = STRICT
    assert await _get(listener.port) == b""
    assert await _counted(policy, "plaintext")
    assert "plaintext connection, but mTLS is STRICT" in caplog.text


async def test_permissive_serves_both_on_one_port(gate: tuple[Listener, InboundPolicy]) -> None:
    listener, policy = gate
    policy.mode = PERMISSIVE
    assert (await _get(listener.port)).endswith(b"none")
    assert (await _get(listener.port, CLIENT)).endswith(b"sa/order")
    assert policy.accepted == {"plaintext": 1, "mutual_tls": 1}


async def test_disable_is_plaintext_only(gate: tuple[Listener, InboundPolicy]) -> None:
    listener, policy = gate
    policy.mode = DISABLE
    assert (await _get(listener.port)).startswith(b"HTTP/1.1 200")
    assert await _refused(listener.port, CLIENT)


@pytest.mark.parametrize(
    ("creds", "reason"),
    [
        (DevCa().credentials("default", "order", bundle=CA.bundle), "unable to get local issuer certificate"),
        (CA.credentials("default", "order", ttl_s=60, issued_at=0.0 + 10**9), "certificate has expired"),
    ],
    ids=["other-ca", "expired"],
)
async def test_bad_client_certificates_are_refused_with_their_reason(
    gate: tuple[Listener, InboundPolicy], caplog: pytest.LogCaptureFixture, creds: Credentials, reason: str
) -> None:
    listener, policy = gate
    policy.mode = PERMISSIVE
    assert await _refused(listener.port, creds)
    assert await _counted(policy, "handshake")
    assert reason in caplog.text


async def test_a_client_without_a_certificate_is_refused(gate: tuple[Listener, InboundPolicy]) -> None:
    listener, policy = gate
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cadata="".join(CA.bundle))
    assert await _refused(listener.port, context=ctx)
    assert await _counted(policy, "handshake")


async def test_strict_without_a_certificate_refuses_everything(gate: tuple[Listener, InboundPolicy]) -> None:
    listener, policy = gate
    policy.mode, policy.context = STRICT, None
    assert await _get(listener.port) == b""
    assert policy.rejected["no_certificate"] == 1


async def test_a_trusted_certificate_from_another_trust_domain_is_refused(
    gate: tuple[Listener, InboundPolicy], caplog: pytest.LogCaptureFixture
) -> None:
    listener, policy = gate
    other = DevCa("other.org")
    policy.context = server_context(SERVER.with_bundle((*CA.bundle, *other.bundle)))
    creds = other.credentials("default", "order", bundle=CA.bundle)
    assert await _refused(listener.port, creds)
    assert await _counted(policy, "identity")
    assert "peer spiffe://other.org/ns/default/sa/order is outside trust domain cluster.local" in caplog.text
