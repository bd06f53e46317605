"""mTLS between real sidecars: ``tether control`` (CA, 6 s certificates) and ``tether proxy --control``
processes with join tokens, real TLS handshakes on 127.0.0.1.

One mesh per module: ``client`` calls ``shipping`` (its app is a scriptable upstream);
``billing`` is registered (from loopback, without a token) at the inbound port of the ``evil``
sidecar, whose certificate names another identity. A sidecar cannot do that with its own join
token: the control plane refuses a registration the token does not entitle.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.client.http import ApiError, ControlClient
from tether.control.ca.authority import load_or_create
from tether.core.clock import SYSTEM_CLOCK
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.tls.certs import make_csr, new_key
from tether.proxy.tls.contexts import Credentials, client_context
from tether.proxy.tls.devpki import DevCa
from tether.proxy.tls.spiffe import make_id
from tether.proxy.watch import run_watch
from tether.testing.procs import RunningProcess, start_process, start_tether, wait_until
from tether.testing.rawhttp import RawClient, http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

CERT_TTL = "6s"
STRICT = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: shipping-mtls, namespace: default}
spec:
  selector: {matchLabels: {app: shipping}}
  mtls: {mode: MODE}
"""


class HeldRegistration:
    """Workload ``node`` registered without a token (from loopback) at a relay to another sidecar's
    inbound ``target_port``, its watch stream held open on a thread until ``close()``. (A relay, so
    that the endpoint's address is not the other sidecar's own: pools are per endpoint.)"""

    def __init__(self, url: str, node: ProxyNode, target_port: int) -> None:
        self.url, self.node, self.target_port = url, node, target_port
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._hold(),), daemon=True)
        self.thread.start()

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Take any snapshot (nothing runs it)."""

    async def _hold(self) -> None:
        group = TaskGroup("held-registration")
        relay = await asyncio.start_server(lambda r, w: self._relay(group, r, w), "127.0.0.1", 0)
        inbound = f"127.0.0.1:{relay.sockets[0].getsockname()[1]}"
        group.spawn("watch", run_watch(self.url, self.node, self, inbound_address=inbound, clock=SYSTEM_CLOCK,
                                       rng=random.Random(0)))
        try:
            await self.stop.wait()
        finally:
            relay.close()
            await group.close()

    async def _relay(self, group: TaskGroup, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        group.spawn("relay-up", _pipe(reader, up_writer))
        group.spawn("relay-down", _pipe(up_reader, writer))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        self.loop.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class MtlsMesh:
    """The control plane, three sidecars and the shipping app of this module."""

    def __init__(self, tmp: Path, app: ScriptableUpstream) -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.app = app
        self.procs: dict[str, RunningProcess] = {}
        self.held: list[HeldRegistration] = []
        control = start_tether(["control", "--port", "0", "--data", str(self.data), "--heartbeat-interval", "0.5",
                                "--cert-ttl", CERT_TTL], tmp, name="control")
        self.procs["control"] = control
        self.url = f"http://127.0.0.1:{control.port('port')}"
        self.admin = ControlClient(self.url, (self.data / "admin.token").read_text().strip())

    def token(self, name: str, sa: str = "") -> str:
        answer = self.admin.request("POST", "/v1/tokens", {"name": name, "namespace": "default",
                                                           "service_account": sa or name})
        return str(answer["token"])

    def proxy(self, name: str, app_port: int, token_sa: str = "", key: str = "", ready: bool = True) -> RunningProcess:
        """Start sidecar ``name`` with a join token for ``token_sa`` (default: its own), kept as
        ``procs[key or name]``; with ``ready``, wait until it has config."""
        key = key or name
        token_file = self.tmp / f"{key}.token"
        token_file.write_text(self.token(name, token_sa))
        args = ["proxy", "--name", name, "--control", self.url, "--token-file", str(token_file),
                "--app-port", str(app_port), "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0",
                "--access-log", str(self.tmp / f"{key}.access.log")]
        proc = self.procs[key] = start_tether(args, self.tmp, name=key)
        if ready:
            assert wait_until(lambda: self.get(key, "/ready").status == 200, 20), proc.describe()
        return proc

    def hold_registration(self, name: str, inbound_port: int) -> None:
        """Register workload ``name`` without a token, relayed to ``inbound_port``, until close()."""
        self.held.append(HeldRegistration(self.url, ProxyNode(name=name), inbound_port))

    def get(self, name: str, path: str) -> Any:
        return http_request(self.procs[name].port("admin"), "GET", path, [("Host", "admin")])

    def inbound_mode(self, name: str) -> str:
        snap = json.loads(self.get(name, "/config_dump").body)["snapshot"]
        return str((snap.get("inbound_tls") or {}).get("mode", "PERMISSIVE"))

    def apply(self, text: str, name: str, mode: str) -> None:
        self.admin.apply([("mtls.yaml", text)])
        assert wait_until(lambda: self.inbound_mode(name) == mode, 10)

    def call(self, target: str = "http://shipping/hello") -> int:
        return http_request(self.procs["client"].port("outbound"), "GET", target, [("Host", "shipping")]).status

    def cli_token_create(self) -> str:
        """Return what ``tether token create`` prints; asserts it exits 0."""
        done = subprocess.run([sys.executable, "-m", "tether", "token", "create", "--name", "hand-started",
                               "--control", self.url, "--token-file", str(self.data / "admin.token")],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def close(self) -> None:
        for held in self.held:
            held.close()
        for proc in self.procs.values():
            proc.stop()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MtlsMesh]:
    tmp = tmp_path_factory.mktemp("mtls")
    with ScriptableUpstream() as app:
        running = MtlsMesh(tmp, app)
        try:
            running.proxy("shipping", app.port)
            evil = running.proxy("evil", app.port)
            running.hold_registration("billing", evil.port("inbound"))  # registered as billing, certified as evil
            running.proxy("client", app.port)
            assert wait_until(lambda: running.call() == 200, 15)
            yield running
        finally:
            running.close()


def plaintext_refused(port: int) -> bool:
    """Return True when a plaintext request to ``port`` gets no response (the connection closes)."""
    with RawClient(port, timeout=5) as raw:
        raw.send(b"GET /hello HTTP/1.1\r\nHost: shipping\r\n\r\n")
        return raw.closed_by_peer(5)


def tls_refused(port: int, creds: Credentials) -> bool:
    """Return True when an mTLS request with ``creds`` gets no HTTP answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, \
                client_context(creds).wrap_socket(sock) as tls:
            tls.sendall(b"GET /hello HTTP/1.1\r\nHost: shipping\r\nConnection: close\r\n\r\n")
            return not tls.recv(100).startswith(b"HTTP/1.1")
    except (ssl.SSLError, ConnectionError, TimeoutError):
        return True


