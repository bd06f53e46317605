"""Outbound mTLS through a real pool: the server's SPIFFE ID is checked; which endpoints use mTLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest

from tether.core.schema.snapshot import Cluster, Endpoint, Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.errors import UpstreamConnectFailure
from tether.proxy.tls.contexts import client_context, server_context
from tether.proxy.tls.devpki import DevCa
from tether.proxy.tls.outbound import ANY_PEER, UpstreamIdentity, tls_plan
from tether.proxy.upstream.pool import PoolManager

CA = DevCa()
CLIENT = CA.credentials("default", "order")


@pytest.fixture
async def tls_server() -> AsyncIterator[int]:
    """A TLS server presenting shipping's certificate that answers every request with 200."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context(CA.credentials("default", "shipping")))
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def _connect(port: int, expected: str, context: ssl.SSLContext | None) -> None:
    tasks = TaskGroup("t")
    pools = PoolManager(tasks)
    try:
        pool = pools.pool("127.0.0.1", port, UpstreamIdentity(lambda: context, expected, lambda: "cluster.local"))
        conn = await pool.connect()
        conn.close()
    finally:
        pools.close()
        await tasks.close()


async def test_the_expected_server_identity_connects(tls_server: int) -> None:
    await _connect(tls_server, "cluster.local/ns/default/sa/shipping", client_context(CLIENT))
    await _connect(tls_server, ANY_PEER, client_context(CLIENT))


async def test_another_identity_is_refused_and_logged(tls_server: int, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(UpstreamConnectFailure):
        await _connect(tls_server, "cluster.local/ns/default/sa/billing", client_context(CLIENT))
    assert "peer is spiffe://cluster.local/ns/default/sa/shipping, expected spiffe://cluster.local/ns/default/sa/billing" \
        in caplog.text


async def test_a_server_from_another_ca_and_no_certificate_fail(tls_server: int, caplog: pytest.LogCaptureFixture) -> None:
    stranger = DevCa().credentials("default", "order")
    with pytest.raises(UpstreamConnectFailure):
        await _connect(tls_server, ANY_PEER, client_context(stranger))
    assert "server certificate rejected: " in caplog.text
    with pytest.raises(UpstreamConnectFailure):
        await _connect(tls_server, ANY_PEER, None)
    assert "no workload certificate" in caplog.text


def test_the_plan_follows_cluster_modes_principals_and_plaintext_marks() -> None:
    mesh = Endpoint(address="10.0.0.1", port=1, principal="cluster.local/ns/default/sa/a")
    off = Endpoint(address="10.0.0.2", port=1, principal="cluster.local/ns/default/sa/b", plaintext=True)
    legacy = Endpoint(address="10.0.0.3", port=1)
    snap = Snapshot(clusters=(
        Cluster(name="auto", service="s", port=80, endpoints=(mesh, off, legacy)),
        Cluster(name="forced", service="f", port=80, endpoints=(legacy,), tls_mode="ISTIO_MUTUAL"),
        Cluster(name="disabled", service="d", port=80, endpoints=(Endpoint(address="10.0.0.4", port=1,
                                                                            principal="x/ns/y/sa/z"),),
                tls_mode="DISABLE"),
    ))
    assert tls_plan(snap, have_identity=True) == {("10.0.0.1", 1): "cluster.local/ns/default/sa/a",
                                                  ("10.0.0.3", 1): ANY_PEER}
    assert tls_plan(snap, have_identity=False) == {("10.0.0.3", 1): ANY_PEER}
