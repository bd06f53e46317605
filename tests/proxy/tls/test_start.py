"""Start-up wiring of a sidecar's identity: join token lookup, first certificate, and no
``cryptography`` in the proxy's process even once it holds a certificate."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.control.ca.service import CaOptions, MeshCA
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import UsageError
from tether.proxy.tls.start import ENV_JOIN_TOKEN, read_join_token

# Runs in a child: the sidecar's modules, a first certificate from the control plane, then
# the report of which ``cryptography`` modules that process loaded (it must be none).
CHILD = """
import asyncio, json, random, sys
import tether.cli.proxy
from tether.client.aio import Control
from tether.core.clock import SYSTEM_CLOCK
from tether.core.tasks import TaskGroup
from tether.proxy.tls.mesh import MeshTls
from tether.proxy.tls.start import start_identity

async def main(port: int, token: str) -> None:
    tls, group = MeshTls(), TaskGroup("identity")
    manager = start_identity(group, tls, Control("127.0.0.1", port), token, SYSTEM_CLOCK, random.Random(1))
    try:
        await asyncio.wait_for(manager.ready.wait(), 30)
    finally:
        await group.close()
    assert tls.credentials is not None and tls.client is not None
    print(json.dumps({"identity": tls.credentials.identity.uri, "inbound": tls.inbound.context is not None,
                      "cryptography": sorted(m for m in sys.modules if m.partition(".")[0] == "cryptography")}))

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def test_the_join_token_comes_from_the_file_then_the_environment(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_JOIN_TOKEN, " from-env\n")
    assert read_join_token(None) == "from-env"
    (tmp_path / "t").write_text("from-file\n")
    assert read_join_token(str(tmp_path / "t")) == "from-file"
    (tmp_path / "empty").write_text("")
    with pytest.raises(UsageError, match="is empty"):
        read_join_token(str(tmp_path / "empty"))
    with pytest.raises(UsageError, match="--token-file"):
        read_join_token(str(tmp_path / "missing"))


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[tuple[MeshCA, int]]:
    cp = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    ca = cp.ca = MeshCA.in_dir(str(tmp_path), CaOptions(cert_ttl_s=600), SYSTEM_CLOCK)
    port = await cp.start("127.0.0.1", 0)
    try:
        yield ca, port
    finally:
        await cp.close()


async def test_a_proxy_with_its_certificate_has_not_loaded_cryptography(plane: tuple[MeshCA, int]) -> None:
    ca, port = plane
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(port), ca.mint("default", "order"),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(child.communicate(), 60)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == 0, err.decode()
    report = json.loads(out)
    assert report == {"identity": "spiffe://cluster.local/ns/default/sa/order", "inbound": True, "cryptography": []}
    assert ca.issued == 1
