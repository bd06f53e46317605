from __future__ import annotations

import json
import socket
import urllib.request

from tether.testing.collector import SpanReceiver, rotel_binary


def post(url: str, body: object, timeout: float = 5.0) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def test_receiver_records_bodies_by_path() -> None:
    with SpanReceiver(status=202) as receiver:
        assert post(receiver.url + "/api/v2/spans", [{"traceId": "1", "id": "2"}]) == 202
        assert post(receiver.url + "/v1/traces", {"resourceSpans": []}) == 202
        assert [path for path, _ in receiver.bodies] == ["/api/v2/spans", "/v1/traces"]
        assert receiver.zipkin_spans() == [{"traceId": "1", "id": "2"}]


def test_stalled_receiver_never_answers() -> None:
    with SpanReceiver(stall=True) as receiver, socket.create_connection(("127.0.0.1", receiver.port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        sock.settimeout(0.3)
        try:
            data = sock.recv(100)
        except TimeoutError:
            data = b""
        assert data == b""


def test_rotel_binary_is_found_when_installed() -> None:
    path = rotel_binary()
    assert path is None or path.name == "rotel-agent"
