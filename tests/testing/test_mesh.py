"""ThreadPlane: a control plane in the test's process that blocking clients call."""

from __future__ import annotations

from pathlib import Path

from tether.client.http import ControlClient
from tether.testing.mesh import ThreadPlane


def test_thread_plane_serves_blocking_clients_until_closed(tmp_path: Path) -> None:
    plane = ThreadPlane(tmp_path / "data", heartbeat_interval=0.5)
    try:
        token = (tmp_path / "data" / "admin.token").read_text().strip()
        health = ControlClient(f"http://127.0.0.1:{plane.port}", token).health()
        assert health.status == "ok" and health.proxies == 0
        assert plane.run(_answer()) == 42
    finally:
        plane.close()
    assert not plane.thread.is_alive() and plane.loop.is_closed()


async def _answer() -> int:
    return 42
