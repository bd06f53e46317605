"""A minimal asyncio client of the control API for the proxy's watch (httptools responses).

One short-lived connection per JSON request; one long-lived connection per watch stream,
read as newline-delimited lines from a chunked body. ``Control`` says where the control plane
is: plain http, or https verified against a CA bundle (``tether.client.tls``), and the join
token a proxy presents as ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httptools

from tether.client.tls import client_context, parse_control_url, resolve_ca_file
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


@dataclass(frozen=True)
class Control:
    """Where the control plane is: ``tls`` set for https; ``token`` (a join token) is sent as
    ``Authorization: Bearer`` on every call when set."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @property
    def url(self) -> str:
        """Return ``http[s]://HOST:PORT``."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def with_token(self, token: str | None) -> Control:
        """Return this endpoint presenting ``token``."""
        return replace(self, token=token)

    async def request_json(self, method: str, path: str, body: Any = None, limit: float = 10.0) -> Any:
        """Send one request and return the decoded JSON answer (see ``request_json``)."""
        return await request_json(self.host, self.port, method, path, body, limit, tls=self.tls, token=self.token)

    def stream_lines(self, path: str, *, connect_timeout: float = 10.0,
                     idle_timeout: float = 30.0) -> AsyncIterator[bytes]:
        """Yield each line of a streamed answer (see ``stream_lines``)."""
        return stream_lines(self.host, self.port, path, connect_timeout=connect_timeout, idle_timeout=idle_timeout,
                            tls=self.tls, token=self.token)


def control_endpoint(url: str, *, ca_file: str | None = None, token: str | None = None,
                     token_files: Sequence[str | None] = ()) -> Control:
    """Return the endpoint of ``url`` (``http://`` or ``https://HOST:PORT``). For https the server
    is verified with ``ca_file``, else TETHER_CA_FILE, else ``<dir of a token file>/ca/root-cert.pem``,
    else the system store.

    Raises UsageError for a malformed URL or a missing/unusable CA file.
    """
    scheme, host, port = parse_control_url(url)
    if scheme == "http":
        return Control(host, port, token=token)
    chosen = resolve_ca_file(ca_file, *token_files)
    return Control(host, port, client_context(chosen), token, chosen)


async def _connect(host: str, port: int,
                   tls: ssl.SSLContext | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if tls is None:
        return await asyncio.open_connection(host, port)
    return await asyncio.open_connection(host, port, ssl=tls, server_hostname=host)


def _head(method: str, host: str, port: int, path: str, body: bytes | None, token: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}:{port}", "accept: application/json"]
    if token:
        lines.append(f"authorization: Bearer {token}")
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
    host: str, port: int, method: str, path: str, body: Any = None, limit: float = 10.0, *,
    tls: ssl.SSLContext | None = None, token: str | None = None,
) -> Any:
    """Send one request (over TLS with ``tls``, with ``token`` as a Bearer credential) and return
    the decoded JSON answer. ``body`` is encoded as JSON, unless it is ``bytes`` (sent as is).

    Raises OSError/TimeoutError (after ``limit`` seconds) when the control plane is
    unreachable (ssl.SSLError, an OSError, when its certificate does not verify),
    ControlError on an error status or a malformed answer.
    """
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    async with asyncio.timeout(limit):
        reader, writer = await _connect(host, port, tls)
        try:
            writer.write(_head(method, host, port, path, data, token))
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
    host: str, port: int, path: str, *, connect_timeout: float = 10.0, idle_timeout: float = 30.0,
    tls: ssl.SSLContext | None = None, token: str | None = None,
) -> AsyncIterator[bytes]:
    """Yield each line (without the newline) of a streamed answer, empty lines included.

    Raises TimeoutError when nothing arrives for ``idle_timeout`` seconds, OSError when the
    connection fails, ControlError on an error status or when the stream ends.
    """
    async with asyncio.timeout(connect_timeout):
        reader, writer = await _connect(host, port, tls)
    try:
        writer.write(_head("GET", host, port, path, None, token))
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