def test_sidecar_to_sidecar_traffic_is_mutual_tls(mesh: MtlsMesh) -> None:
    assert mesh.call() == 200
    text = mesh.get("shipping", "/stats/prometheus").body.decode()
    line = next(x for x in text.splitlines() if x.startswith("istio_requests_total{") and 'reporter="destination"' in x
                and 'source_workload="client"' in x)
    assert 'connection_security_policy="mutual_tls"' in line
    assert 'source_principal="cluster.local/ns/default/sa/client"' in line


def test_sidecars_holding_certificates_never_load_cryptography(mesh: MtlsMesh) -> None:
    # It would cost each sidecar ~10 MB: keys and CSRs come from a short-lived child process.
    assert mesh.call() == 200
    for name in ("client", "shipping"):
        maps = Path(f"/proc/{mesh.procs[name].pid}/maps").read_text()
        assert "/cryptography/" not in maps, name


def test_strict_rejects_plaintext_and_permissive_accepts_both(mesh: MtlsMesh) -> None:
    inbound = mesh.procs["shipping"].port("inbound")
    mesh.apply(STRICT.replace("MODE", "STRICT"), "shipping", "STRICT")
    assert plaintext_refused(inbound)
    assert mesh.call() == 200  # mTLS from the client sidecar still goes through
    assert wait_until(lambda: "plaintext connection, but mTLS is STRICT" in mesh.procs["shipping"].stderr_text(), 5)

    mesh.apply(STRICT.replace("MODE", "PERMISSIVE"), "shipping", "PERMISSIVE")
    assert http_request(inbound, "GET", "/hello", [("Host", "shipping")]).status == 200
    assert mesh.call() == 200


def test_bad_client_certificates_are_rejected_with_their_reason(mesh: MtlsMesh) -> None:
    inbound = mesh.procs["shipping"].port("inbound")
    authority = load_or_create(str(mesh.data), "cluster.local", 0.0)
    mesh_ca = DevCa.of(authority)
    good = mesh_ca.credentials("default", "client")
    assert not tls_refused(inbound, good)
    other = DevCa().credentials("default", "client", bundle=authority.bundle)
    assert tls_refused(inbound, other)
    expired = mesh_ca.credentials("default", "client", ttl_s=60, issued_at=1_000_000_000.0)
    assert tls_refused(inbound, expired)
    log = mesh.procs["shipping"]
    assert wait_until(lambda: "unable to get local issuer certificate" in log.stderr_text(), 5), log.describe()
    assert wait_until(lambda: "certificate has expired" in log.stderr_text(), 5), log.describe()


def test_a_server_with_the_wrong_spiffe_id_is_rejected(mesh: MtlsMesh) -> None:
    assert mesh.call("http://billing/hello") == 503
    log = mesh.procs["client"]
    expected = "peer is spiffe://cluster.local/ns/default/sa/evil, expected spiffe://cluster.local/ns/default/sa/billing"
    assert wait_until(lambda: expected in log.stderr_text(), 5), log.describe()


