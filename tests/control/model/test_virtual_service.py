"""VirtualService documents in the style of the Istio docs are accepted and typed."""

from __future__ import annotations

import pytest

from tether.control.model import Duration, parse_documents
from tether.control.model.virtual_service import VirtualServiceSpec

REVIEWS = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews-route
  namespace: shop
spec:
  hosts:
  - reviews
  http:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
      uri:
        prefix: /ratings
      ignoreUriCase: true
      sourceLabels: {app: productpage}
      queryParams:
        debug: {exact: "1"}
      withoutHeaders:
        x-canary: {}
      port: 9080
    rewrite:
      uri: /v1/ratings
      authority: ratings.internal
    route:
    - destination:
        host: reviews
        subset: v2
      headers:
        request:
          set: {x-user: jason}
        response:
          remove: [server]
  - fault:
      delay:
        percentage: {value: 10}
        fixedDelay: 5s
      abort:
        httpStatus: 503
        percentage: {value: 1.5}
    mirror:
      host: reviews
      subset: v3
    mirrorPercentage: {value: 25.0}
    corsPolicy:
      allowOrigins:
      - exact: https://example.com
      allowMethods: [GET, POST]
      maxAge: 24h
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: gateway-error,connect-failure,refused-stream,503
      retryRemoteLocalities: true
    timeout: 1.5s
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 75
    - destination: {host: reviews, subset: v3}
      weight: 25
  - match: [{uri: {regex: "^/old/.*"}}]
    redirect: {uri: /new, redirectCode: 301}
  - match: [{uri: {exact: /health}}]
    directResponse: {status: 200, body: {string: ok}}
  - mirrors:
    - destination: {host: reviews, subset: v2}
      percentage: {value: 5}
    rewrite:
      uriRegexRewrite: {match: "^/v1/(.*)", rewrite: "/v2/\\\\1"}
    route: [{destination: {host: reviews}}]
  tcp:
  - match: [{port: 27017}]
    route: [{destination: {host: mongo.backup.svc.cluster.local, port: {number: 5555}}}]
  tls:
  - match: [{port: 443, sniHosts: [login.bookinfo.com]}]
    route: [{destination: {host: login.prod.svc.cluster.local}}]
  exportTo: [".", "other-ns"]
"""


@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_every_version_is_accepted(version: str) -> None:
    text = REVIEWS.replace("networking.istio.io/v1", f"networking.istio.io/{version}")
    result = parse_documents(text, "reviews.yaml")
    (r,) = result.resources
    assert r.api_version == f"networking.istio.io/{version}"
    assert r.key == ("VirtualService", "shop", "reviews-route")
    assert isinstance(r.spec, VirtualServiceSpec)
    assert result.warnings == ()


def test_fields_are_typed() -> None:
    spec = parse_documents(REVIEWS, "reviews.yaml").resources[0].spec
    assert isinstance(spec, VirtualServiceSpec)
    first, second = spec.http[0], spec.http[1]
    assert first.match[0].headers["end-user"].exact == "jason"
    assert first.match[0].without_headers["x-canary"].exact is None
    assert first.match[0].source_labels == {"app": "productpage"}
    assert first.rewrite is not None and first.rewrite.uri == "/v1/ratings"
    assert second.timeout == Duration(1500)
    assert second.retries is not None and second.retries.per_try_timeout == Duration(2000)
    assert second.fault is not None and second.fault.abort is not None
    assert second.fault.abort.http_status == 503
    assert second.cors_policy is not None and second.cors_policy.max_age == Duration(86_400_000)
    assert [d.weight for d in second.route] == [75, 25]
    assert spec.tcp[0].route[0].destination.port is not None


def test_gateway_bound_wildcard_host_is_accepted() -> None:
    text = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: order}
spec:
  hosts: ["*"]
  gateways: [microservice-gateway]
  http:
  - match: [{uri: {prefix: /order}}]
    rewrite: {uri: /}
    route: [{destination: {host: order.default.svc.cluster.local, port: {number: 8080}}}]
"""
    (r,) = parse_documents(text, "gw.yaml").resources
    assert r.namespace == "default"


def test_deprecated_fault_percent_is_a_warning() -> None:
    text = """
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - fault:
      delay: {percent: 10, fixedDelay: 7s}
    mirrorPercent: 50
    mirror: {host: ratings}
    route: [{destination: {host: ratings}}]
"""
    result = parse_documents(text, "f.yaml")
    assert [str(w) for w in result.warnings] == [
        "f.yaml doc 1 VirtualService/ratings: spec.http[0].fault.delay.percent: "
        "deprecated: use percentage: {value: ...}",
        "f.yaml doc 1 VirtualService/ratings: spec.http[0].mirrorPercent: "
        "deprecated: use mirrorPercentage: {value: ...}",
    ]
