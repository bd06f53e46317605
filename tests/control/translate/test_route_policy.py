"""VirtualService route settings as snapshot policies."""

from __future__ import annotations

import msgspec

from tether.control.model import virtual_service as vs
from tether.control.model.values import dec_hook
from tether.control.translate.route_policy import (
    cors,
    direct_response,
    fault_policy,
    header_ops,
    mirrors,
    redirect,
    retry_policy,
)
from tether.control.translate.routes import weighted_clusters
from tether.core.schema.snapshot import HeaderOps, MirrorPolicy, RetryPolicy, StringMatch


def conv(t: type[msgspec.Struct], **fields: object) -> object:
    return msgspec.convert(fields, t, dec_hook=dec_hook)


def cluster_for(d: vs.Destination, ns: str, port: int) -> str:
    return f"outbound|{port}|{d.subset or ''}|{d.host}.{ns}"


def test_retries() -> None:
    book = conv(vs.HTTPRetry, attempts=20, perTryTimeout="5s", retryOn="connect-failure,5xx")
    assert isinstance(book, vs.HTTPRetry)
    assert retry_policy(book) == RetryPolicy(attempts=20, per_try_timeout_ms=5000,
                                             retry_on=("connect-failure", "5xx"), retriable_status_codes=())
    codes = conv(vs.HTTPRetry, attempts=3, retryOn="gateway-error,503,429", backoff="50ms")
    assert isinstance(codes, vs.HTTPRetry)
    p = retry_policy(codes)
    assert p is not None and p.retry_on == ("gateway-error", "retriable-status-codes")
    assert p.retriable_status_codes == (503, 429) and (p.backoff_base_ms, p.backoff_max_ms) == (50, 500)
    off = conv(vs.HTTPRetry, attempts=0)
    assert isinstance(off, vs.HTTPRetry)
    assert retry_policy(off) == RetryPolicy(attempts=0)
    assert retry_policy(None) is None


def test_faults() -> None:
    f = conv(vs.HTTPFaultInjection, delay={"fixedDelay": "7s", "percent": 10},
             abort={"httpStatus": 500, "percentage": {"value": 0.5}})
    assert isinstance(f, vs.HTTPFaultInjection)
    p = fault_policy(f)
    assert p is not None and (p.delay_ms, p.delay_percent, p.abort_status, p.abort_percent) == (7000, 10.0, 500, 0.5)
    grpc_only = conv(vs.HTTPFaultInjection, abort={"grpcStatus": "UNAVAILABLE"})
    assert isinstance(grpc_only, vs.HTTPFaultInjection)
    assert fault_policy(grpc_only) is None
    book = conv(vs.HTTPFaultInjection, abort={"httpStatus": 500})
    assert isinstance(book, vs.HTTPFaultInjection)
    p = fault_policy(book)
    assert p is not None and p.abort_percent == 100.0 and p.delay_ms is None


def test_mirrors_headers_redirect_direct_response_cors() -> None:
    hr = conv(vs.HTTPRoute, route=[{"destination": {"host": "a"}}], mirror={"host": "a", "subset": "v2"},
              mirrorPercent=30)
    assert isinstance(hr, vs.HTTPRoute)
    assert mirrors(hr, "ns", 80, cluster_for) == (MirrorPolicy(cluster="outbound|80|v2|a.ns", percent=30.0),)
    many = conv(vs.HTTPRoute, route=[{"destination": {"host": "a"}}],
                mirrors=[{"destination": {"host": "b"}, "percentage": {"value": 5}}, {"destination": {"host": "c"}}])
    assert isinstance(many, vs.HTTPRoute)
    assert [m.percent for m in mirrors(many, "ns", 80, cluster_for)] == [5.0, 100.0]
    ops = conv(vs.HeaderOperations, set={"X-A": "1"}, add={"X-B": "2"}, remove=["Server"])
    assert isinstance(ops, vs.HeaderOperations)
    assert header_ops(ops) == HeaderOps(set={"x-a": "1"}, add={"x-b": "2"}, remove=("server",))
    assert header_ops(vs.HeaderOperations()) is None
    rd = conv(vs.HTTPRedirect, uri="/new", authority="b", redirectCode=308)
    assert isinstance(rd, vs.HTTPRedirect)
    r = redirect(rd)
    assert r is not None and (r.uri, r.authority, r.status) == ("/new", "b", 308)
    dr = conv(vs.HTTPDirectResponse, status=503, body={"bytes": "b2s="})
    assert isinstance(dr, vs.HTTPDirectResponse)
    d = direct_response(dr)
    assert d is not None and (d.status, d.body) == (503, "ok")
    c = conv(vs.CorsPolicy, allowOrigins=[{"prefix": "https://"}], allowOrigin=["http://x"], maxAge="24h",
             allowMethods=["GET"], allowCredentials=True)
    assert isinstance(c, vs.CorsPolicy)
    p = cors(c)
    assert p is not None and p.allow_origins == (StringMatch(prefix="https://"), StringMatch(exact="http://x"))
    assert (p.max_age_s, p.allow_methods, p.allow_credentials) == (86400, ("GET",), True)


def test_destination_headers_ride_on_the_weighted_cluster() -> None:
    hr = conv(vs.HTTPRoute, route=[{"destination": {"host": "a"}, "weight": 60,
                                    "headers": {"request": {"set": {"x-v": "1"}}}},
                                   {"destination": {"host": "b"}, "weight": 40}])
    assert isinstance(hr, vs.HTTPRoute)
    (a, b) = weighted_clusters(hr.route, "ns", 80, cluster_for)
    assert a.request_headers == HeaderOps(set={"x-v": "1"}) and b.request_headers is None
    assert (a.weight, b.weight) == (60, 40)
