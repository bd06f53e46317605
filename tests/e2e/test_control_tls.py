"""A ``tether control --tls`` on 127.0.0.1 used the way an operator and sidecars use it: the CLI
over https (CA from the data dir, from --ca-file, a wrong one), sidecars with join tokens
syncing, routing and pushing telemetry over https."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.proxy.tls.devpki import DevCa
from tether.testing.procs import RunningProcess, start_tether, wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shipping-timeout, namespace: default}
spec:
  hosts: [shipping]
  http:
  - timeout: 3s
    route:
    - destination: {host: shipping}
"""


class TlsMesh:
    """The ``--tls`` control plane of this module, its sidecars and the CLI pointed at it."""

    def __init__(self, tmp: Path, app: ScriptableUpstream) -> None:
        self.tmp, self.app = tmp, app
        self.data = tmp / "data"
        self.procs: dict[str, RunningProcess] = {}
        control = start_tether(["control", "--tls", "--bind", "127.0.0.1", "--port", "0", "--data", str(self.data),
                                "--heartbeat-interval", "0.5"], tmp, name="control")
        self.procs["control"] = control
        self.url = f"https://127.0.0.1:{control.port('port')}"
        self.root = self.data / "ca" / "root-cert.pem"

    def cli(self, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m tether ARGS`` against the https URL (env TETHER_CONTROL) in ``tmp`` (no
        ./.tether there), bounded."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
        return subprocess.run([sys.executable, "-m", "tether", *args], input=stdin, capture_output=True, text=True,
                              timeout=60, cwd=self.tmp, env={**base, "TETHER_CONTROL": self.url, **env})

    def admin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the CLI with the admin token file (the CA comes from beside it); asserts exit 0."""
        done = self.cli(*args, "--token-file", str(self.data / "admin.token"), stdin=stdin)
        assert done.returncode == 0, done.stderr
        return done

    def proxy(self, name: str, *flags: str, **env: str) -> RunningProcess:
        token_file = self.tmp / f"{name}.token"
        token_file.write_text(self.admin("token", "create", "--name", name).stdout.strip())
        args = ["proxy", "--name", name, "--control", self.url, "--token-file", str(token_file),
                "--app-port", str(self.app.port), "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0",
                "--telemetry-interval", "0.5", "--access-log", str(self.tmp / f"{name}.access.log"), *flags]
        proc = self.procs[name] = start_tether(args, self.tmp, name=name, env=env)
        assert wait_until(lambda: self.ready(name), 20), proc.describe()
        return proc

    def ready(self, name: str) -> bool:
        return http_request(self.procs[name].port("admin"), "GET", "/ready", [("Host", "admin")]).status == 200

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stop()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsMesh]:
    tmp = tmp_path_factory.mktemp("control-tls")
    with ScriptableUpstream() as app:
        running = TlsMesh(tmp, app)
        try:
            yield running
        finally:
            running.close()


def test_apply_and_get_over_https_with_the_mesh_root(mesh: TlsMesh) -> None:
    applied = mesh.admin("apply", "-f", "-", stdin=ROUTE)
    assert "virtualservice.networking.istio.io/shipping-timeout" in applied.stdout
    got = mesh.cli("get", "vs", "shipping-timeout", "-o", "yaml", "--ca-file", str(mesh.root))
    assert got.returncode == 0, got.stderr
    assert "timeout: 3s" in got.stdout
    from_env = mesh.cli("get", "vs", TETHER_CA_FILE=str(mesh.root))
    assert from_env.returncode == 0 and "shipping-timeout" in from_env.stdout, from_env.stderr


def test_a_wrong_ca_is_refused_with_one_clear_line(mesh: TlsMesh) -> None:
    other = mesh.tmp / "other-root.pem"
    other.write_text(DevCa().bundle[0])
    for flags in (["--ca-file", str(other)], []):  # another CA; the system store
        done = mesh.cli("get", "vs", *flags)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert f"cannot verify the control plane at {mesh.url}" in lines[0] and "--ca-file" in lines[0]
    plain = mesh.cli("get", "vs", "--control", mesh.url.replace("https://", "http://"))
    assert plain.returncode == 1 and "use https://" in plain.stderr, plain.stderr


def test_sidecars_sync_route_and_report_over_https(mesh: TlsMesh) -> None:
    mesh.proxy("shipping", "--ca-file", str(mesh.root))
    mesh.proxy("web", TETHER_CA_FILE=str(mesh.root))

    def call() -> int:
        return http_request(mesh.procs["web"].port("outbound"), "GET", "http://shipping/hello",
                            [("Host", "shipping")]).status

    assert wait_until(lambda: call() == 200, 15)
    status = mesh.admin("proxy-status").stdout.splitlines()
    for name in ("shipping", "web"):
        assert any(name in line and "SYNCED" in line for line in status), status
    shipping = http_request(mesh.procs["shipping"].port("admin"), "GET", "/stats/prometheus", [("Host", "admin")])
    assert b'connection_security_policy="mutual_tls"' in (shipping.body or b"")  # certificates came over https

    def reported() -> bool:
        call()
        rows = json.loads(mesh.admin("stat", "deploy/shipping", "-o", "json").stdout)["rows"]
        return any(row["name"] == "shipping" and row["requests"] > 0 for row in rows)

    assert wait_until(reported, 15)  # the telemetry pushes went over https with the join token


def test_tether_run_mints_its_token_and_syncs_over_https(mesh: TlsMesh) -> None:
    # The admin token file is the only hint: the CA file comes from beside it.
    app = "import os; print('app sees token:', bool(os.environ.get('TETHER_JOIN_TOKEN')), flush=True)"
    done = mesh.cli("run", "--name", "runner", "--access-log", str(mesh.tmp / "runner.access.log"), "--",
                    sys.executable, "-c", app, TETHER_TOKEN_FILE=str(mesh.data / "admin.token"))
    assert done.returncode == 0, done.stderr
    assert "app sees token: False" in done.stdout
    assert "workload certificate for spiffe://cluster.local/ns/default/sa/runner" in done.stderr


def test_a_gateway_syncs_over_https(mesh: TlsMesh) -> None:
    token = mesh.admin("token", "create", "--name", "ingressgateway").stdout.strip()
    gateway = mesh.procs["gateway"] = start_tether(
        ["gateway", "--port", "0", "--admin-port", "0", "--control", mesh.url, "--ca-file", str(mesh.root),
         "--access-log", str(mesh.tmp / "gateway.access.log")], mesh.tmp, name="gateway",
        env={"TETHER_JOIN_TOKEN": token})
    assert wait_until(lambda: mesh.ready("gateway"), 20), gateway.describe()
