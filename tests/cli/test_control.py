"""``tether control`` as a process: ports file, admin token, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tether.testing.procs import start_tether
from tether.testing.rawhttp import http_request


def test_etcd_store_is_refused_clearly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tether", "control", "--store", "etcd://127.0.0.1:2379",
         "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "not supported yet" in done.stderr


def test_starts_writes_ports_file_and_token_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with start_tether(["control", "--port", "0", "--data", str(data)], tmp_path) as proc:
        port = proc.port("port")
        assert proc.ports["pid"] == proc.pid
        response = http_request(port, "GET", "/v1/health", [("host", "c")])
        assert response.status == 200 and response.body is not None
        assert json.loads(response.body)["store"] == "ok"
        assert (data / "admin.token").stat().st_mode & 0o777 == 0o600
        assert (data / "tether.db").exists()
        assert proc.stop() == 0
