"""The protective defaults of DESIGN §7 on ``tether proxy``: bad input gets a clear answer
(and, where it cannot be framed safely, a closed connection), never a crash."""

from __future__ import annotations

import pytest

from tether.testing.rawhttp import RawClient, http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

LISTENERS = ["outbound", "inbound"]


def _port(sidecar: Sidecar, listener: str) -> int:
    return sidecar.outbound if listener == "outbound" else sidecar.inbound


def _host(listener: str) -> str:
    return "upstream" if listener == "outbound" else "client"


@pytest.mark.parametrize("listener", LISTENERS)
def test_headers_over_60_kib_are_431(sidecar: Sidecar, up: ScriptableUpstream,
                                     listener: str) -> None:
    headers = [("Host", _host(listener)), ("x-big", "a" * (61 * 1024))]
    resp = http_request(_port(sidecar, listener), "GET", "/big", headers)
    assert resp.status == 431
    assert up.requests == []


@pytest.mark.parametrize("listener", LISTENERS)
def test_over_100_header_fields_are_431(sidecar: Sidecar, up: ScriptableUpstream,
                                        listener: str) -> None:
    headers = [("Host", _host(listener))] + [(f"x-f{i}", "v") for i in range(101)]
    resp = http_request(_port(sidecar, listener), "GET", "/many", headers)
    assert resp.status == 431
    assert up.requests == []


def test_many_small_headers_within_limits_pass(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    headers = [("Host", "upstream")] + [(f"x-f{i}", "v" * 100) for i in range(60)]
    assert http_request(sidecar.outbound, "GET", "/ok", headers).status == 200


@pytest.mark.parametrize("listener", LISTENERS)
def test_slow_headers_are_408_and_closed(sidecar: Sidecar, up: ScriptableUpstream,
                                         listener: str) -> None:
    # The shared sidecar runs with --header-timeout 1.
    with RawClient(_port(sidecar, listener), timeout=15) as client:
        client.send(f"GET /slow HTTP/1.1\r\nHost: {_host(listener)}\r\n".encode())
        resp = client.read_response()
        assert resp.status == 408
        assert client.closed_by_peer()
    assert up.requests == []


BAD_REQUESTS = {
    "cl-and-te": b"POST /x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "duplicate-cl": b"POST /x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n"
                    b"Content-Length: 4\r\n\r\nabcd",
    "bare-lf": b"GET /x HTTP/1.1\nHost: {host}\n\n",
    "obs-fold": b"GET /x HTTP/1.1\r\nHost: {host}\r\nX-Folded: a\r\n  b\r\n\r\n",
}


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_unframeable_requests_are_400_and_closed(sidecar: Sidecar, up: ScriptableUpstream,
                                                 listener: str, case: str) -> None:
    raw = BAD_REQUESTS[case].replace(b"{host}", _host(listener).encode())
    with RawClient(_port(sidecar, listener)) as client:
        client.send(raw)
        resp = client.read_response()
        assert resp.status == 400
        assert client.closed_by_peer()
    assert up.requests == []
    assert sidecar.proc.alive(), sidecar.describe()


@pytest.mark.parametrize("listener", LISTENERS)
def test_http11_without_host_is_400(sidecar: Sidecar, up: ScriptableUpstream,
                                    listener: str) -> None:
    with RawClient(_port(sidecar, listener)) as client:
        client.send(b"GET /nohost HTTP/1.1\r\n\r\n")
        assert client.read_response().status == 400
    assert up.requests == []


def test_still_serving_after_bad_input(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    for raw in BAD_REQUESTS.values():
        with RawClient(sidecar.outbound) as client:
            client.send(raw.replace(b"{host}", b"upstream"))
            client.read_response()
    assert http_request(sidecar.outbound, "GET", "/fine", [("Host", "upstream")]).status == 200
