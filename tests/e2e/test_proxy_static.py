"""Static mode of ``tether proxy`` (docs/interfaces.md): start-up announcement, ports file,
SIGHUP reload, a bad file refused at start and on reload (the last good config stays)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.sidecar import Sidecar, service_config
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

SidecarFactory = Callable[..., Sidecar]


def _status(sidecar: Sidecar, host: str) -> int:
    return http_request(sidecar.outbound, "GET", "/", [("Host", host)]).status


def test_announces_ports(sidecar_factory: SidecarFactory) -> None:
    with ScriptableUpstream() as up:
        sidecar = sidecar_factory("announcer", {"upstream": up.port}, up.port)
        assert sidecar.proc.ports["pid"] == sidecar.proc.pid
        line = (f"tether proxy listening outbound={sidecar.outbound} "
                f"inbound={sidecar.inbound} admin={sidecar.admin}")
        assert wait_until(lambda: line in sidecar.proc.stderr_text(), 5), sidecar.describe()


def test_sighup_reloads_and_keeps_last_good(sidecar_factory: SidecarFactory) -> None:
    with ScriptableUpstream() as up:
        sidecar = sidecar_factory("reloader", {"upstream": up.port}, up.port)
        config = sidecar.proc.log_dir / "reloader.yaml"
        assert _status(sidecar, "second") == 404
        config.write_text(service_config({"upstream": up.port, "second": up.port}))
        sidecar.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: _status(sidecar, "second") == 200, 10), sidecar.describe()
        config.write_text("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
                          "metadata: {name: broken}\nspec: {hosts: 7}\n")
        sidecar.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "broken" in sidecar.proc.stderr_text()
                          or "refused" in sidecar.proc.stderr_text(), 10), sidecar.describe()
        assert sidecar.proc.alive()
        assert (_status(sidecar, "upstream"), _status(sidecar, "second")) == (200, 200)
        assert sidecar.admin_get("/ready").status == 200


def test_bad_config_at_start_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
                      "metadata: {name: broken}\nspec: {hosts: 7}\n")
    result = subprocess.run(
        [sys.executable, "-m", "tether", "proxy", "--name", "x", "--config", str(config),
         "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0"],
        capture_output=True, timeout=30, check=False)
    assert result.returncode == 1, result.stderr
    message = result.stderr.decode()
    assert "bad.yaml" in message
    assert "spec.hosts" in message
    assert "Traceback" not in message


def test_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tether", "proxy", "--name", "x",
         "--config", str(tmp_path / "absent.yaml"), "--outbound-port", "0",
         "--inbound-port", "0", "--admin-port", "0"],
        capture_output=True, timeout=30, check=False)
    assert result.returncode == 1
    assert "absent.yaml" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
