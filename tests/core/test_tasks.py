from __future__ import annotations

import asyncio
import logging

import pytest

from tether.core.tasks import TaskGroup


async def test_tasks_are_named_after_their_owner_and_closed_together() -> None:
    group = TaskGroup("owner")
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = group.spawn("worker", forever())
    await started.wait()
    assert task.get_name() == "owner/worker" and len(group) == 1
    await group.close()
    assert task.cancelled() and len(group) == 0


async def test_a_failing_task_is_logged_and_does_not_stop_its_siblings(caplog: pytest.LogCaptureFixture) -> None:
    group = TaskGroup("owner")
    sibling = group.spawn("sibling", asyncio.sleep(10))

    async def boom() -> None:
        raise RuntimeError("boom")

    failed = group.spawn("boom", boom())
    with caplog.at_level(logging.ERROR):
        await asyncio.gather(failed, return_exceptions=True)
        await asyncio.sleep(0)
    assert "owner/boom failed" in caplog.text
    assert not sibling.done()
    group.cancel_all()
    await asyncio.sleep(0)
    assert sibling.cancelled()