def test_a_sidecar_cannot_register_as_a_workload_its_token_does_not_entitle(mesh: MtlsMesh) -> None:
    impostor = mesh.proxy("billing", mesh.app.port, token_sa="evil", key="impostor", ready=False)
    expected = "refuses this proxy: HTTP 403: the join token grants spiffe://cluster.local/ns/default/sa/evil"
    assert wait_until(lambda: expected in impostor.stderr_text(), 20), impostor.describe()
    billing = [p for p in mesh.admin.proxies().proxies if p.node.name == "billing"]
    assert len(billing) == 1 and billing[0].port != impostor_port(impostor)  # only the held registration
    impostor.stop()


def impostor_port(proc: RunningProcess) -> int | None:
    return proc.port("inbound") if proc.alive() else None


def test_a_csr_for_an_identity_the_token_does_not_grant_is_refused(mesh: MtlsMesh) -> None:
    client = ControlClient(mesh.url)
    token = mesh.token("client")
    key = new_key()
    with pytest.raises(ApiError) as refused:
        client.request("POST", "/v1/ca/sign", {"token": token, "csr": make_csr(key, make_id("cluster.local", "default",
                                                                                              "shipping"))})
    assert refused.value.status == 403 and "grants spiffe://cluster.local/ns/default/sa/client only" in str(refused.value)
    with pytest.raises(ApiError) as forged:
        client.request("POST", "/v1/ca/sign", {"token": token[:-4] + "AAAA", "csr": make_csr(key, make_id(
            "cluster.local", "default", "client"))})
    assert forged.value.status == 401
    answer = client.request("POST", "/v1/ca/sign", {"token": token, "csr": make_csr(key, make_id(
        "cluster.local", "default", "client"))})
    assert answer["spiffe_id"] == "spiffe://cluster.local/ns/default/sa/client"


def test_admin_endpoints_refuse_requests_without_the_credential(mesh: MtlsMesh) -> None:
    anonymous = ControlClient(mesh.url)
    for path, body in (("/v1/tokens", {"name": "x"}), ("/v1/apply", {"files": []}), ("/v1/delete", {"keys": []})):
        with pytest.raises(ApiError) as refused:
            anonymous.request("POST", path, body)
        assert refused.value.status == 401, path
    done = mesh.cli_token_create()
    assert done.startswith("tjt1.")


def test_the_books_enforce_mtls_scenario(mesh: MtlsMesh) -> None:
    book = (Path(__file__).parents[2] / "examples" / "book" / "enforce-mtls.yaml").read_text()
    mesh.proxy("invoicing", mesh.app.port)
    assert wait_until(lambda: mesh.call("http://invoicing/x") == 200, 10)
    mesh.apply(book, "invoicing", "STRICT")
    assert plaintext_refused(mesh.procs["invoicing"].port("inbound"))
    assert mesh.call("http://invoicing/x") == 200
    dump = json.loads(mesh.get("client", "/config_dump").body)["snapshot"]
    cluster = next(c for c in dump["clusters"] if c["service"].startswith("invoicing."))
    assert cluster["tls_mode"] == "ISTIO_MUTUAL"
    mesh.admin.delete_files([("enforce-mtls.yaml", book)])


def test_tether_run_mints_its_sidecars_token_and_keeps_it_from_the_app(mesh: MtlsMesh) -> None:
    env = {"TETHER_TOKEN_FILE": str(mesh.data / "admin.token"), "TETHER_JOIN_TOKEN": ""}
    script = "import os, time; print('app sees token:', bool(os.environ.get('TETHER_JOIN_TOKEN')), flush=True); " \
             "time.sleep(30)"
    run = start_process([sys.executable, "-m", "tether", "run", "--name", "runner", "--control", mesh.url, "--",
                         sys.executable, "-c", script], mesh.tmp, "runner", env=env)
    mesh.procs["runner"] = run
    assert wait_until(lambda: "workload certificate for spiffe://cluster.local/ns/default/sa/runner"
                      in run.stderr_text(), 10), run.describe()
    assert wait_until(lambda: "app sees token: False" in run.stdout_text(), 10), run.describe()


def test_rotation_under_continuous_load_loses_no_request(mesh: MtlsMesh) -> None:
    statuses: list[int] = []
    stop = threading.Event()

    def load(reuse: bool) -> None:
        port = mesh.procs["client"].port("outbound")
        while not stop.is_set():
            headers = [("Host", "shipping")] + ([] if reuse else [("Connection", "close")])
            try:
                statuses.append(http_request(port, "GET", "/hello", headers).status)
            except OSError:
                statuses.append(0)

    def rotations() -> int:
        return sum(mesh.procs[n].stderr_text().count("workload certificate for") for n in ("client", "shipping"))

    before = rotations()
    threads = [threading.Thread(target=load, args=(reuse,)) for reuse in (True, False)]
    for t in threads:
        t.start()
    try:
        # 6 s certificates renew every ~4 s: wait for both sidecars to rotate at least twice more.
        assert wait_until(lambda: rotations() >= before + 4, 30)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
