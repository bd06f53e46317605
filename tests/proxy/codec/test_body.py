from __future__ import annotations

import asyncio

import pytest

from tether.proxy.codec.body import HIGH_WATER, Body, BodyError


async def test_backpressure_pauses_and_resumes_the_producer() -> None:
    events: list[str] = []
    body = Body(None, True, lambda: events.append("pause"), lambda: events.append("resume"))
    for _ in range(5):
        body.feed(b"x" * (HIGH_WATER // 4))
    assert events == ["pause"]
    for _ in range(5):
        await body.read()
    assert events == ["pause", "resume"]


async def test_read_waits_for_data_and_ends_with_empty_bytes() -> None:
    body = Body(3, False)
    reader = asyncio.ensure_future(body.read())
    await asyncio.sleep(0)
    body.feed(b"abc")
    assert await reader == b"abc"
    body.finish()
    assert await body.read() == b""


async def test_failure_reaches_the_reader_and_first_read_callback_runs_once() -> None:
    calls: list[int] = []
    body = Body(10, False)
    body.on_first_read = lambda: calls.append(1)
    reader = asyncio.ensure_future(body.read())
    await asyncio.sleep(0)
    body.fail(ConnectionResetError("gone"))
    with pytest.raises(BodyError):
        await reader
    assert calls == [1]


def test_complete_body_is_fully_buffered() -> None:
    body = Body.complete(b"hi")
    assert body.fully_buffered and body.take_all() == b"hi" and body.received == 2
