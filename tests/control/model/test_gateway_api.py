"""Gateway API HTTPRoute attached to a Service (GAMMA): accepted and refused examples."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tether.control.model import Duration, ResourceErrors, parse_documents
from tether.control.model.gateway_api import HTTPRouteSpec

VALID = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-canary, namespace: shop}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews, port: 9080}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-canary, value: "true"}]
      queryParams: [{type: RegularExpression, name: user, value: "j.*"}]
      method: GET
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-route, value: canary}]
        remove: [x-debug]
    - type: URLRewrite
      urlRewrite: {hostname: reviews.internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
    backendRefs:
    - {name: reviews-v2, port: 9080, weight: 90}
    - {name: reviews-v3, port: 9080, weight: 10}
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {codes: [503], attempts: 2, backoff: 100ms}
  - backendRefs:
    - name: reviews-v1
      port: 9080
      filters:
      - type: RequestMirror
        requestMirror: {backendRef: {name: reviews-shadow, port: 9080}, percent: 10}
"""


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_valid_http_route(version: str) -> None:
    (r,) = parse_documents(VALID.replace("k8s.io/v1", f"k8s.io/{version}"), "r.yaml").resources
    assert isinstance(r.spec, HTTPRouteSpec)
    rule = r.spec.rules[0]
    assert rule.timeouts is not None and rule.timeouts.request == Duration(10_000)
    assert [b.weight for b in rule.backend_refs] == [90, 10]
    assert rule.matches[0].path is not None and rule.matches[0].path.type == "PathPrefix"


def doc(rule: dict[str, Any], parents: Any = None) -> str:
    spec = {"parentRefs": parents if parents is not None else [{"kind": "Service", "name": "a"}],
            "rules": [rule]}
    return yaml.safe_dump({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                           "metadata": {"name": "bad"}, "spec": spec})


INVALID: list[tuple[str, str, str]] = [
    (doc({}, parents=[]), "spec.parentRefs", "at least one parent"),
    (doc({"backendRefs": [{"name": "b"}]}), "spec.rules[0].backendRefs[0].port", "required for a Service"),
    (doc({"backendRefs": [{"name": "b", "port": 80, "weight": -1}]}),
     "spec.rules[0].backendRefs[0].weight", "must be between 0 and 1e+06, got -1"),
    (doc({"matches": [{"path": {"type": "Glob", "value": "/"}}]}),
     "spec.rules[0].matches[0].path.type", 'expected one of Exact, PathPrefix, RegularExpression, got "Glob"'),
    (doc({"matches": [{"path": {"type": "PathPrefix", "value": "api"}}]}),
     "spec.rules[0].matches[0].path.value", 'must start with "/"'),
    (doc({"matches": [{"path": {"type": "RegularExpression", "value": "(x"}}]}),
     "spec.rules[0].matches[0].path.value", "invalid regular expression"),
    (doc({"filters": [{"type": "URLRewrite"}]}), "spec.rules[0].filters[0]", "needs its urlRewrite field"),
    (doc({"filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 305}}]}),
     "spec.rules[0].filters[0].requestRedirect.statusCode", "expected 301, 302, 303, 307 or 308"),
    (doc({"timeouts": {"request": "1s", "backendRequest": "2s"}}),
     "spec.rules[0].timeouts.backendRequest", "must not be longer than timeouts.request"),
    (doc({"timeouts": {"request": "ten seconds"}}), "spec.rules[0].timeouts.request", "expected a duration"),
    (doc({"retry": {"codes": [200]}}), "spec.rules[0].retry.codes[0]", "must be between 400 and 599, got 200"),
    (doc({"matches": [{"method": "FETCH"}]}), "spec.rules[0].matches[0].method", "expected one of"),
]


@pytest.mark.parametrize(("text", "path", "message"), INVALID)
def test_invalid_http_route_is_refused(text: str, path: str, message: str) -> None:
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, "bad.yaml")
    errors = info.value.errors
    assert any(e.path == path and message in e.message for e in errors), [str(e) for e in errors]
