"""JWKS fetching in the control plane: due times, refresh, rate limit, failures, the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from pathlib import Path

from tether.control.jwks import JwksCache
from tether.control.model import parse_documents
from tether.control.server import ControlPlane, ensure_admin_token
from tether.control.store import Store
from tether.proxy.authz.signing import jwks, new_key, public_jwk
from tether.testing.clock import FakeClock
from tether.testing.sidecar import free_port

URI = "https://idp.example/jwks"
KEYS_A = jwks(public_jwk(new_key("EdDSA"), "a"))
KEYS_B = jwks(public_jwk(new_key("EdDSA"), "b"))
RA = """\
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {{name: jwt}}
spec:
  jwtRules: [{{issuer: "https://idp.example", jwksUri: "{uri}"}}]
"""


def cache(clock: FakeClock) -> JwksCache:
    return JwksCache(clock, refresh_interval=100.0, retry_interval=5.0, min_gap=2.0)


def test_new_uris_are_due_at_once_and_then_after_the_refresh_interval() -> None:
    clock = FakeClock()
    c = cache(clock)
    c.want({URI})
    assert c.due() == [URI] and c.get(URI) is None
    assert c.record(URI, KEYS_A) and c.get(URI) == KEYS_A
    assert c.due() == []
    clock.advance(100)
    assert c.due() == [URI]
    assert not c.record(URI, KEYS_A)  # same keys: nothing changed


def test_failures_keep_the_last_good_keys_and_retry_sooner() -> None:
    clock = FakeClock()
    c = cache(clock)
    c.want({URI})
    c.record(URI, KEYS_A)
    clock.advance(100)
    assert not c.record(URI, None, "connection refused")
    assert not c.record(URI, "<html>not json</html>")
    assert (c.get(URI), c.failures) == (KEYS_A, 2)
    clock.advance(5)
    assert c.due() == [URI]


def test_a_body_that_is_not_a_jwks_is_a_failure() -> None:
    c = cache(FakeClock())
    c.want({URI})
    assert not c.record(URI, '{"no": "keys"}') and c.get(URI) is None and c.failures == 1


def test_refresh_requests_are_rate_limited_and_only_for_wanted_uris() -> None:
    clock = FakeClock()
    c = cache(clock)
    assert not c.request_refresh(URI)
    c.want({URI})
    c.record(URI, KEYS_A)
    assert not c.request_refresh(URI)  # fetched just now
    clock.advance(2)
    assert c.request_refresh(URI) and c.due() == [URI]


def test_dropped_uris_are_forgotten() -> None:
    c = cache(FakeClock())
    c.want({URI})
    c.record(URI, KEYS_A)
    assert c.want(set()) and c.get(URI) is None and c.due() == []


async def test_run_fetches_notifies_and_wakes_on_refresh() -> None:
    served = [KEYS_A]
    changes: list[int] = []

    async def fetch(uri: str) -> str:
        if served[0] == "down":
            raise OSError("connection refused")
        return served[0]

    c = JwksCache(min_gap=0.0, refresh_interval=3600)
    task = asyncio.ensure_future(c.run(lambda: {URI}, lambda: changes.append(1), fetch, tick=30))
    try:
        for _ in range(100):
            if c.get(URI) == KEYS_A:
                break
            await asyncio.sleep(0.01)
        assert c.get(URI) == KEYS_A and changes == [1]
        served[0] = KEYS_B
        assert c.request_refresh(URI)
        for _ in range(100):
            if c.get(URI) == KEYS_B:
                break
            await asyncio.sleep(0.01)
        assert c.get(URI) == KEYS_B and changes == [1, 1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_refresh_endpoint(tmp_path: Path) -> None:
    plane = ControlPlane(Store.in_dir(str(tmp_path)), ensure_admin_token(str(tmp_path)), heartbeat_interval=0.2)
    port = await plane.start("127.0.0.1", 0)
    try:
        plane.jwks.min_gap = 0.0
        local = f"http://127.0.0.1:{free_port()}/jwks"  # nothing listens: fetches fail fast
        plane.apply(parse_documents(RA.format(uri=local), "ra.yaml").resources)
        for _ in range(200):
            if local in plane.jwks.wanted:
                break
            await asyncio.sleep(0.01)

        def post(body: bytes) -> tuple[int, dict[str, object]]:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/jwks/refresh", body, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as err:
                return err.code, json.loads(err.read())

        status, doc = await asyncio.to_thread(post, json.dumps({"uri": local}).encode())
        assert (status, doc["refreshing"]) == (200, True)
        status, doc = await asyncio.to_thread(post, json.dumps({"uri": "https://unknown/jwks"}).encode())
        assert (status, doc["refreshing"]) == (200, False)
        status, _ = await asyncio.to_thread(post, b"{}")
        assert status == 400
    finally:
        await plane.close()
