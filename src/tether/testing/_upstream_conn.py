"""One connection of the scriptable upstream: httptools parsing, ordered answers, flow control."""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

import httptools
import msgspec

from tether.core.tasks import TaskGroup
from tether.testing._upstream_responses import FAST_RESPONSE, respond, small_response
from tether.testing._upstream_types import Plan, ReceivedRequest

BODY_KEEP_LIMIT = 1 << 20
"""Request bodies up to this size are kept in ``ReceivedRequest.body``; longer ones only hashed."""


class _Answer(msgspec.Struct, frozen=True):
    request: ReceivedRequest
    plan: Plan
    keep_alive: bool


class ServerHooks(Protocol):
    """What a connection asks of its server."""

    def received(self, request: ReceivedRequest) -> Plan: ...


class Connection(asyncio.Protocol):
    """Parses requests and answers them strictly in order (pipelining-safe)."""

    def __init__(self, hooks: ServerHooks, conn_id: int,
                 on_lost: Callable[[Connection], None] | None = None) -> None:
        self._hooks = hooks
        self._on_lost = on_lost
        self.conn_id = conn_id
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._tasks = TaskGroup(f"upstream-conn-{conn_id}")
        # An item is an answer to give, raw bytes to write in order (100 Continue), or None
        # for "the request did not parse: 400 and close".
        self._queue: deque[_Answer | bytes | None] = deque()
        self._busy = False
        self._closing = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._begin()

    def _begin(self) -> None:
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._trailers: list[tuple[str, str]] = []
        self._in_trailers = False
        self._sha = hashlib.sha256()
        self._length = 0
        self._body: list[bytes] | None = []

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._writable.set()
        self._tasks.cancel_all()  # a peer that went away leaves no answer pending
        if self._on_lost is not None:
            self._on_lost(self)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        while data and not self._closing:
            try:
                self._parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as exc:
                # Answer an Upgrade request like any other and keep parsing HTTP after it.
                offset = int(exc.args[0]) if exc.args else len(data)
                self._parser = httptools.HttpRequestParser(self)
                data = data[offset:]
            except httptools.HttpParserError:
                self._queue.append(None)
                self._closing_after_queue()
                return

    async def abort(self) -> None:
        """Drop the connection and cancel its work."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()
        await self._tasks.close()

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._begin()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        pair = (name.decode("latin-1"), value.decode("latin-1"))
        (self._trailers if self._in_trailers else self._headers).append(pair)

    def on_headers_complete(self) -> None:
        self._in_trailers = True
        expect = [v for k, v in self._headers if k.lower() == "expect"]
        if expect and expect[0].lower() == "100-continue":
            self._write_in_order(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._sha.update(body)
        self._length += len(body)
        if self._body is not None:
            self._body.append(body)
            if self._length > BODY_KEEP_LIMIT:
                self._body = None

    def on_message_complete(self) -> None:
        if self._closing:
            return
        parsed = httptools.parse_url(self._url) if self._url != b"*" else None
        request = ReceivedRequest(
            method=self._parser.get_method().decode(), target=self._url.decode("latin-1"),
            path=(parsed.path or b"/").decode("latin-1") if parsed else "*",
            query=(parsed.query or b"").decode("latin-1") if parsed else "",
            http_version=self._parser.get_http_version(), headers=tuple(self._headers),
            trailers=tuple(self._trailers),
            body=b"".join(self._body) if self._body is not None else None,
            body_length=self._length, body_sha256=self._sha.hexdigest(),
            connection_id=self.conn_id)
        plan = self._hooks.received(request)
        keep_alive = bool(self._parser.should_keep_alive())
        if not self._busy and not self._queue and self._answer_now(request, plan, keep_alive):
            return
        self._queue.append(_Answer(request, plan, keep_alive))
        self._ensure_worker()

    # -- answering -------------------------------------------------------------------------

    def _write_in_order(self, data: bytes) -> None:
        if self._busy or self._queue:
            self._queue.append(data)
            self._ensure_worker()
        elif self._transport is not None:
            self._transport.write(data)

    def _closing_after_queue(self) -> None:
        if not self._busy and len(self._queue) == 1:
            self._queue.clear()
            self._bad_request()
        else:
            self._ensure_worker()

    def _bad_request(self) -> None:
        if self._transport is not None and not self._closing:
            self._transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"
                                  b"connection: close\r\n\r\n")
            self._transport.close()
        self._closing = True

    def _ensure_worker(self) -> None:
        if not self._busy:
            self._busy = True
            self._tasks.spawn("answer", self._work())

    async def _work(self) -> None:
        try:
            while self._queue and not self._closing:
                item = self._queue.popleft()
                if item is None:
                    self._bad_request()
                    return
                if isinstance(item, bytes):
                    self.write(item)
                    continue
                if item.plan.delay > 0:
                    await asyncio.sleep(item.plan.delay)
                await respond(self, item.request, item.plan, item.keep_alive)
        finally:
            self._busy = False

    def _answer_now(self, request: ReceivedRequest, plan: Plan, keep_alive: bool) -> bool:
        """Answer small responses synchronously (the benchmark's fast path); return if done."""
        if plan.delay > 0 or plan.reset or self._transport is None:
            return False
        if plan.fail_status is None:
            if request.path == "/fast" and keep_alive and request.method != "HEAD":
                self._transport.write(FAST_RESPONSE)
                return True
            if request.path.startswith(("/delay/", "/bytes/", "/chunked/", "/reset")):
                return False
        self.finish(small_response(request, plan, keep_alive), keep_alive)
        return True

    def finish(self, data: bytes, keep_alive: bool) -> None:
        """Write the end of an answer; close afterwards unless ``keep_alive``."""
        self.write(data)
        if not keep_alive and self._transport is not None:
            self._closing = True
            self._transport.close()

    def write(self, data: bytes) -> None:
        """Write ``data`` now (used by the streaming responders)."""
        if self._transport is not None and not self._closing:
            self._transport.write(data)

    async def drain(self) -> bool:
        """Wait until the peer reads; return False if the connection is gone."""
        await self._writable.wait()
        return not self._closing

    def reset(self) -> None:
        """Close the socket without answering."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()


