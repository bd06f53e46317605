"""MeshCA: the control API's own HTTPS certificate (``--tls``), and the refusal to expose plaintext."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from tether.cli.control import check_exposure, parse_ttl
from tether.control.ca.service import CaOptions, MeshCA
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import UsageError


async def test_the_control_api_certificate_verifies_against_the_bundle(tmp_path: Path) -> None:
    ca = MeshCA.in_dir(str(tmp_path), CaOptions(), SYSTEM_CLOCK)

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0, ssl=ca.control_context("127.0.0.1"))
    port = server.sockets[0].getsockname()[1]
    try:
        client = ssl.create_default_context(cadata="".join(ca.authority.bundle))
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(host, port, ssl=client, server_hostname=host)
            assert await reader.read() == b"hi"
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_plaintext_beyond_loopback_is_refused() -> None:
    check_exposure("127.0.0.1", tls=False)
    check_exposure("localhost", tls=False)
    check_exposure("0.0.0.0", tls=True)
    with pytest.raises(UsageError, match="add --tls"):
        check_exposure("0.0.0.0", tls=False)
    with pytest.raises(UsageError, match="add --tls"):
        check_exposure("10.1.2.3", tls=False)


def test_certificate_lifetimes() -> None:
    assert (parse_ttl("6s"), parse_ttl("30m"), parse_ttl("24h"), parse_ttl("90")) == (6, 1800, 86400, 90)
    for bad in ("soon", "0s", ""):
        with pytest.raises(UsageError):
            parse_ttl(bad)
