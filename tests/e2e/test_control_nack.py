"""A proxy that refuses a snapshot: its reason shows in proxy-status and check."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tether.testing.mesh import Mesh
from tether.testing.procs import start_process, wait_until

pytestmark = pytest.mark.e2e

# With the current translation a real sidecar never receives a snapshot it must refuse, so
# the refusing proxy is the real watch client in its own process with a sink that says no.
REFUSER = """
import asyncio, random, sys
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.proxy.watch import run_watch

class Refuse:
    def apply_snapshot(self, snapshot):
        raise ConfigRejected("route 'default' names unknown cluster 'outbound|80||x'")

asyncio.run(run_watch(sys.argv[1], ProxyNode(name="stubborn"), Refuse(),
                      inbound_address="127.0.0.1:1", clock=SYSTEM_CLOCK, rng=random.Random()))
"""


def test_nack_reason_in_proxy_status_and_check(mesh: Mesh, tmp_path: Path) -> None:
    proc = start_process([sys.executable, "-c", REFUSER, mesh.url], tmp_path, "refuser")
    mesh.others.append(proc)

    def nacked() -> bool:
        statuses = mesh.status()
        return "stubborn" in statuses and statuses["stubborn"].last_nack is not None

    assert wait_until(nacked, 15), proc.describe()
    status = mesh.cli("proxy-status")
    assert status.returncode == 0
    row = status.stdout.splitlines()[1]
    assert row.split()[:3] == ["stubborn", "default", "STALE"]
    assert "names unknown cluster" in row
    as_json = json.loads(mesh.cli("proxy-status", "-o", "json").stdout)
    assert as_json["proxies"][0]["last_nack"]["reason"].startswith("route 'default'")
    check = mesh.cli("check")
    assert check.returncode == 1
    assert "\u00d7 all proxies are synced (0/1)" in check.stdout
    assert "NACK: route 'default' names unknown cluster" in check.stdout
    assert "hint: run `tether proxy-status`" in check.stdout
