"""The asyncio client of the control API over http and https (real sockets on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.client.aio import Control, ControlError, control_endpoint
from tether.control.api.http import ChunkWriter, HttpError, HttpServer, Request, Response, StreamResponse, json_response
from tether.control.ca.service import CaOptions, MeshCA
from tether.core.clock import SYSTEM_CLOCK
from tether.proxy.tls.devpki import DevCa


async def echo(request: Request) -> Response | StreamResponse:
    """Answer with what the client sent: its Authorization header and body; stream two lines."""
    if request.path == "/stream":
        async def produce(out: ChunkWriter) -> None:
            await out.send(b"first\n\nsec")
            await out.send(b"ond\n")
            await asyncio.sleep(3600)

        return StreamResponse(produce)
    if request.path == "/refuse":
        raise HttpError(403, "not you")
    return json_response({"authorization": request.headers.get("authorization"), "body": request.json()})


@pytest.fixture
async def https(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    ca = MeshCA.in_dir(str(tmp_path), CaOptions(), SYSTEM_CLOCK)
    server = HttpServer(echo, tls=ca.control_context("127.0.0.1"))
    port = await server.start("127.0.0.1", 0)
    try:
        yield port, tmp_path / "ca" / "root-cert.pem"
    finally:
        await server.close()


async def test_https_requests_carry_the_token(https: tuple[int, Path]) -> None:
    port, root = https
    control = control_endpoint(f"https://127.0.0.1:{port}", ca_file=str(root), token="tjt1.a.b")
    assert control.url == f"https://127.0.0.1:{port}" and control.ca_file == str(root)
    answer = await control.request_json("POST", "/echo", {"x": 1})
    assert answer == {"authorization": "Bearer tjt1.a.b", "body": {"x": 1}}
    assert (await control.with_token(None).request_json("POST", "/echo", b'{"raw": true}')) == {
        "authorization": None, "body": {"raw": True}}
    with pytest.raises(ControlError) as err:
        await control.request_json("GET", "/refuse")
    assert err.value.status == 403 and "not you" in str(err.value)


async def test_https_streams(https: tuple[int, Path]) -> None:
    port, root = https
    control = control_endpoint(f"https://localhost:{port}", token_files=(str(root.parent.parent / "admin.token"),))
    lines = []
    async for line in control.stream_lines("/stream", idle_timeout=5):
        lines.append(line)
        if len(lines) == 3:
            break
    assert lines == [b"first", b"", b"second"]


async def test_a_server_the_ca_does_not_vouch_for_is_refused(https: tuple[int, Path], tmp_path: Path) -> None:
    port, _ = https
    other = tmp_path / "other.pem"
    other.write_text(DevCa().bundle[0])
    control = control_endpoint(f"https://127.0.0.1:{port}", ca_file=str(other))
    with pytest.raises(ssl.SSLCertVerificationError):
        await control.request_json("GET", "/echo")


def test_http_endpoints_have_no_tls() -> None:
    control = control_endpoint("127.0.0.1:9", token="tjt1.secret")
    assert control == Control("127.0.0.1", 9, token="tjt1.secret") and control.url == "http://127.0.0.1:9"
    assert "secret" not in repr(control)  # the token stays out of logs
