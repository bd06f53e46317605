"""Helpers of tether.testing.sidecar that do not need a running proxy."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml

from tether.testing.procs import RunningProcess
from tether.testing.sidecar import Sidecar, free_port, parse_prometheus, service_config, service_entry


def test_service_config_is_service_entries() -> None:
    docs = list(yaml.safe_load_all(service_config({"a": 1000, "b": 2000})))
    assert [d["kind"] for d in docs] == ["ServiceEntry", "ServiceEntry"]
    assert docs[1]["spec"]["hosts"] == ["b"]
    assert docs[1]["spec"]["endpoints"][0] == {
        "address": "127.0.0.1", "ports": {"http": 2000},
        "labels": {"app": "b", "version": "v1"}}


def test_service_entry_labels_each_endpoint() -> None:
    doc = yaml.safe_load(service_entry("reviews", (1000, "reviews", "v1"), (2000, "other", "v2")))
    assert doc["spec"]["hosts"] == ["reviews"] and doc["spec"]["resolution"] == "STATIC"
    assert [(e["ports"]["http"], e["labels"]) for e in doc["spec"]["endpoints"]] == [
        (1000, {"app": "reviews", "version": "v1"}), (2000, {"app": "other", "version": "v2"})]


def test_parse_prometheus() -> None:
    text = ('# HELP x help\n# TYPE x counter\nx_total{a="1",b="q\\"x"} 3\n'
            'y 2.5\nh_bucket{le="+Inf"} 7\n')
    samples = parse_prometheus(text)
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("x_total", {"a": "1", "b": 'q"x'}, 3.0), ("y", {}, 2.5),
        ("h_bucket", {"le": "+Inf"}, 7.0)]
    with pytest.raises(ValueError):
        parse_prometheus("{bad} 1\n")


def test_free_port_is_free() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", free_port()), timeout=2)


def test_access_log_skips_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(json.dumps({"path": "/a"}) + "\n" + '{"path": "/b"')

    class Fake(RunningProcess):
        def __init__(self) -> None:
            self.ports = {"outbound": 1, "inbound": 2, "admin": 3}

    sidecar = Sidecar(Fake(), "n", log)
    assert sidecar.access_log() == [{"path": "/a"}]
    assert sidecar.log_entries(1, lambda e: e["path"] == "/a", timeout=0) == [{"path": "/a"}]
