"""The scriptable upstream, driven over real sockets with the raw client."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.testing.procs import rss_kib, start_upstream_process
from tether.testing.rawhttp import PeerClosed, RawClient, build_request, http_request
from tether.testing.upstream import ScriptableUpstream, pattern_bytes


@pytest.fixture
def up() -> Iterator[ScriptableUpstream]:
    with ScriptableUpstream() as upstream:
        yield upstream


def test_echo_describes_request(up: ScriptableUpstream) -> None:
    resp = http_request(up.port, "POST", "/echo/x?a=1", [("Host", "h"), ("X-A", "b")], b"hello")
    assert resp.status == 200
    doc = resp.json()
    assert doc["method"] == "POST"
    assert doc["path"] == "/echo/x"
    assert doc["query"] == "a=1"
    assert ["X-A", "b"] in doc["headers"]
    assert doc["body_length"] == 5
    assert doc["body_sha256"] == hashlib.sha256(b"hello").hexdigest()
    (req,) = up.requests
    assert req.body == b"hello"
    assert req.header("x-a") == "b"
    assert up.url == f"http://127.0.0.1:{up.port}"


def test_absolute_form_target_gives_path(up: ScriptableUpstream) -> None:
    resp = http_request(up.port, "GET", "http://upstream/x?q=2", [("Host", "upstream")])
    assert resp.json()["path"] == "/x"
    assert up.requests[0].target == "http://upstream/x?q=2"


def test_keep_alive_reuses_one_connection(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        for _ in range(3):
            assert client.request("GET", "/", [("Host", "h")]).status == 200
    assert up.connections == 1
    assert [r.connection_id for r in up.requests] == [1, 1, 1]


def test_connection_close_closes(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        resp = client.request("GET", "/", [("Host", "h"), ("Connection", "close")])
        assert resp.header("connection") == "close"
        assert client.closed_by_peer()


def test_chunked_request_body_and_trailers(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        client.send(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n")
        resp = client.read_response()
    assert resp.json()["body_length"] == 5
    assert up.requests[0].body == b"abcde"
    assert up.requests[0].trailers == (("x-t", "1"),)


def test_expect_100_continue(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        client.send(b"PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                    b"Expect: 100-continue\r\n\r\n")
        assert client.read_head() == (100, [])
        client.send(b"body")
        resp = client.read_response()
    assert resp.status == 200
    assert resp.json()["body_length"] == 4


def test_pipelined_answers_in_order(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        client.send(b"".join(build_request("GET", p, [("Host", "h")])
                             for p in ("/delay/100", "/status/201", "/fast")))
        first, second, third = (client.read_response() for _ in range(3))
    assert first.json()["path"] == "/delay/100"
    assert second.status == 201
    assert third.body == b"ok"


def test_status_and_no_body_statuses(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        assert client.request("GET", "/status/418", [("Host", "h")]).status == 418
        for code in (204, 304):
            resp = client.request("GET", f"/status/{code}", [("Host", "h")])
            assert (resp.status, resp.body, resp.header("content-length")) == (code, b"", None)
        head = client.request("HEAD", "/bytes/10", [("Host", "h")])
        assert head.header("content-length") == "10"
        assert head.body == b""
        assert client.request("GET", "/fast", [("Host", "h")]).body == b"ok"


def test_bytes_and_chunked_bodies(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        resp = client.request("GET", "/bytes/100000", [("Host", "h")])
        assert resp.header("content-length") == "100000"
        assert resp.body == pattern_bytes(100000)
        resp = client.request("GET", "/chunked/70000", [("Host", "h")])
        assert resp.header("transfer-encoding") == "chunked"
        assert resp.body == pattern_bytes(70000)
        assert resp.trailers == (("x-trailer", "done"),)


def test_large_download_streams_with_bounded_memory(tmp_path: Path) -> None:
    with start_upstream_process(tmp_path) as proc:
        size = 512 << 20
        with RawClient(proc.port("port"), timeout=30) as client:
            resp = client.request("GET", f"/bytes/{size}", [("Host", "h")], keep_body=False)
            assert resp.body_length == size
            assert rss_kib(proc.pid) < 200 * 1024


def test_large_upload_is_hashed_not_kept(up: ScriptableUpstream) -> None:
    body = b"z" * (3 << 20)
    resp = http_request(up.port, "POST", "/up", [("Host", "h")], body)
    assert resp.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert up.requests[0].body is None
    assert up.requests[0].body_length == len(body)


def test_headers_path(up: ScriptableUpstream) -> None:
    resp = http_request(up.port, "GET", "/headers/50", [("Host", "h")])
    assert len([k for k, _ in resp.headers if k.startswith("x-h-")]) == 50


def test_reset_path_closes_without_answer(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client, pytest.raises((PeerClosed, ConnectionResetError)):
        client.request("GET", "/reset", [("Host", "h")])


def test_scripted_failures(up: ScriptableUpstream) -> None:
    up.fail_next(2, status=502)
    with RawClient(up.port) as client:
        codes = [client.request("GET", "/", [("Host", "h")]).status for _ in range(3)]
    assert codes == [502, 502, 200]
    up.reset_next(1)
    with RawClient(up.port) as client, pytest.raises((PeerClosed, ConnectionResetError)):
        client.request("GET", "/", [("Host", "h")])
    assert http_request(up.port, "GET", "/", [("Host", "h")]).status == 200


def test_fail_ratio_is_seeded(up: ScriptableUpstream) -> None:
    def run() -> list[int]:
        up.fail_ratio(0.5, status=500, seed=7)
        with RawClient(up.port) as client:
            return [client.request("GET", "/", [("Host", "h")]).status for _ in range(40)]

    first = run()
    assert first == run()
    assert 0 < first.count(500) < 40
    up.reset_script()
    assert http_request(up.port, "GET", "/", [("Host", "h")]).status == 200


def test_delay_all_holds_answers(up: ScriptableUpstream) -> None:
    up.delay_all(0.2)
    done = threading.Event()

    def call() -> None:
        http_request(up.port, "GET", "/", [("Host", "h")])
        done.set()

    thread = threading.Thread(target=call)
    thread.start()
    assert not done.wait(0.05)
    thread.join(10)
    assert done.is_set()


def test_malformed_request_gets_400(up: ScriptableUpstream) -> None:
    with RawClient(up.port) as client:
        client.send(b"GARBAGE\x00\r\n\r\n")
        assert client.read_response().status == 400


def test_counters_and_clear(up: ScriptableUpstream) -> None:
    for _ in range(2):
        http_request(up.port, "GET", "/", [("Host", "h")])
    assert up.connections == 2
    assert len(up.requests) == up.request_count == 2
    up.clear()
    assert (up.connections, up.request_count, up.requests) == (0, 0, [])


def test_not_recording_still_counts() -> None:
    with ScriptableUpstream(record=False) as upstream:
        http_request(upstream.port, "GET", "/fast")
        assert (upstream.request_count, upstream.requests) == (1, [])


def test_stop_closes_listener() -> None:
    upstream = ScriptableUpstream().start()
    port = upstream.port
    upstream.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_runs_as_process(tmp_path: Path) -> None:
    with start_upstream_process(tmp_path) as proc:
        assert http_request(proc.port("port"), "GET", "/fast").status == 200
        assert f"listening on 127.0.0.1:{proc.port('port')}" in proc.stdout_text()
    assert proc.proc.returncode == 0
