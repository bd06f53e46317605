"""``tether run``: an app started beside its sidecar, reachable through the inbound port,
calling out through HTTP_PROXY, and stopped together with it."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from tether.testing.procs import RunningProcess, start_process, wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

APP = textwrap.dedent(
    """
    import json, os, urllib.request
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/env":
                body = json.dumps({"proxy": os.environ.get("HTTP_PROXY"), "port": os.environ["PORT"]}).encode()
            else:  # call the upstream by service name, through the sidecar
                with urllib.request.urlopen("http://upstream/called-through-mesh", timeout=5) as reply:
                    body = reply.read()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
    """
)


def test_app_runs_beside_its_sidecar_and_stops_with_it(tmp_path: Path) -> None:
    with ScriptableUpstream() as upstream:
        config = tmp_path / "mesh.yaml"
        config.write_text(
            textwrap.dedent(
                f"""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {{name: upstream}}
                spec:
                  hosts: [upstream]
                  ports: [{{number: 80, name: http, protocol: HTTP}}]
                  resolution: STATIC
                  endpoints: [{{address: 127.0.0.1, ports: {{http: {upstream.port}}}}}]
                """
            )
        )
        app = tmp_path / "app.py"
        app.write_text(APP)
        run = start_run(
            tmp_path,
            "web",
            ["--config", str(config), "--access-log", str(tmp_path / "access.log")],
            [sys.executable, str(app)],
        )
        try:
            inbound = run.port("inbound")
            assert wait_until(lambda: _status(inbound, "/env") == 200), run.describe()
            env = json.loads(http_request(inbound, "GET", "/env", [("Host", "web")]).body or b"{}")
            assert env["proxy"] == f"http://127.0.0.1:{run.port('outbound')}"
            assert int(env["port"]) == run.ports["app"]
            called = http_request(inbound, "GET", "/call", [("Host", "web")])
            assert called.status == 200
            assert upstream.requests[-1].path == "/called-through-mesh"
            app_pid = int(run.ports["app_pid"])
            os.kill(run.pid, signal.SIGTERM)
            assert wait_until(lambda: not run.alive(), timeout=15)
            assert not Path(f"/proc/{app_pid}").exists() or "zombie" in Path(f"/proc/{app_pid}/status").read_text()
        finally:
            run.stop()


def test_app_exit_status_is_returned(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text("")
    run = start_run(tmp_path, "job", ["--config", str(config)], [sys.executable, "-c", "raise SystemExit(3)"])
    assert wait_until(lambda: not run.alive(), timeout=15)
    assert run.proc.returncode == 3


def start_run(tmp_path: Path, name: str, flags: list[str], cmd: list[str]) -> RunningProcess:
    """Start ``tether run`` (its --ports-file must come before ``--``)."""
    ports_file = tmp_path / f"{name}.ports"
    argv = [sys.executable, "-m", "tether", "run", "--name", name, *flags, "--ports-file", str(ports_file), "--", *cmd]
    return start_process(argv, tmp_path, name, ports_file)


def _status(port: int, path: str) -> int:
    try:
        return http_request(port, "GET", path, [("Host", "web")], timeout=2).status
    except OSError:
        return 0
