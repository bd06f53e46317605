"""The JWT filter: where tokens are found, what a verified token changes, what a bad one gets."""

from __future__ import annotations

import asyncio
import base64
import json

import msgspec

from tether.core.schema.security import ClaimHeader, JwtHeaderLocation, JwtProvider, RequestAuthnConfig
from tether.core.schema.snapshot import Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.authz.engine import RequestAuth
from tether.proxy.authz.signing import jwks, new_key, public_jwk, sign
from tether.proxy.chain import compose
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.authz import REQUEST_AUTH
from tether.proxy.filters.jwt import JwtAuthn, RefreshReporter, report_unknown_keys
from tether.proxy.routing import RoutingTable
from tether.testing.clock import FakeClock
from tether.testing.factories import make_exchange
from tether.testing.sidecar import free_port

ISS = "https://idp.example"
KEY = new_key("ES256")
CLOCK = FakeClock()
NOW = CLOCK.wall()


def provider(**fields: object) -> JwtProvider:
    base = JwtProvider(issuer=ISS, jwks=jwks(public_jwk(KEY, "k1")), jwks_uri="http://idp/jwks")
    return msgspec.structs.replace(base, **fields)


def token(**claims: object) -> str:
    return sign({"iss": ISS, "sub": "alice", "exp": NOW + 60, **claims}, KEY, "ES256", "k1")


def run(ex: Exchange, *providers: JwtProvider, hook: list[tuple[str, str]] | None = None) -> tuple[Response, bool]:
    table = RoutingTable(Snapshot(request_authn=RequestAuthnConfig(providers=providers)), {}, {})
    reached: list[Exchange] = []

    async def app(e: Exchange) -> Response:
        reached.append(e)
        return Response(200)

    flt = JwtAuthn(lambda: table, CLOCK, on_unknown_key=(lambda i, u: hook.append((i, u))) if hook is not None else None)
    handler = compose([flt], app)
    async def go() -> Response:
        return await handler(ex)

    return asyncio.run(go()), bool(reached)


def bearer(tok: str, target: bytes = b"/feed") -> Exchange:
    return make_exchange(b"GET", target, [(b"host", b"order"), (b"authorization", f"Bearer {tok}".encode())])


def test_no_config_or_no_token_passes_unauthenticated() -> None:
    ex = make_exchange()
    assert run(ex)[0].status == 200
    assert run(ex, provider())[0].status == 200 and ex.extra is None


def test_verified_token_sets_the_principal_and_is_removed() -> None:
    ex = bearer(token(azp="web", aud="api"))
    response, reached = run(ex, provider())
    auth = (ex.extra or {})[REQUEST_AUTH]
    assert (response.status, reached) == (200, True)
    assert isinstance(auth, RequestAuth) and auth.principal == f"{ISS}/alice" and auth.presenter == "web"
    assert ex.headers.get(b"authorization") is None


def test_forward_original_token_keeps_it() -> None:
    ex = bearer(token())
    run(ex, provider(forward_original_token=True))
    assert ex.headers.get(b"authorization") is not None


def test_invalid_token_gets_401_with_envoys_body_and_challenge() -> None:
    head, _, sig = token().split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": ISS, "sub": "root"}).encode()).rstrip(b"=").decode()
    ex = bearer(f"{head}.{forged}.{sig}")
    response, reached = run(ex, provider())
    assert (response.status, response.body, reached) == (401, b"Jwt verification fails", False)
    assert response.headers.get(b"www-authenticate") == b'Bearer realm="http://order/feed", error="invalid_token"'


def test_expired_and_wrong_audience_and_unknown_issuer() -> None:
    assert run(bearer(token(exp=NOW - 3600)), provider())[0].body == b"Jwt is expired"
    assert run(bearer(token(aud="x")), provider(audiences=("api",)))[0].body == b"Audiences in Jwt are not allowed"
    other = sign({"iss": "https://other", "sub": "a"}, KEY, "ES256", "k1")
    assert run(bearer(other), provider())[0].body == b"Jwt issuer is not configured"


