"""End-to-end fixtures: real ``tether proxy`` processes in front of a scriptable upstream."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tether.testing.mesh import Mesh
from tether.testing.needs import unavailable
from tether.testing.sidecar import Sidecar, free_port, start_sidecar
from tether.testing.upstream import ScriptableUpstream

SidecarFactory = Callable[..., Sidecar]


def _need_proxy() -> None:
    """Skip until ``tether proxy`` exists (fail under CI=true)."""
    if importlib.util.find_spec("tether.cli.proxy") is None:
        unavailable("tether proxy is not built yet (tether.cli.proxy is missing)")


@pytest.fixture
def promtool() -> str:
    """Path of promtool; skips when missing, fails under CI=true."""
    path = shutil.which("promtool")
    if path is None:
        unavailable("promtool is not installed")
    return path


@pytest.fixture
def sidecar_factory(tmp_path: Path) -> Iterator[SidecarFactory]:
    """Start sidecars on demand (``factory(name, services, app_port, extra)``); all are
    stopped at teardown."""
    _need_proxy()
    started: list[Sidecar] = []

    def factory(name: str, services: dict[str, int], app_port: int,
                extra: Sequence[str] = ()) -> Sidecar:
        sidecar = start_sidecar(tmp_path, name, services, app_port, extra)
        started.append(sidecar)
        return sidecar

    yield factory
    for sidecar in started:
        sidecar.proc.stop()


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    """A running ``tether control`` (the test starts its sidecars); everything stopped at teardown."""
    running = Mesh(tmp_path)
    try:
        running.start_control()
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[ScriptableUpstream]:
    with ScriptableUpstream() as upstream:
        yield upstream


@pytest.fixture
def up(shared_upstream: ScriptableUpstream) -> Iterator[ScriptableUpstream]:
    """The module's upstream with its records cleared and no script."""
    shared_upstream.clear()
    shared_upstream.reset_script()
    yield shared_upstream
    shared_upstream.reset_script()


@pytest.fixture(scope="module")
def shared_sidecar(shared_upstream: ScriptableUpstream,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """One sidecar ``client`` per module: service ``upstream`` and the app port both on the
    upstream, service ``dead`` on a port where nothing listens, header timeout 1 s."""
    _need_proxy()
    tmp = tmp_path_factory.mktemp("sidecar")
    services = {"upstream": shared_upstream.port, "dead": free_port()}
    sidecar = start_sidecar(tmp, "client", services, shared_upstream.port,
                            ["--header-timeout", "1"])
    try:
        yield sidecar
    finally:
        sidecar.proc.stop()


@pytest.fixture
def sidecar(shared_sidecar: Sidecar, up: ScriptableUpstream) -> Sidecar:
    """The module's sidecar; fails the test with its stderr if it has died."""
    assert shared_sidecar.proc.alive(), shared_sidecar.describe()
    return shared_sidecar
