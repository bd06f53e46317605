"""The dashboard behind a real control plane socket (the fallback of the API's port)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.control.api.http import Request
from tether.control.server import ControlPlane
from tether.dashboard import make_dashboard
from tether.dashboard.app import static_file
from tether.testing.clock import FakeClock

from .support import TRACE, plane


async def get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body.decode()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, int]]:
    cp = plane(tmp_path, FakeClock())
    cp.fallback = make_dashboard(cp)
    port = await cp.start("127.0.0.1", 0)
    try:
        yield cp, port
    finally:
        await cp.close()


async def test_pages_share_the_api_port(served: tuple[ControlPlane, int]) -> None:
    _, port = served
    for path in ("/", "/service/default/order?window=10m", "/tap?service=order", "/traces", f"/traces/{TRACE}",
                 "/config", "/proxies"):
        status, headers, body = await get(port, path)
        assert status == 200, (path, body)
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in headers["content-security-policy"]
    status, _, body = await get(port, "/v1/health")  # the API keeps its paths
    assert status == 200 and '"status": "ok"' in body
    status, headers, body = await get(port, "/ui/graph.json")
    assert status == 200 and headers["content-type"] == "application/json" and '"default/order"' in body


async def test_static_files_and_missing_paths(served: tuple[ControlPlane, int]) -> None:
    _, port = served
    status, headers, body = await get(port, "/static/dashboard.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript") and "startTap" in body
    assert (await get(port, "/static/dashboard.css"))[0] == 200
    for path in ("/static/../server.py", "/static/nope.js", "/static/dashboard.py", "/nowhere"):
        assert (await get(port, path))[0] == 404, path
    assert static_file("x/../../y.css") is None
    assert (await get(port, f"/traces/{'0' * 32}"))[0] == 200  # a page saying it is gone


async def test_only_loopback_clients_and_only_reads(tmp_path: Path) -> None:
    handle = make_dashboard(plane(tmp_path, FakeClock()))
    remote = Request(method="GET", path="/", query={}, headers={}, body=b"", peer="192.0.2.7")
    assert (await handle(remote)).status == 403
    post = Request(method="POST", path="/", query={}, headers={}, body=b"", peer="127.0.0.1")
    assert (await handle(post)).status == 405
