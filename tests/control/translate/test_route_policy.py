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
from tether.core.schema.snapshot import (
    DirectResponse,
    HeaderOps,
    MirrorPolicy,
    Redirect,
    RetryPolicy,
    StringMatch,
)


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
    assert retry_policy(off) is None
    # As in Istio: attempts unset disables retries too; no retries at all is the default policy.
    unset = conv(vs.HTTPRetry, perTryTimeout="1s")
    assert isinstance(unset, vs.HTTPRetry)
    assert retry_policy(unset) is None
    assert retry_policy(None) == RetryPolicy()
    assert RetryPolicy().retry_on == ("connect-failure", "refused-stream", "unavailable", "cancelled",
                                      "retriable-status-codes")
    assert (RetryPolicy().attempts, RetryPolicy().retriable_status_codes) == (2, (503,))
    only_per_try = conv(vs.HTTPRetry, attempts=1, perTryTimeout="250ms")
    assert isinstance(only_per_try, vs.HTTPRetry)
    assert retry_policy(only_per_try) == RetryPolicy(attempts=1, per_try_timeout_ms=250)
    dup = conv(vs.HTTPRetry, attempts=2, retryOn=" 5xx , 503,503, retriable-status-codes,5xx")
    assert isinstance(dup, vs.HTTPRetry)
    p = retry_policy(dup)
    assert p is not None and p.retry_on == ("5xx", "retriable-status-codes") and p.retriable_status_codes == (503,)


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
    # allowOrigins wins over the deprecated allowOrigin when both are given
    assert p is not None and p.allow_origins == (StringMatch(prefix="https://"),)
    assert (p.max_age_s, p.allow_methods, p.allow_credentials) == (86400, ("GET",), True)
    old = conv(vs.CorsPolicy, allowOrigin=["http://x", "*"], exposeHeaders=["X-Id"], allowHeaders=["X-Token"])
    assert isinstance(old, vs.CorsPolicy)
    p = cors(old)
    assert p is not None and p.allow_origins == (StringMatch(exact="http://x"), StringMatch(prefix=""))
    assert (p.expose_headers, p.allow_headers, p.max_age_s, p.allow_credentials) == (("X-Id",), ("X-Token",),
                                                                                     None, False)


def test_redirect_ports_and_defaults() -> None:
    plain = conv(vs.HTTPRedirect, uri="/x")
    assert isinstance(plain, vs.HTTPRedirect)
    assert redirect(plain) == Redirect(uri="/x", status=301)
    derived = conv(vs.HTTPRedirect, scheme="https", derivePort="FROM_PROTOCOL_DEFAULT")
    assert isinstance(derived, vs.HTTPRedirect)
    assert redirect(derived) == Redirect(scheme="https", port=443)
    http = conv(vs.HTTPRedirect, authority="b", derivePort="FROM_PROTOCOL_DEFAULT")
    assert isinstance(http, vs.HTTPRedirect)
    assert redirect(http) == Redirect(authority="b", port=80)
    same = conv(vs.HTTPRedirect, authority="b", derivePort="FROM_REQUEST_PORT", redirectCode=302)
    assert isinstance(same, vs.HTTPRedirect)
    assert redirect(same) == Redirect(authority="b", status=302)


def test_direct_response_bodies() -> None:
    text = conv(vs.HTTPDirectResponse, status=200, body={"string": "hello"})
    assert isinstance(text, vs.HTTPDirectResponse)
    assert direct_response(text) == DirectResponse(status=200, body="hello")
    empty = conv(vs.HTTPDirectResponse, status=204)
    assert isinstance(empty, vs.HTTPDirectResponse)
    assert direct_response(empty) == DirectResponse(status=204)


def test_destination_headers_ride_on_the_weighted_cluster() -> None:
    hr = conv(vs.HTTPRoute, route=[{"destination": {"host": "a"}, "weight": 60,
                                    "headers": {"request": {"set": {"x-v": "1"}}}},
                                   {"destination": {"host": "b"}, "weight": 40}])
    assert isinstance(hr, vs.HTTPRoute)
    (a, b) = weighted_clusters(hr.route, "ns", 80, cluster_for)
    assert a.request_headers == HeaderOps(set={"x-v": "1"}) and b.request_headers is None
    assert (a.weight, b.weight) == (60, 40)


def test_same_cluster_merges_only_with_the_same_header_ops() -> None:
    hr = conv(vs.HTTPRoute, route=[{"destination": {"host": "a"}, "weight": 30},
                                   {"destination": {"host": "a"}, "weight": 20},
                                   {"destination": {"host": "a"}, "weight": 50,
                                    "headers": {"response": {"add": {"x-half": "1"}}}}])
    assert isinstance(hr, vs.HTTPRoute)
    plain, tagged = weighted_clusters(hr.route, "ns", 80, cluster_for)
    assert (plain.cluster, plain.weight, plain.response_headers) == ("outbound|80||a.ns", 50, None)
    assert (tagged.weight, tagged.response_headers) == (50, HeaderOps(add={"x-half": "1"}))
