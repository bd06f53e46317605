"""HTTP/1.1 semantics through ``tether proxy``: streaming, chunked, keep-alive, pipelining,
100-continue, bodiless responses, hop-by-hop headers and x-forwarded-*."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import pytest

from tether.testing.procs import rss_kib
from tether.testing.rawhttp import RawClient, build_request, http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream, pattern_bytes

pytestmark = pytest.mark.e2e

BIG = 256 << 20
RSS_BOUND_KIB = 160 * 1024
"""A proxy that buffered a 256 MiB body would exceed this; a streaming one stays far below."""


class RssWatch:
    """Samples a process's RSS in a thread while a transfer runs; ``peak`` is the maximum."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except OSError:  # the process is gone; the test's own asserts will say so
                return

    def __enter__(self) -> RssWatch:
        self.peak = rss_kib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _pattern_chunks(total: int) -> Iterator[bytes]:
    block = pattern_bytes(1 << 20)
    left = total
    while left > 0:
        piece = block[: min(left, len(block))]
        left -= len(piece)
        yield piece


def test_large_upload_streams(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    sha = hashlib.sha256()
    with RssWatch(sidecar.proc.pid) as watch, RawClient(sidecar.outbound, timeout=60) as client:
        client.send(build_request("POST", "/upload", [("Host", "upstream"),
                                                      ("Content-Length", str(BIG))]))
        for piece in _pattern_chunks(BIG):
            sha.update(piece)
            client.send(piece)
        resp = client.read_response()
    assert resp.status == 200, sidecar.describe()
    assert resp.json()["body_length"] == BIG
    assert resp.json()["body_sha256"] == sha.hexdigest()
    assert watch.peak < RSS_BOUND_KIB, f"proxy RSS peaked at {watch.peak} KiB"


def test_large_download_streams(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RssWatch(sidecar.proc.pid) as watch, RawClient(sidecar.outbound, timeout=60) as client:
        resp = client.request("GET", f"/bytes/{BIG}", [("Host", "upstream")], keep_body=False)
    assert resp.status == 200
    assert resp.body_length == BIG
    assert watch.peak < RSS_BOUND_KIB, f"proxy RSS peaked at {watch.peak} KiB"


def test_chunked_request_with_trailers(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        client.send(b"POST /chunked-up HTTP/1.1\r\nHost: upstream\r\n"
                    b"Transfer-Encoding: chunked\r\nTrailer: x-req-trailer\r\n\r\n"
                    b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-req-trailer: yes\r\n\r\n")
        resp = client.read_response()
    assert resp.status == 200
    (seen,) = up.requests
    assert seen.body == b"hello world"
    assert ("x-req-trailer", "yes") in [(k.lower(), v) for k, v in seen.trailers]


def test_chunked_response_with_trailers(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        resp = client.request("GET", "/chunked/200000", [("Host", "upstream")])
        assert resp.status == 200
        assert resp.header("transfer-encoding") == "chunked"
        assert resp.body == pattern_bytes(200000)
        assert ("x-trailer", "done") in [(k.lower(), v) for k, v in resp.trailers]
        assert client.request("GET", "/after", [("Host", "upstream")]).status == 200


def test_inbound_chunked_both_ways(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.inbound) as client:
        client.send(b"PUT /in-chunked HTTP/1.1\r\nHost: client\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        assert client.read_response().json()["body_length"] == 3
        resp = client.request("GET", "/chunked/1000", [("Host", "client")])
    assert resp.body == pattern_bytes(1000)


def test_keep_alive_reuses_upstream_connections(sidecar: Sidecar,
                                                up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        for i in range(10):
            assert client.request("GET", f"/ka/{i}", [("Host", "upstream")]).status == 200
    assert len(up.requests) == 10
    assert up.connections < 10


def test_client_keep_alive(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        first = client.request("GET", "/one", [("Host", "upstream")])
        assert first.header("connection") != "close"
        assert client.request("GET", "/two", [("Host", "upstream")]).status == 200


def test_connection_close_is_honoured(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        resp = client.request("GET", "/bye", [("Host", "upstream"), ("Connection", "close")])
        assert resp.status == 200
        assert client.closed_by_peer()


def test_pipelining_answers_in_order(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        client.send(b"".join(build_request("GET", p, [("Host", "upstream")])
                             for p in ("/delay/200", "/status/201", "/third")))
        first, second, third = (client.read_response() for _ in range(3))
    assert (first.status, first.json()["path"]) == (200, "/delay/200")
    assert second.status == 201
    assert (third.status, third.json()["path"]) == (200, "/third")


def test_expect_100_continue(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    with RawClient(sidecar.outbound) as client:
        client.send(b"POST /expect HTTP/1.1\r\nHost: upstream\r\nContent-Length: 7\r\n"
                    b"Expect: 100-continue\r\n\r\n")
        status, _ = client.read_head()
        assert status == 100
        client.send(b"payload")
        resp = client.read_response()
    assert resp.status == 200
    assert resp.json()["body_length"] == 7


@pytest.mark.parametrize(("method", "path", "status"), [
    ("HEAD", "/bytes/1000", 200), ("GET", "/status/204", 204), ("GET", "/status/304", 304)])
def test_bodiless_responses(sidecar: Sidecar, up: ScriptableUpstream, method: str, path: str,
                            status: int) -> None:
    with RawClient(sidecar.outbound) as client:
        resp = client.request(method, path, [("Host", "upstream")])
        assert resp.status == status
        if method == "HEAD":
            assert resp.header("content-length") == "1000"
        # Any body bytes would corrupt the next answer on this connection.
        follow = client.request("GET", "/follow", [("Host", "upstream")])
        assert (follow.status, follow.json()["path"]) == (200, "/follow")


def test_hop_by_hop_headers_removed(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    headers = [("Host", "upstream"), ("Connection", "keep-alive, x-hop"), ("x-hop", "1"),
               ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
               ("TE", "deflate"), ("Upgrade", "foo/2"), ("x-end-to-end", "kept")]
    assert http_request(sidecar.outbound, "GET", "/hop", headers).status == 200
    (seen,) = up.requests
    names = {k.lower() for k, _ in seen.headers}
    assert not names & {"x-hop", "keep-alive", "proxy-connection", "te", "upgrade"}, names
    assert "keep-alive" not in (seen.header("connection") or "").lower()
    assert seen.header("x-end-to-end") == "kept"


def test_inbound_sets_forwarded_headers(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    assert http_request(sidecar.inbound, "GET", "/xff", [("Host", "client")]).status == 200
    (seen,) = up.requests
    assert "127.0.0.1" in (seen.header("x-forwarded-for") or "")
    assert seen.header("x-forwarded-proto") == "http"


def test_outbound_sets_forwarded_proto(sidecar: Sidecar, up: ScriptableUpstream) -> None:
    headers = [("Host", "upstream"), ("X-Forwarded-For", "10.1.2.3")]
    assert http_request(sidecar.outbound, "GET", "/xfp", headers).status == 200
    (seen,) = up.requests
    assert seen.header("x-forwarded-proto") == "http"
    assert (seen.header("x-forwarded-for") or "").startswith("10.1.2.3")
