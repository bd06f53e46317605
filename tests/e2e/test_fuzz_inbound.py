"""Malformed bytes thrown at the inbound listener: the proxy answers or closes, keeps
serving, and never crashes (DESIGN §7)."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether.testing.rawhttp import http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

TEMPLATES = [
    b"GET /f HTTP/1.1\r\nHost: client\r\n\r\n",
    b"POST /f HTTP/1.1\r\nHost: client\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /f HTTP/1.1\r\nHost: client\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n",
    b"GET http://client/f HTTP/1.1\r\nHost: client\r\nConnection: close\r\n\r\n",
    b"GET /f HTTP/1.0\r\n\r\n",
]
TOKENS = [b"GET", b"POST", b"HEAD", b"CONNECT", b"OPTIONS", b"G\x00T", b"", b" ", b"\r\n",
          b"\n", b":", b"HTTP/1.1", b"HTTP/9.9", b"Content-Length: -1",
          b"Content-Length: 99999999999999999999", b"Transfer-Encoding: chunked",
          b"Transfer-Encoding: gzip, chunked", b"ffffffffffffffff\r\n", b"Host:", b"\t",
          b"Expect: 100-continue", b"Upgrade: h2c", b"\xff\xfe", b"%00", b"/../../"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "token", "truncate", "flip"]))
        if action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[pos:pos + draw(st.integers(1, 8))]
        elif action == "token":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif action == "truncate":
            del data[pos:]
        elif data:
            data[min(pos, len(data) - 1)] ^= draw(st.integers(1, 255))
    return bytes(data)


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    line = b" ".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4)))
    fields = draw(st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=24)),
                           max_size=6))
    body = draw(st.binary(max_size=64))
    return line + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in fields) + b"\r\n" + body


MALFORMED = st.one_of(mutated(), structured(), st.binary(min_size=1, max_size=512))


def _throw(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, and return what comes back before close or 0.25 s."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(0.25)
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionError):
            pass
    return received


def test_fuzz_inbound_keeps_serving(shared_sidecar: Sidecar,
                                    shared_upstream: ScriptableUpstream) -> None:
    proxy = shared_sidecar
    thrown: list[int] = []

    @settings(max_examples=200, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(MALFORMED)
    def throw(data: bytes) -> None:
        assert proxy.proc.alive(), proxy.describe()
        answer = _throw(proxy.inbound, data)
        thrown.append(len(answer))
        assert answer == b"" or answer.startswith(b"HTTP/1."), answer[:200]

    throw()
    print(f"{len(thrown)} inputs, {sum(1 for n in thrown if n)} answered")
    assert len(thrown) >= 100, "the fuzzer ran too few inputs to mean anything"
    assert proxy.proc.alive(), proxy.describe()
    resp = http_request(proxy.inbound, "GET", "/after-fuzz", [("Host", "client")])
    assert resp.status == 200
    assert "Traceback" not in proxy.proc.stderr_text(), proxy.describe()
