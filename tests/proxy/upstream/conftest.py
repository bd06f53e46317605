"""Fixtures of the upstream tests: a scriptable upstream, and routing tables whose pools are
closed at teardown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import pytest

from tether.core.schema.snapshot import Cluster, Route, Snapshot, VirtualHost
from tether.core.tasks import TaskGroup
from tether.proxy.routing import RoutingTable, compile_table
from tether.proxy.upstream.pool import PoolManager
from tether.testing.upstream import ScriptableUpstream

TableFactory = Callable[[Sequence[Route], Sequence[Cluster]], RoutingTable]


@pytest.fixture(scope="module")
def shared() -> Iterator[ScriptableUpstream]:
    with ScriptableUpstream() as upstream:
        yield upstream


@pytest.fixture
def up(shared: ScriptableUpstream) -> ScriptableUpstream:
    """The module's upstream with no script and no records."""
    shared.clear()
    shared.reset_script()
    return shared


@pytest.fixture
async def pools() -> AsyncIterator[PoolManager]:
    """A pool manager whose connections and tasks end with the test."""
    tasks = TaskGroup("test-pools")
    manager = PoolManager(tasks)
    yield manager
    manager.close()
    await tasks.close()
    await asyncio.sleep(0)


@pytest.fixture
def table(pools: PoolManager) -> TableFactory:
    """Build the routing table of host ``upstream`` from routes and clusters, on ``pools``."""

    def build(routes: Sequence[Route], clusters: Sequence[Cluster]) -> RoutingTable:
        vh = VirtualHost(name="v", domains=("upstream",), port=80, routes=tuple(routes))
        return compile_table(Snapshot(virtual_hosts=(vh,), clusters=tuple(clusters)), pools.pool)

    return build
