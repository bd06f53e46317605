from __future__ import annotations

from tether.core.schema.snapshot import CorsPolicy, StringMatch
from tether.proxy.errors import UpstreamConnectFailure
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.cors import CompiledCors, Cors
from tether.testing.routed import route, routed, table

POLICY = CorsPolicy(
    allow_origins=(StringMatch(exact="https://shop.example"), StringMatch(regex=r"https://.*\.test")),
    allow_methods=("GET", "POST"),
    allow_headers=("x-custom", "content-type"),
    expose_headers=("x-total",),
    max_age_s=600,
    allow_credentials=True,
)
PREFLIGHT = [(b"origin", b"https://shop.example"), (b"access-control-request-method", b"POST")]


class Upstream:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, ex: Exchange) -> Response:
        self.calls += 1
        return Response(200, body=b"ok")


async def test_allowed_preflight_is_answered_here() -> None:
    up = Upstream()
    ex = routed(table([route(cors=POLICY)]), b"OPTIONS", b"/api", PREFLIGHT)
    response = await Cors().wrap(up)(ex)
    assert up.calls == 0
    assert response.status == 200
    h = response.headers
    assert h.get(b"access-control-allow-origin") == b"https://shop.example"
    assert h.get(b"access-control-allow-methods") == b"GET,POST"
    assert h.get(b"access-control-allow-headers") == b"x-custom,content-type"
    assert h.get(b"access-control-max-age") == b"600"
    assert h.get(b"access-control-allow-credentials") == b"true"


async def test_preflight_from_other_origin_goes_upstream_unchanged() -> None:
    up = Upstream()
    headers = [(b"origin", b"https://evil.example"), (b"access-control-request-method", b"POST")]
    response = await Cors().wrap(up)(routed(table([route(cors=POLICY)]), b"OPTIONS", b"/api", headers))
    assert up.calls == 1
    assert response.headers.get(b"access-control-allow-origin") is None


async def test_actual_request_from_allowed_origin_gets_allow_headers() -> None:
    up = Upstream()
    ex = routed(table([route(cors=POLICY)]), b"GET", b"/api", [(b"origin", b"https://a.test")])
    response = await Cors().wrap(up)(ex)
    assert up.calls == 1
    h = response.headers
    assert h.get(b"access-control-allow-origin") == b"https://a.test"
    assert h.get(b"access-control-allow-credentials") == b"true"
    assert h.get(b"access-control-expose-headers") == b"x-total"
    assert h.get(b"access-control-allow-methods") is None


async def test_actual_request_from_other_origin_gets_nothing() -> None:
    response = await Cors().wrap(Upstream())(
        routed(table([route(cors=POLICY)]), b"GET", b"/", [(b"origin", b"https://b.example")]))
    assert not [n for n, _ in response.headers if n.lower().startswith(b"access-control-")]


async def test_no_origin_or_no_policy_passes_through() -> None:
    up = Upstream()
    await Cors().wrap(up)(routed(table([route(cors=POLICY)]), b"OPTIONS", b"/"))
    await Cors().wrap(up)(routed(table([route()]), b"OPTIONS", b"/", PREFLIGHT))
    assert up.calls == 2


async def test_options_without_request_method_is_not_a_preflight() -> None:
    up = Upstream()
    response = await Cors().wrap(up)(
        routed(table([route(cors=POLICY)]), b"OPTIONS", b"/", [(b"origin", b"https://shop.example")]))
    assert up.calls == 1
    assert response.headers.get(b"access-control-allow-origin") == b"https://shop.example"


def test_star_allows_every_origin_and_empty_list_none() -> None:
    assert CompiledCors(CorsPolicy(allow_origins=(StringMatch(exact="*"),))).allows("https://x")
    assert not CompiledCors(CorsPolicy()).allows("https://x")
    assert CompiledCors(CorsPolicy(allow_origins=(StringMatch(prefix="https://"),))).allows("https://x")


async def test_minimal_policy_sends_only_what_is_set() -> None:
    policy = CorsPolicy(allow_origins=(StringMatch(exact="https://shop.example"),))
    response = await Cors().wrap(Upstream())(routed(table([route(cors=policy)]), b"OPTIONS", b"/", PREFLIGHT))
    names = sorted(n for n, _ in response.headers)
    assert names == [b"access-control-allow-origin", b"content-length"]


async def test_cache_is_dropped_on_snapshot() -> None:
    cors = Cors()
    first = cors.compiled(POLICY)
    assert cors.compiled(POLICY) is first
    cors.on_snapshot()
    assert cors.compiled(POLICY) is not first


async def test_local_error_answers_get_the_allow_headers_too() -> None:
    async def refused(ex: Exchange) -> Response:
        raise UpstreamConnectFailure()

    ex = routed(table([route(cors=POLICY)]), b"GET", b"/", [(b"origin", b"https://shop.example")])
    response = await Cors().wrap(refused)(ex)
    assert response.status == 503
    assert ex.response_flags == "UF"
    assert response.headers.get(b"access-control-allow-origin") == b"https://shop.example"
