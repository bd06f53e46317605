"""Routing of ``tether proxy`` (DESIGN §4, §7): outbound by service name, inbound to the app,
no route, dead upstream, and the admin endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.testing.rawhttp import RawClient, http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e


def test_outbound_absolute_form(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    resp = http_request(sidecar.outbound, "GET", "http://upstream/x?q=1",
                        [("Host", "upstream")])
    assert resp.status == 200, sidecar.describe()
    (seen,) = up.requests
    assert (seen.path, seen.query) == ("/x", "q=1")


@pytest.mark.parametrize("host", ["upstream", "upstream.default", "upstream.default.svc",
                                  "upstream.default.svc.cluster.local", "upstream:80"])
def test_outbound_by_host(sidecar: Sidecar, up: ScriptableUpstream, host: str) -> None:
    resp = http_request(sidecar.outbound, "GET", "/by-host", [("Host", host)])
    assert resp.status == 200, sidecar.describe()
    assert [r.path for r in up.requests] == ["/by-host"]


def test_outbound_absolute_form_with_full_name(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    resp = http_request(sidecar.outbound, "GET",
                        "http://upstream.default.svc.cluster.local:80/full",
                        [("Host", "upstream.default.svc.cluster.local")])
    assert resp.status == 200
    assert [r.path for r in up.requests] == ["/full"]


def test_inbound_delivers_to_app_port(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    resp = http_request(sidecar.inbound, "POST", "/in", [("Host", "client")], b"payload")
    assert resp.status == 200
    (seen,) = up.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/in", b"payload")
    assert seen.header("x-tether-peer") is None


def test_unknown_host_is_404_nr(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    resp = http_request(sidecar.outbound, "GET", "/nr-probe", [("Host", "nowhere")])
    assert resp.status == 404
    assert up.requests == []
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == "/nr-probe")
    assert entry["response_flags"] == "NR"
    assert entry["response_code"] == 404


def test_dead_upstream_is_503_uf(sidecar: Sidecar) -> None:
    resp = http_request(sidecar.outbound, "GET", "/uf-probe", [("Host", "dead")])
    assert resp.status == 503
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == "/uf-probe")
    assert "UF" in entry["response_flags"].split(",")


def test_connection_survives_error_answers(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        assert client.request("GET", "/a", [("Host", "nowhere")]).status == 404
        assert client.request("GET", "/b", [("Host", "upstream")]).status == 200


def test_ready(sidecar: Sidecar) -> None:
    resp = sidecar.admin_get("/ready")
    assert resp.status == 200
    assert (resp.body or b"").strip() == b"LIVE"


def _mentions(doc: Any, text: str) -> bool:
    return text in json.dumps(doc)


def test_config_dump(sidecar: Sidecar) -> None:
    resp = sidecar.admin_get("/config_dump")
    assert resp.status == 200
    doc = resp.json()
    assert set(doc) >= {"node", "snapshot"}
    assert _mentions(doc["node"], "client")
    assert _mentions(doc["snapshot"], "upstream.default.svc.cluster.local")


def test_clusters_lists_endpoints_and_counts(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    def endpoint() -> dict[str, Any]:
        doc = sidecar.admin_get("/clusters").json()
        for cluster in doc["clusters"]:
            if "upstream.default.svc.cluster.local" in cluster["service"]:
                assert cluster["port"] == 80
                (ep,) = cluster["endpoints"]
                return dict(ep)
        raise AssertionError(f"no upstream cluster in {doc}")

    before = endpoint()
    assert before["address"] == f"127.0.0.1:{up.port}"
    assert before["healthy"] is True
    assert before["ejected"] is False
    assert before["labels"] == {"app": "upstream", "version": "v1"}
    for _ in range(3):
        http_request(sidecar.outbound, "GET", "/count", [("Host", "upstream")])
    assert endpoint()["total_requests"] == before["total_requests"] + 3


def test_admin_unknown_path_is_404(sidecar: Sidecar) -> None:
    assert sidecar.admin_get("/no-such-admin-page").status == 404
