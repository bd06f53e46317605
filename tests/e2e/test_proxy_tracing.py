"""Request id and trace context through ``tether proxy`` (DESIGN §6): read, created when
absent, propagated; the access log carries the same ids."""

from __future__ import annotations

import re

import pytest

from tether.testing.rawhttp import http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
HEX = re.compile(r"^[0-9a-f]+$")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def _one(sidecar: Sidecar, up: ScriptableUpstream, path: str,
         headers: list[tuple[str, str]], listener: str = "outbound") -> None:
    port = sidecar.outbound if listener == "outbound" else sidecar.inbound
    host = "upstream" if listener == "outbound" else "client"
    assert http_request(port, "GET", path, [("Host", host), *headers]).status == 200
    assert len(up.requests) == 1


@pytest.mark.parametrize("listener", ["outbound", "inbound"])
def test_request_id_created_when_absent(sidecar: Sidecar, up: ScriptableUpstream,
                                        listener: str) -> None:
    _one(sidecar, up, f"/rid-new-{listener}", [], listener)
    rid = up.requests[0].header("x-request-id")
    assert rid
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == f"/rid-new-{listener}")
    assert entry["x_request_id"] == rid


def test_request_ids_are_unique(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    for _ in range(5):
        http_request(sidecar.outbound, "GET", "/rid", [("Host", "upstream")])
    ids = {r.header("x-request-id") for r in up.requests}
    assert len(ids) == 5


def test_request_id_kept_when_present(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    _one(sidecar, up, "/rid-kept", [("x-request-id", "my-request-17")])
    assert up.requests[0].header_all("x-request-id") == ["my-request-17"]
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == "/rid-kept")
    assert entry["x_request_id"] == "my-request-17"


def test_trace_context_created_when_absent(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    _one(sidecar, up, "/trace-new", [])
    seen = up.requests[0]
    match = TRACEPARENT.match(seen.header("traceparent") or "")
    assert match, seen.headers
    trace_id = match.group(1)
    assert trace_id != "0" * 32
    b3_trace = seen.header("x-b3-traceid") or ""
    assert HEX.match(b3_trace) and trace_id.endswith(b3_trace), seen.headers
    assert HEX.match(seen.header("x-b3-spanid") or ""), seen.headers
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == "/trace-new")
    assert entry["trace_id"] == trace_id


def test_traceparent_propagated(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    _one(sidecar, up, "/trace-w3c", [("traceparent", f"00-{TRACE_ID}-{SPAN_ID}-01"),
                                     ("tracestate", "vendor=1")])
    seen = up.requests[0]
    match = TRACEPARENT.match(seen.header("traceparent") or "")
    assert match and match.group(1) == TRACE_ID, seen.headers
    assert match.group(3) == "01"
    assert seen.header("tracestate") == "vendor=1"
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == "/trace-w3c")
    assert entry["trace_id"] == TRACE_ID


def test_b3_multi_header_propagated(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    _one(sidecar, up, "/trace-b3", [("x-b3-traceid", TRACE_ID), ("x-b3-spanid", SPAN_ID),
                                    ("x-b3-sampled", "1")])
    seen = up.requests[0]
    assert seen.header("x-b3-traceid") == TRACE_ID
    assert seen.header("x-b3-sampled") == "1"
    assert HEX.match(seen.header("x-b3-spanid") or "")
    match = TRACEPARENT.match(seen.header("traceparent") or "")
    assert match and match.group(1) == TRACE_ID, seen.headers


def test_b3_single_header_propagated(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    _one(sidecar, up, "/trace-b3-single", [("b3", f"{TRACE_ID}-{SPAN_ID}-1")])
    seen = up.requests[0]
    carried = [seen.header("x-b3-traceid"), (seen.header("b3") or "").split("-")[0],
               (TRACEPARENT.match(seen.header("traceparent") or "") or [None, None])[1]]
    assert TRACE_ID in carried, seen.headers
    (entry,) = sidecar.log_entries(1, lambda e: e["path"] == "/trace-b3-single")
    assert entry["trace_id"] == TRACE_ID
