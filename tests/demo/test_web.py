from __future__ import annotations

import socket
from typing import Any

from tether.demo.web import (
    MAX_BODY,
    Request,
    Response,
    Router,
    html,
    json_response,
    record_response,
    redirect,
    text,
)

from .support import call, serving


def ok(request: Request, match: Any) -> Response:
    return text(f"got {match.group(1) if match.groups() else '-'}")


def router() -> Router:
    r = Router()
    r.add("GET", r"/", ok)
    r.add("GET", r"/(\d+)", ok)
    r.add("DELETE", r"/(\d+)", ok)
    return r


def test_router_matches_whole_paths_and_answers_404_and_405() -> None:
    r = router()
    assert r(Request("GET", "/12")).body == b"got 12\n"
    assert r(Request("HEAD", "/12")).status == 200
    assert r(Request("GET", "/12x")).status == 404
    wrong = r(Request("POST", "/12"))
    assert (wrong.status, dict(wrong.headers)["Allow"]) == (405, "GET, DELETE")


def test_request_helpers() -> None:
    request = Request(
        "POST",
        "/",
        headers={"accept": "text/html, application/json", "content-type": "application/json"},
        body=b"a=1&a=2&b=&c=%C3%A9",
    )
    assert request.form() == {"a": "1", "b": "", "c": "é"}
    assert request.wants_json() and request.sends_json()
    assert not Request("GET", "/").wants_json()
    assert Request("POST", "/", body=b'{"x": 1}').json() == {"x": 1}


def test_response_helpers() -> None:
    assert dict(html("<p>").headers)["Content-Type"] == "text/html; charset=utf-8"
    assert json_response({"a": 1}, 201).body == b'{"a":1}'
    assert redirect("./").headers == (("Location", "./"),)


def echo(request: Request) -> Response:
    if request.path == "/boom":
        raise RuntimeError("kaput")
    return json_response(
        {"method": request.method, "path": request.path, "query": dict(request.query), "body": request.body.decode()}
    )


def raw(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_server_adapter_reads_query_body_and_chunked(capsys: Any) -> None:
    with serving(echo) as url:
        answer = call(f"{url}/x?a=1", "POST", b"hello")
        chunked = raw(
            url,
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        head = raw(url, b"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        boom = call(f"{url}/boom")
        too_big = raw(
            url,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1),
        )
    assert answer.json() == {"method": "POST", "path": "/x", "query": {"a": "1"}, "body": "hello"}
    assert chunked.endswith(b'"body":"abcde"}')
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
    assert (boom.status, boom.body) == (500, b"internal error: RuntimeError: kaput\n")
    assert too_big.startswith(b"HTTP/1.1 413")
    assert "RuntimeError: kaput" in capsys.readouterr().err


def test_bodiless_statuses_have_no_content_length() -> None:
    def app(request: Request) -> Response:
        return Response(int(request.path[1:]), b"ignored")

    with serving(app) as url:
        no_content = raw(url, b"DELETE /204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        not_modified = raw(url, b"GET /304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        negative = raw(
            url,
            b"POST /200 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
        )
    for answer in (no_content, not_modified):
        assert b"content-length" not in answer.lower()
        assert answer.endswith(b"\r\n\r\n")
    assert no_content.startswith(b"HTTP/1.1 204") and not_modified.startswith(b"HTTP/1.1 304")
    assert negative.startswith(b"HTTP/1.1 400")


def test_record_response_as_json_or_page_and_404_alike() -> None:
    record = {"id": 3, "name": "x"}
    assert record_response(record, "no order 3") == json_response(record)
    assert record_response(None, "no order 3") == json_response({"error": "no order 3"}, 404)
    assert record_response(record, "no order 3", lambda r: f"<p>{r['id']}</p>") == html("<p>3</p>")
    missing = record_response(None, "no order 3", lambda r: "unused")
    assert (missing.status, missing.body) == (404, b"no order 3\n")
