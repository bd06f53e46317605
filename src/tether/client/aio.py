"""A minimal asyncio client of the control API for the proxy's watch (httptools responses).

One short-lived connection per JSON request; one long-lived connection per watch stream,
read as newline-delimited lines from a chunked body.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httptools

from tether.core.errors import TetherError


class ControlError(TetherError):
    """The control plane answered with an error status (``status``) or broke the protocol."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


class _Response:
    """httptools callbacks: status, body pieces, completion."""

    def __init__(self) -> None:
        self.status = 0
        self.pieces: list[bytes] = []
        self.headers_done = False
        self.complete = False
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


def _head(method: str, host: str, port: int, path: str, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}:{port}", "accept: application/json"]
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def _error_text(raw: bytes) -> str:
    try:
        answer = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace")
    return str(answer.get("error", answer)) if isinstance(answer, dict) else str(answer)


async def request_json(
    host: str, port: int, method: str, path: str, body: Any = None, limit: float = 10.0
) -> Any:
    """Send one request and return the decoded JSON answer.

    Raises OSError/TimeoutError (after ``limit`` seconds) when the control plane is
    unreachable, ControlError on an error status or a malformed answer.
    """
    data = None if body is None else json.dumps(body).encode()
    async with asyncio.timeout(limit):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(_head(method, host, port, path, data))
            await writer.drain()
            response = _Response()
            while not response.complete:
                chunk = await reader.read(65536)
                if not chunk:
                    response.parser.feed_data(b"")  # lets a read-until-close body complete
                    if not response.complete:
                        raise ControlError(0, f"connection closed before the answer to {path}")
                    break
                response.parser.feed_data(chunk)
        except httptools.HttpParserError as exc:
            raise ControlError(0, f"malformed answer to {path}: {exc}") from None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    raw = b"".join(response.pieces)
    if response.status >= 400:
        raise ControlError(response.status, _error_text(raw))
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ControlError(response.status, f"answer to {path} is not JSON") from None


async def stream_lines(
    host: str, port: int, path: str, *, connect_timeout: float = 10.0, idle_timeout: float = 30.0
) -> AsyncIterator[bytes]:
    """Yield each line (without the newline) of a streamed answer, empty lines included.

    Raises TimeoutError when nothing arrives for ``idle_timeout`` seconds, OSError when the
    connection fails, ControlError on an error status or when the stream ends.
    """
    async with asyncio.timeout(connect_timeout):
        reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_head("GET", host, port, path, None))
        await writer.drain()
        response = _Response()
        partial: list[bytes] = []  # pieces of a line not yet ended
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), idle_timeout)
            if not chunk:
                raise ControlError(0, "the control plane closed the watch stream")
            try:
                response.parser.feed_data(chunk)
            except httptools.HttpParserError as exc:
                raise ControlError(0, f"malformed watch stream: {exc}") from None
            if response.headers_done and response.status != 200:
                if not response.complete:
                    with contextlib.suppress(TimeoutError, OSError):
                        rest = await asyncio.wait_for(reader.read(65536), 2.0)
                        response.parser.feed_data(rest)
                raise ControlError(response.status, _error_text(b"".join(response.pieces)))
            for piece in response.pieces:
                *ended, rest = piece.split(b"\n")
                for line in ended:
                    partial.append(line)
                    yield b"".join(partial)
                    partial.clear()
                if rest:
                    partial.append(rest)
            response.pieces.clear()
            if response.complete:
                raise ControlError(0, "the control plane ended the watch stream")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
