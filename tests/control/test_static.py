"""Static mode: a file (or directory) of resources becomes the proxy's snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.control.model import ResourceErrors
from tether.control.static import load_static_snapshot
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode

UPSTREAM = """apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: upstream}
spec:
  hosts: [upstream]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: 18080}, labels: {app: upstream, version: v1}}]
"""


def test_service_entry_file_gives_a_routable_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "static.yaml"
    path.write_text(UPSTREAM)
    snap = load_static_snapshot(str(path), ProxyNode(name="bench"))
    (vh,) = snap.virtual_hosts
    assert {"upstream", "upstream:80", "upstream.default", "upstream.default.svc.cluster.local"} <= set(
        vh.domains)
    (cluster,) = snap.clusters
    assert cluster.name == "outbound|80||upstream.default.svc.cluster.local"
    assert [(e.address, e.port) for e in cluster.endpoints] == [("127.0.0.1", 18080)]
    assert snap.version and load_static_snapshot(str(path), ProxyNode(name="bench")).version == snap.version


def test_invalid_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(UPSTREAM.replace("number: 80", "number: eighty"))
    with pytest.raises(ResourceErrors) as info:
        load_static_snapshot(str(path), ProxyNode(name="bench"))
    assert str(info.value) == (f"{path} doc 1 ServiceEntry/upstream: spec.ports[0].number: "
                               'expected integer, got "eighty"')


def test_missing_file_is_config_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigRejected, match=r"nope.yaml: no such file or directory"):
        load_static_snapshot(str(tmp_path / "nope.yaml"), ProxyNode(name="bench"))


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(UPSTREAM)
    assert len(load_static_snapshot(str(tmp_path), ProxyNode(name="x")).clusters) == 1
