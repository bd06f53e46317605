"""The exporter against real sockets: a recording receiver, a dead port, a stalled receiver."""

from __future__ import annotations

import asyncio

import pytest

from tether.core.errors import UsageError
from tether.core.tasks import TaskGroup
from tether.proxy.telemetry.exporter import ExportFailed, otlp_exporter, parse_url, post_json, zipkin_exporter
from tether.proxy.telemetry.sink import SpanQueue
from tether.proxy.telemetry.wire import SpanRecord
from tether.testing.collector import SpanReceiver
from tether.testing.sidecar import free_port


def span(i: int) -> SpanRecord:
    return SpanRecord(f"{i + 1:032x}", f"{i + 1:016x}", "", "GET /", "client", 0, 1000, "a.default", "a", "default")


def test_parse_url_defaults_the_path() -> None:
    assert parse_url("http://127.0.0.1:4318", "/v1/traces") == ("127.0.0.1", 4318, "/v1/traces")
    assert parse_url("127.0.0.1:9411/custom", "/api/v2/spans") == ("127.0.0.1", 9411, "/custom")
    with pytest.raises(UsageError):
        parse_url("https://collector:4318", "/v1/traces")


async def test_batches_reach_the_collector() -> None:
    with SpanReceiver(status=200) as receiver:
        queue = SpanQueue()
        exporter = otlp_exporter(receiver.url, queue, batch=3, interval=0.05)
        for i in range(5):
            queue.offer(span(i))
        group = TaskGroup("test")
        group.spawn("export", exporter.run())
        try:
            for _ in range(200):
                if exporter.sent == 5:
                    break
                await asyncio.sleep(0.02)
        finally:
            await group.close()
        assert exporter.sent == 5 and exporter.failed == 0
        paths = {path for path, _ in receiver.bodies}
        assert paths == {"/v1/traces"}
        counts = [len(body["resourceSpans"][0]["scopeSpans"][0]["spans"]) for _, body in receiver.bodies]
        assert counts == [3, 2]


async def test_refusing_collector_counts_failures() -> None:
    with SpanReceiver(status=500) as receiver:
        exporter = zipkin_exporter(receiver.url, SpanQueue())
        assert not await exporter.export([span(0), span(1)])
        assert exporter.failed == 2 and exporter.sent == 0
        assert receiver.bodies[0][0] == "/api/v2/spans"


async def test_dead_collector_fails_fast_and_backs_off() -> None:
    queue = SpanQueue(capacity=4)
    exporter = otlp_exporter(f"http://127.0.0.1:{free_port()}", queue, interval=0.01, timeout=1.0)
    assert not await exporter.export([span(0)])
    for i in range(10):
        queue.offer(span(i))
    assert queue.dropped == 6  # bounded: the rest are dropped, not kept
    group = TaskGroup("test")
    group.spawn("export-dead", exporter.run())
    try:
        for _ in range(200):
            if exporter.backoff > 0:
                break
            await asyncio.sleep(0.01)
    finally:
        await group.close()
    assert exporter.backoff > 0 and exporter.failed >= 5


async def test_stalled_collector_times_out() -> None:
    with SpanReceiver(stall=True) as receiver:
        with pytest.raises(TimeoutError):
            await post_json("127.0.0.1", receiver.port, "/v1/traces", b"{}", 0.2)
        exporter = otlp_exporter(receiver.url, SpanQueue(), timeout=0.2)
        assert not await exporter.export([span(0)])


async def test_garbage_answer_is_an_export_failure() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ExportFailed):
            await post_json("127.0.0.1", port, "/", b"{}", 2.0)
    finally:
        server.close()
        await server.wait_closed()
