"""A sidecar on another host: a network namespace joined to this one by a veth pair
(10.250.0.1 here, 10.250.0.2 there). The ``--tls`` control plane listens on 10.250.0.1; a proxy
in the namespace without a join token is refused (401), with one it syncs and pushes telemetry.

Needs root and ``ip`` (skipped otherwise, also under CI=true: it is not meant to run there).
The namespace and the veth pair are removed in a finally. The same rules are tested without
a namespace, with fake peer addresses, in tests/control/api/test_proxy_access.py.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.client.http import ControlClient
from tether.testing.procs import RunningProcess, start_process, start_tether, wait_until

pytestmark = pytest.mark.e2e

HOST_IP, REMOTE_IP = "10.250.0.1", "10.250.0.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns() -> Iterator[str]:
    """Yield the name of a namespace reachable at 10.250.0.2 from 10.250.0.1 (this namespace)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and the ip command for a network namespace")
    name = f"tether-e2e-{os.getpid()}"
    here, there = f"tth{os.getpid() % 100000}a", f"tth{os.getpid() % 100000}b"
    try:
        _ip("netns", "add", name)
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", name)
        _ip("addr", "add", f"{HOST_IP}/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", name, "addr", "add", f"{REMOTE_IP}/30", "dev", there)
        _ip("-n", name, "link", "set", there, "up")
        _ip("-n", name, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError) as exc:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        pytest.skip(f"cannot set up a network namespace here: {exc}")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)  # takes the pair along
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=10)


def remote_proxy(netns: str, tmp: Path, name: str, url: str, root: Path, token: str | None) -> RunningProcess:
    """Start ``tether proxy`` inside ``netns`` bound to 10.250.0.2 (ports file in ``tmp``)."""
    args = ["proxy", "--name", name, "--control", url, "--ca-file", str(root), "--bind", REMOTE_IP,
            "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--app-port", "9",
            "--telemetry-interval", "0.3", "--access-log", str(tmp / f"{name}.access.log")]
    if token is not None:
        (tmp / f"{name}.token").write_text(token)
        args += ["--token-file", str(tmp / f"{name}.token")]
    argv = ["ip", "netns", "exec", netns, sys.executable, "-m", "tether", *args, "--ports-file",
            str(tmp / f"{name}.ports")]
    env = {k: v for k, v in os.environ.items() if k != "TETHER_JOIN_TOKEN"}
    return start_process(argv, tmp, name, tmp / f"{name}.ports", env)


def get(port: int, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection(REMOTE_IP, port, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_a_remote_sidecar_needs_its_join_token(netns: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    control = start_tether(["control", "--tls", "--bind", HOST_IP, "--port", "0", "--data", str(data),
                            "--heartbeat-interval", "0.5"], tmp_path, name="control")
    procs = [control]
    try:
        url = f"https://{HOST_IP}:{control.port('port')}"
        root = data / "ca" / "root-cert.pem"
        admin = ControlClient(url, (data / "admin.token").read_text().strip(), ca_file=str(root))

        anonymous = remote_proxy(netns, tmp_path, "anonymous", url, root, None)
        procs.append(anonymous)
        refused = "refuses this proxy: HTTP 401: proxies on another host must present their join token"
        assert wait_until(lambda: refused in anonymous.stderr_text(), 20), anonymous.describe()

        token = str(admin.request("POST", "/v1/tokens", {"name": "order"})["token"])
        order = remote_proxy(netns, tmp_path, "order", url, root, token)
        procs.append(order)
        assert wait_until(lambda: get(order.port("admin"), "/ready", {"Host": "admin"}) == 200, 20), order.describe()
        views = {p.node.name: p for p in admin.proxies().proxies}
        assert set(views) == {"order"} and views["order"].address == REMOTE_IP
        assert wait_until(lambda: admin.proxies().proxies[0].status == "SYNCED", 10)

        # A request through the remote sidecar reaches the control plane's telemetry in a push.
        assert get(order.port("outbound"), "/nowhere", {"Host": "nowhere"}) == 404

        def pushed() -> bool:
            answer = admin.request("GET", "/v1/telemetry/edges")
            return any(row["source"] == "order" for row in answer["rows"])

        assert wait_until(pushed, 10), json.dumps(admin.request("GET", "/v1/telemetry/edges"))
        assert "telemetry push" not in order.stderr_text()
    finally:
        for proc in reversed(procs):
            proc.stop()
