"""Load balancing through a real static-mode ``tether proxy`` (issue 4): round robin, least
request (power of two choices), random, and consistent hashing by header, cookie (set by the
proxy when absent) and source IP, across two scriptable upstreams of one service ``pair``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawResponse, http_request
from tether.testing.sidecar import service_entry, start_static
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

LB_RULE = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: pair}}
spec:
  host: pair
  trafficPolicy:
    loadBalancer:
{lb}
"""


class Pair:
    """Two upstreams behind service ``pair`` and a sidecar balancing between them."""

    def __init__(self, tmp: Path, lb: str) -> None:
        self.a, self.b = ScriptableUpstream().start(), ScriptableUpstream().start()
        entry = service_entry("pair", (self.a.port, "pair", "v1"), (self.b.port, "pair", "v2"))
        try:
            self.sidecar = start_static(tmp, "client", entry + "---\n" + LB_RULE.format(lb=lb))
        except BaseException:
            self.a.stop()
            self.b.stop()
            raise

    def get(self, path: str = "/", headers: list[tuple[str, str]] | None = None) -> RawResponse:
        return http_request(self.sidecar.outbound, "GET", f"http://pair{path}", [("Host", "pair"), *(headers or [])],
                            timeout=30)

    def counts(self) -> tuple[int, int]:
        return self.a.request_count, self.b.request_count

    def clear(self) -> None:
        self.a.clear()
        self.b.clear()

    def close(self) -> None:
        self.sidecar.proc.stop()
        self.a.stop()
        self.b.stop()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Any]:
    with ExitStack() as made:

        def factory(lb: str) -> Pair:
            p = Pair(tmp_path, lb)
            made.callback(p.close)
            return p

        yield factory


def test_round_robin_alternates(pair: Any) -> None:
    p = pair("      simple: ROUND_ROBIN")
    assert all(p.get(f"/{i}").status == 200 for i in range(10))
    assert p.counts() == (5, 5)


def test_random_uses_both(pair: Any) -> None:
    p = pair("      simple: RANDOM")
    assert all(p.get(f"/{i}").status == 200 for i in range(40))
    a, b = p.counts()
    assert a + b == 40 and a >= 5 and b >= 5


def test_least_request_avoids_the_busy_endpoint(pair: Any) -> None:
    p = pair("      simple: LEAST_REQUEST")
    p.a.delay_all(2.0)
    slow = [threading.Thread(target=p.get, args=(f"/slow/{i}",)) for i in range(3)]
    for t in slow:
        t.start()
    try:
        # Power of two choices with two endpoints compares both: calls in flight on ``a`` send
        # every new call to the idle ``b``.
        assert wait_until(lambda: p.a.request_count >= 1 and sum(p.counts()) == 3, 5), p.counts()
        busy_a = p.a.request_count
        assert all(p.get(f"/fast/{i}").status == 200 for i in range(10))
        assert p.a.request_count == busy_a
    finally:
        for t in slow:
            t.join(10)


def test_consistent_hash_by_header_is_sticky(pair: Any) -> None:
    p = pair("      consistentHash: {httpHeaderName: x-user}")
    for _ in range(10):
        p.get("/", [("x-user", "alice")])
    assert sorted(p.counts()) == [0, 10]
    p.clear()
    for i in range(30):
        p.get("/", [("x-user", f"user-{i}")])
    assert min(p.counts()) >= 3, p.counts()


def test_consistent_hash_cookie_is_set_then_sticks(pair: Any) -> None:
    p = pair("      consistentHash:\n        httpCookie: {name: stick, ttl: 60s}")
    first = p.get("/")
    cookie = first.header("set-cookie")
    assert cookie is not None and cookie.startswith("stick=") and "Max-Age=60" in cookie, first.headers
    value = cookie.split(";")[0]
    p.clear()
    for _ in range(10):
        resp = p.get("/", [("Cookie", value)])
        assert resp.header("set-cookie") is None
    assert sorted(p.counts()) == [0, 10]


def test_consistent_hash_by_source_ip(pair: Any) -> None:
    p = pair("      consistentHash: {useSourceIp: true}")
    for _ in range(8):
        p.get("/")
    assert sorted(p.counts()) == [0, 8]
