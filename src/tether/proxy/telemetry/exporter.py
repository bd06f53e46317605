"""Batched span export to a collector, in a task of its own, off the request path.

The hook only appends to a bounded queue. This task takes up to ``batch`` spans at a
time, encodes them and POSTs them with a deadline; a failed batch is dropped and
counted, never retried, and the next attempt waits longer (up to ``max_backoff``),
so a dead collector costs neither latency nor memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httptools

from tether.core.errors import TetherError, UsageError
from tether.proxy.telemetry.encode import otlp_request, zipkin_request
from tether.proxy.telemetry.sink import SpanQueue
from tether.proxy.telemetry.wire import SpanRecord

log = logging.getLogger(__name__)

Encoder = Callable[[Sequence[SpanRecord]], Any]


class ExportFailed(TetherError):
    """The collector refused a batch or did not answer in time."""


def parse_url(url: str, default_path: str) -> tuple[str, int, str]:
    """Return ``(host, port, path)`` of an ``http://HOST[:PORT][/PATH]`` URL.

    An empty path becomes ``default_path``; raises UsageError for anything but http.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"collector URL must look like http://HOST:PORT/PATH, got {url!r}")
    path = parts.path if parts.path not in ("", "/") else default_path
    return parts.hostname, parts.port or 80, path


class _Answer:
    def __init__(self) -> None:
        self.status = 0
        self.complete = False
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_message_complete(self) -> None:
        self.complete = True


async def post_json(host: str, port: int, path: str, body: bytes, limit: float) -> int:
    """POST ``body`` as JSON on a fresh connection and return the status code.

    Raises OSError / TimeoutError (after ``limit`` seconds) when the peer is unreachable
    or slow, ExportFailed when the answer is malformed.
    """
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode()
    async with asyncio.timeout(limit):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(head + body)
            await writer.drain()
            answer = _Answer()
            while not answer.complete:
                chunk = await reader.read(65536)
                try:
                    answer.parser.feed_data(chunk)
                except httptools.HttpParserError as exc:
                    raise ExportFailed(f"malformed answer from {host}:{port}: {exc}") from None
                if not chunk:
                    break
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    if not answer.status:
        raise ExportFailed(f"no answer from {host}:{port}")
    return answer.status


class Exporter:
    """Drains one span queue to one collector URL; ``run()`` is the owned task's body."""

    def __init__(
        self,
        name: str,
        url: str,
        encode: Encoder,
        queue: SpanQueue,
        *,
        default_path: str,
        batch: int = 512,
        interval: float = 1.0,
        timeout: float = 2.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.name = name
        self.host, self.port, self.path = parse_url(url, default_path)
        self.encode = encode
        self.queue = queue
        self.batch = batch
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.backoff = 0.0
        self.sent = 0
        self.failed = 0
        self._last_warning = float("-inf")

    async def run(self) -> None:
        """Export forever: wait for spans (or the interval), send one batch, repeat."""
        while True:
            if not len(self.queue):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queue.ready.wait(), self.interval)
            spans = self.queue.take(self.batch)
            if not spans:
                continue
            if await self.export(spans):
                self.backoff = 0.0
                if len(self.queue) < self.batch:
                    # Let a few more spans gather so batches are not one span each.
                    await asyncio.sleep(min(self.interval, 0.2))
            else:
                # A dead collector must not cost the proxy a connection attempt per batch:
                # wait longer after each failure; meanwhile the queue fills and drops.
                self.backoff = min(self.max_backoff, max(self.interval, self.backoff * 2))
                await asyncio.sleep(self.backoff)

    async def export(self, spans: list[SpanRecord]) -> bool:
        """Send one batch; return True when the collector accepted it (2xx)."""
        body = json.dumps(self.encode(spans), separators=(",", ":")).encode()
        try:
            status = await post_json(self.host, self.port, self.path, body, self.timeout)
            if status >= 300:
                raise ExportFailed(f"HTTP {status}")
        except (OSError, TimeoutError, ExportFailed) as exc:
            self.failed += len(spans)
            self._warn(f"{self.name} export to {self.host}:{self.port}{self.path} failed ({exc!r}); "
                       f"{len(spans)} spans dropped")
            return False
        self.sent += len(spans)
        return True

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 60.0:  # at most one line a minute per exporter
            self._last_warning = now
            log.warning("%s", message)


def otlp_exporter(url: str, queue: SpanQueue, **kw: Any) -> Exporter:
    """Return an exporter of OTLP/HTTP JSON (default path ``/v1/traces``)."""
    return Exporter("otlp", url, otlp_request, queue, default_path="/v1/traces", **kw)


def zipkin_exporter(url: str, queue: SpanQueue, **kw: Any) -> Exporter:
    """Return an exporter of Zipkin v2 JSON (default path ``/api/v2/spans``)."""
    return Exporter("zipkin", url, zipkin_request, queue, default_path="/api/v2/spans", **kw)
