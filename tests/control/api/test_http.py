"""Tests of the control API's compact HTTP/1.1 server over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tether.control.api.http import (
    ChunkWriter,
    HttpError,
    HttpServer,
    Request,
    Response,
    StreamResponse,
    json_response,
)

closed: list[str] = []


async def handler(request: Request) -> Response | StreamResponse:
    if request.path == "/echo":
        return json_response(
            {"method": request.method, "query": request.query, "json": request.json(),
             "peer": request.peer, "ua": request.headers.get("user-agent")}
        )
    if request.path == "/boom":
        raise RuntimeError("bug")
    if request.path == "/stream":
        async def produce(out: ChunkWriter) -> None:
            for i in range(3):
                await out.send(b"line %d\n" % i)
            if request.query.get("hold"):
                await asyncio.sleep(3600)

        return StreamResponse(produce, on_close=lambda: closed.append(request.path))
    raise HttpError(404, f"no such path {request.path}", hint="try /echo")


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = HttpServer(handler, max_body=1024)
    await srv.start("127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.close()


async def exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


async def test_json_request_and_keep_alive(server: HttpServer) -> None:
    body = b'{"a": 1}'
    req = (
        b"POST /echo?x=1 HTTP/1.1\r\nHost: c\r\nUser-Agent: t\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    last = b"GET /echo HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"
    data = await exchange(server.port, req + last)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert b'"json": {"a": 1}' in data and b'"query": {"x": "1"}' in data
    assert b'"peer": "127.0.0.1"' in data


async def test_errors_are_json(server: HttpServer) -> None:
    close = b"Host: c\r\nConnection: close\r\n"
    data = await exchange(server.port, b"GET /nope HTTP/1.1\r\n" + close + b"\r\n")
    assert data.startswith(b"HTTP/1.1 404")
    assert b'"error": "no such path /nope"' in data and b'"hint": "try /echo"' in data
    data = await exchange(server.port, b"GET /boom HTTP/1.1\r\n" + close + b"\r\n")
    assert data.startswith(b"HTTP/1.1 500")
    data = await exchange(
        server.port, b"POST /echo HTTP/1.1\r\n" + close + b"Content-Length: 3\r\n\r\nnot"
    )
    assert data.startswith(b"HTTP/1.1 400") and b"not JSON" in data


async def test_bad_request_and_oversized_body(server: HttpServer) -> None:
    assert (await exchange(server.port, b"BLAH\r\n\r\n")).startswith(b"HTTP/1.1 400")
    big = b"POST /echo HTTP/1.1\r\nHost: c\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    assert (await exchange(server.port, big)).startswith(b"HTTP/1.1 413")


async def test_stream_is_chunked_and_terminated(server: HttpServer) -> None:
    data = await exchange(server.port, b"GET /stream HTTP/1.1\r\nHost: c\r\n\r\n")
    assert b"transfer-encoding: chunked" in data
    assert data.endswith(b"7\r\nline 2\n\r\n0\r\n\r\n")


async def test_stream_ends_when_client_leaves(server: HttpServer) -> None:
    closed.clear()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /stream?hold=1 HTTP/1.1\r\nHost: c\r\n\r\n")
    await reader.readuntil(b"line 2\n")
    writer.close()
    for _ in range(200):
        if closed:
            break
        await asyncio.sleep(0.01)
    assert closed == ["/stream"]


async def test_close_ends_open_streams(server: HttpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /stream?hold=1 HTTP/1.1\r\nHost: c\r\n\r\n")
    await reader.readuntil(b"line 2\n")
    await server.close()
    rest = await asyncio.wait_for(reader.read(), 5)
    assert not rest.endswith(b"0\r\n\r\n")  # cut off, not a completed stream
    writer.close()


async def test_oversized_headers_are_refused(server: HttpServer) -> None:
    big = b"GET /echo HTTP/1.1\r\nHost: c\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
    assert (await exchange(server.port, big)).startswith(b"HTTP/1.1 431")
