from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tether.core.errors import TetherError
from tether.demo import home
from tether.demo.server import DemoHTTPServer, env_flag, env_float, env_port, run
from tether.demo.web import Request, Response, make_handler, text

from .support import call, start, wait_until


def test_env_float() -> None:
    assert env_float({}, "X", 3.0) == 3.0
    assert env_float({"X": "0.5"}, "X", 3.0) == 0.5
    with pytest.raises(TetherError, match="X='soon' is not a number"):
        env_float({"X": "soon"}, "X", 1.0)
    with pytest.raises(TetherError, match="must not be negative"):
        env_float({"X": "-1"}, "X", 1.0)


def test_env_port() -> None:
    assert env_port({}) == 0
    assert env_port({"PORT": "8080"}) == 8080
    for raw in ("-1", "65536", "x"):
        with pytest.raises(TetherError, match="is not a port number"):
            env_port({"PORT": raw})


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("TRUE", True), ("1", True), ("", False), ("false", False)]
)
def test_env_flag(raw: str, expected: bool) -> None:
    assert env_flag({"F": raw}, "F") is expected


def test_drain_waits_for_requests_in_flight() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        entered.set()
        release.wait(10)
        return text("done")

    server = DemoHTTPServer(("127.0.0.1", 0), make_handler(slow, "t"))
    serving = threading.Thread(target=server.serve_forever, name="t-http")
    serving.start()
    answers: list[int] = []
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    client = threading.Thread(target=lambda: answers.append(call(url).status), name="t-client")
    try:
        assert server.drain(0)
        client.start()
        assert entered.wait(10)
        server.shutdown()
        assert not server.drain(0.01)
        release.set()
        assert server.drain(10)
        client.join()
        assert answers == [200]
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        serving.join()


def run_module(name: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PORT": "0", "DB_PATH": str(tmp_path / "x.db"), **env}
    return subprocess.run(
        [sys.executable, "-m", f"tether.demo.{name}"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=20,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal(tmp_path: Path, signum: signal.Signals) -> None:
    service = start("home", tmp_path)
    try:
        assert call(f"{service.url}/").status == 200
        service.process.send_signal(signum)
        assert service.process.wait(timeout=10) == 0
    finally:
        service.stop()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name", "env", "message"),
    [
        ("order", {"PORT": "eighty"}, "PORT='eighty' is not a port number"),
        ("home", {"PORT": "70000"}, "PORT='70000' is not a port number"),
        ("shipping", {"POLL_INTERVAL": "often"}, "POLL_INTERVAL='often' is not a number"),
        ("invoicing", {"DATABASE_URL": "mysql://db"}, "DATABASE_URL='mysql://db' is not supported"),
    ],
)
def test_bad_settings_exit_1_with_one_line(tmp_path: Path, name: str, env: dict[str, str], message: str) -> None:
    finished = run_module(name, tmp_path, **env)
    assert finished.returncode == 1
    assert message in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_port_in_use_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        finished = run_module("home", tmp_path, PORT=str(taken.getsockname()[1]))
    assert finished.returncode == 1
    assert "cannot listen on 127.0.0.1:" in finished.stderr


def test_run_in_process_until_stopped() -> None:
    out, stop = io.StringIO(), threading.Event()
    statuses: list[int] = []
    runner = threading.Thread(
        target=lambda: statuses.append(run(home.build, {"ACCESS_LOG": "false"}, out, stop)), name="t-run"
    )
    runner.start()
    try:
        assert wait_until(lambda: "listening on" in out.getvalue())
        port = int(out.getvalue().strip().rsplit(":", 1)[1])
        assert call(f"http://127.0.0.1:{port}/").status == 200
    finally:
        stop.set()
        runner.join(20)
    assert statuses == [0]


def test_run_reports_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home.build, {"PORT": "x"}, io.StringIO()) == 1
    assert "PORT='x' is not a port number" in capsys.readouterr().err