def test_unknown_kid_asks_for_a_refresh() -> None:
    calls: list[tuple[str, str]] = []
    rotated = sign({"iss": ISS, "sub": "a"}, new_key("ES256"), "ES256", "k2")
    response, _ = run(bearer(rotated), provider(), hook=calls)
    assert response.status == 401 and calls == [(ISS, "http://idp/jwks")]


def test_default_locations_include_the_access_token_param() -> None:
    ex = make_exchange(b"GET", f"/feed?access_token={token()}".encode())
    run(ex, provider())
    assert REQUEST_AUTH in (ex.extra or {})


def test_custom_header_param_and_cookie_locations() -> None:
    custom = provider(from_headers=(JwtHeaderLocation(name="X-Token"),), from_params=("tk",), from_cookies=("session",))
    ex = make_exchange(headers=[(b"host", b"a"), (b"x-token", token().encode())])
    run(ex, custom)
    assert REQUEST_AUTH in (ex.extra or {}) and ex.headers.get(b"x-token") is None
    ex = make_exchange(b"GET", f"/?tk={token()}".encode())
    run(ex, custom)
    assert REQUEST_AUTH in (ex.extra or {})
    ex = make_exchange(headers=[(b"host", b"a"), (b"cookie", f"a=b; session={token()}".encode())])
    run(ex, custom)
    assert REQUEST_AUTH in (ex.extra or {})
    # The default Authorization header is not looked at once locations are configured.
    ex = bearer(token())
    run(ex, custom)
    assert ex.extra is None


def test_prefix_must_match() -> None:
    ex = make_exchange(headers=[(b"host", b"a"), (b"authorization", f"Basic {token()}".encode())])
    assert run(ex, provider())[0].status == 200 and ex.extra is None


def test_claims_and_payload_to_headers_and_forged_copies_removed() -> None:
    out = provider(output_payload_to_header="x-jwt-payload",
                   output_claim_to_headers=(ClaimHeader(header="x-user", claim="sub"),
                                            ClaimHeader(header="x-level", claim="level"),
                                            ClaimHeader(header="x-none", claim="missing")))
    ex = bearer(token(level=3))
    ex.headers.add(b"x-none", b"forged")
    run(ex, out)
    payload = ex.headers.get(b"x-jwt-payload") or b""
    assert json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))["sub"] == "alice"
    assert (ex.headers.get(b"x-user"), ex.headers.get(b"x-level"), ex.headers.get(b"x-none")) == (b"alice", b"3", None)
    anonymous = make_exchange(headers=[(b"host", b"a"), (b"x-user", b"admin")])
    run(anonymous, out)
    assert anonymous.headers.get(b"x-user") is None


def test_bad_jwks_refuses_that_issuers_tokens() -> None:
    assert run(bearer(token()), provider(jwks="[]"))[0].status == 401


async def test_refresh_reporter_posts_once_per_gap_and_survives_a_dead_control_plane() -> None:
    bodies: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        bodies.append(await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tasks = TaskGroup("test")
    clock = FakeClock()
    try:
        flt = JwtAuthn(lambda: None)
        report_unknown_keys([flt], f"http://127.0.0.1:{port}", tasks)
        reporter = flt.on_unknown_key
        assert isinstance(reporter, RefreshReporter)
        reporter.clock = clock
        reporter(ISS, "http://idp/jwks")
        reporter(ISS, "http://idp/jwks")  # within the gap: not sent again
        reporter(ISS, "")  # inline keys: nothing to refresh
        for _ in range(200):
            if bodies:
                break
            await asyncio.sleep(0.01)
        assert [json.loads(b) for b in bodies] == [{"uri": "http://idp/jwks"}] and reporter.sent == 1
        clock.advance(5)
        dead = RefreshReporter(f"http://127.0.0.1:{free_port()}", tasks, clock)
        dead(ISS, "http://idp/jwks")
        await asyncio.sleep(0.05)
        assert dead.sent == 1
    finally:
        server.close()
        await server.wait_closed()
        await tasks.close()
