"""HTTPS to the control plane: which CA file is used, and the blocking client against a real
``--tls`` control plane (in this process, on its own thread) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.client.http import ControlClient, ControlUnreachable
from tether.client.telemetry import TelemetryClient
from tether.client.tls import client_context, describe_tls_failure, parse_control_url, resolve_ca_file
from tether.control.ca.service import CaOptions, MeshCA
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import UsageError
from tether.proxy.tls.devpki import DevCa


def test_parse_control_url() -> None:
    assert parse_control_url("https://127.0.0.1:9") == ("https", "127.0.0.1", 9)
    assert parse_control_url("https://control.example") == ("https", "control.example", 443)
    assert parse_control_url("127.0.0.1:5") == ("http", "127.0.0.1", 5)
    for bad in ("ftp://x:1", "https://", "http://x:port"):
        with pytest.raises(UsageError, match="https://HOST:PORT"):
            parse_control_url(bad)


def test_ca_file_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_CA_FILE", raising=False)
    data = tmp_path / "data"
    (data / "ca").mkdir(parents=True)
    token_file = str(data / "admin.token")
    assert resolve_ca_file(None, token_file) is None  # no root yet: the system store
    (data / "ca" / "root-cert.pem").write_text("root")
    assert resolve_ca_file(None, None, token_file) == str(data / "ca" / "root-cert.pem")
    (tmp_path / "env.pem").write_text("env")
    monkeypatch.setenv("TETHER_CA_FILE", str(tmp_path / "env.pem"))
    assert resolve_ca_file(None, token_file) == str(tmp_path / "env.pem")
    (tmp_path / "flag.pem").write_text("flag")
    assert resolve_ca_file(str(tmp_path / "flag.pem"), token_file) == str(tmp_path / "flag.pem")
    with pytest.raises(UsageError, match="does not exist"):
        resolve_ca_file(str(tmp_path / "missing.pem"))


def test_a_ca_file_without_certificates_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(UsageError, match="no usable certificate"):
        client_context(str(tmp_path / "junk.pem"))


def test_describe_tls_failure() -> None:
    assert describe_tls_failure(OSError("refused"), "https://h:1", None) is None
    line = describe_tls_failure(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "https://h:1",
                                None)
    assert line is not None and "use http://" in line


class HttpsPlane:
    """A ``--tls`` ControlPlane with its CA in ``data``, served from a thread's event loop."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="https-plane", daemon=True)
        self.thread.start()
        self.plane = ControlPlane(Store.in_dir(str(data)), ensure_admin_token(str(data)), heartbeat_interval=0.5)
        self.plane.ca = MeshCA.in_dir(str(data), CaOptions(), SYSTEM_CLOCK)
        self.plane.tls = self.plane.ca.control_context("127.0.0.1")
        self.port = asyncio.run_coroutine_threadsafe(self.plane.start("127.0.0.1", 0), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.plane.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def https_plane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpsPlane]:
    monkeypatch.delenv("TETHER_CA_FILE", raising=False)
    monkeypatch.delenv("TETHER_TOKEN_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./.tether/admin.token to find
    running = HttpsPlane(tmp_path / "data")
    try:
        yield running
    finally:
        running.close()


def test_the_cli_client_verifies_the_control_plane_with_the_mesh_root(https_plane: HttpsPlane) -> None:
    token_file = str(https_plane.data / "admin.token")
    for host in ("127.0.0.1", "localhost"):  # both are names on the control plane's certificate
        client = ControlClient(f"https://{host}:{https_plane.port}", token_file=token_file)
        assert client.ca_file == str(https_plane.data / "ca" / "root-cert.pem")
        assert client.health().status == "ok"
    tap_client = TelemetryClient(ControlClient(f"https://127.0.0.1:{https_plane.port}", token_file=token_file))
    assert tap_client.stat().rows == ()


def test_a_wrong_ca_is_refused_with_one_clear_line(https_plane: HttpsPlane, tmp_path: Path) -> None:
    other = tmp_path / "other-root.pem"
    other.write_text(DevCa().bundle[0])
    client = ControlClient(f"https://127.0.0.1:{https_plane.port}", ca_file=str(other))
    with pytest.raises(ControlUnreachable) as err:
        client.health()
    message = str(err.value)
    assert "\n" not in message
    assert f"cannot verify the control plane at https://127.0.0.1:{https_plane.port}" in message
    assert "--ca-file" in message and str(other) in message
    # another root of the same name: OpenSSL says the signature does not verify
    assert "certificate signature failure" in message or "unable to get local issuer certificate" in message
    with pytest.raises(ControlUnreachable, match="system trust store"):
        ControlClient(f"https://127.0.0.1:{https_plane.port}").health()


def test_plain_http_to_a_tls_control_plane_says_to_use_https(https_plane: HttpsPlane) -> None:
    with pytest.raises(ControlUnreachable, match=f"use https://127.0.0.1:{https_plane.port}"):
        ControlClient(f"http://127.0.0.1:{https_plane.port}").health()
