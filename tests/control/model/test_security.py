"""security.istio.io kinds: accepted examples and refused ones."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tether.control.model import ResourceErrors, parse_documents
from tether.control.model.security import (
    AuthorizationPolicySpec,
    PeerAuthenticationSpec,
    RequestAuthenticationSpec,
)

VALID = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: order, namespace: default}
spec:
  selector: {matchLabels: {app: order}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls:
    8080: {mode: DISABLE}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: order-readers}
spec:
  selector: {matchLabels: {app: order}}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/default/sa/shipping, cluster.local/ns/default/sa/invoicing]
    - source: {namespaces: [monitoring], ipBlocks: [10.0.0.0/8, 192.168.1.1]}
    to:
    - operation: {methods: [GET, HEAD], paths: [/feed, /order/*], ports: ["8080"]}
    when:
    - key: request.auth.claims[iss]
      values: ["https://accounts.example.com"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: shop}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-authz}
spec:
  action: CUSTOM
  provider: {name: my-authz}
  rules: [{to: [{operation: {paths: [/admin/*]}}]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt}
spec:
  selector: {matchLabels: {app: order}}
  jwtRules:
  - issuer: https://accounts.example.com
    jwksUri: https://accounts.example.com/.well-known/jwks.json
    audiences: [order]
    fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
    forwardOriginalToken: true
    outputClaimToHeaders: [{header: x-user, claim: sub}]
    timeout: 5s
"""


def test_valid_security_documents() -> None:
    result = parse_documents(VALID, "sec.yaml")
    kinds = [type(r.spec) for r in result.resources]
    assert kinds == [PeerAuthenticationSpec, PeerAuthenticationSpec, AuthorizationPolicySpec,
                     AuthorizationPolicySpec, AuthorizationPolicySpec, RequestAuthenticationSpec]
    pa = result.resources[1].spec
    assert isinstance(pa, PeerAuthenticationSpec) and pa.port_level_mtls[8080].mode == "DISABLE"
    ap = result.resources[2].spec
    assert isinstance(ap, AuthorizationPolicySpec)
    assert ap.rules[0].from_[0].source.principals[0] == "cluster.local/ns/default/sa/shipping"


def doc(kind: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump({"apiVersion": "security.istio.io/v1", "kind": kind,
                           "metadata": {"name": "bad"}, "spec": spec})


INVALID: list[tuple[str, str, str]] = [
    (doc("PeerAuthentication", {"mtls": {"mode": "ON"}}),
     "spec.mtls.mode", 'expected one of DISABLE, PERMISSIVE, STRICT, UNSET, got "ON"'),
    (doc("PeerAuthentication", {"portLevelMtls": {80: {"mode": "STRICT"}}}),
     "spec.portLevelMtls", "needs a selector"),
    (doc("AuthorizationPolicy", {"action": "PERMIT"}),
     "spec.action", 'expected one of ALLOW, AUDIT, CUSTOM, DENY, got "PERMIT"'),
    (doc("AuthorizationPolicy", {"action": "CUSTOM"}), "spec.provider", "required when action is CUSTOM"),
    (doc("AuthorizationPolicy", {"provider": {"name": "x"}}), "spec.provider", "only allowed when"),
    (doc("AuthorizationPolicy", {"rules": [{"to": [{"operation": {"ports": ["http"]}}]}]}),
     "spec.rules[0].to[0].operation.ports[0]", '"http" is not a port number'),
    (doc("AuthorizationPolicy", {"rules": [{"to": [{"operation": {"paths": ["/a/*/b"]}}]}]}),
     "spec.rules[0].to[0].operation.paths[0]", '"*" is only allowed at the start or the end'),
    (doc("AuthorizationPolicy", {"rules": [{"from": [{"source": {"ipBlocks": ["10.0.0.0/99"]}}]}]}),
     "spec.rules[0].from[0].source.ipBlocks[0]", "is not an IP address or CIDR block"),
    (doc("AuthorizationPolicy", {"rules": [{"from": [{"source": {"principal": ["x"]}}]}]}),
     "spec.rules[0].from[0].source.principal", 'unknown field (did you mean "principals"?)'),
    (doc("AuthorizationPolicy", {"rules": [{"when": [{"key": "request.headers[x]"}]}]}),
     "spec.rules[0].when[0]", "set values or notValues"),
    (doc("AuthorizationPolicy", {"selector": {"matchLabels": {"a": "b"}},
                                 "targetRef": {"kind": "Service", "name": "x"}}),
     "spec", "set only one of selector, targetRef, targetRefs"),
    (doc("RequestAuthentication", {"jwtRules": [{"jwksUri": "https://x"}]}),
     "spec.jwtRules[0].issuer", "required field missing"),
    (doc("RequestAuthentication", {"jwtRules": [{"issuer": "a", "jwksUri": "ftp://x"}]}),
     "spec.jwtRules[0].jwksUri", "expected an http(s) URL"),
    (doc("RequestAuthentication", {"jwtRules": [{"issuer": "a", "jwks": "{not json"}]}),
     "spec.jwtRules[0].jwks", "expected a JSON Web Key Set"),
    (doc("RequestAuthentication", {"jwtRules": [{"issuer": "a"}, {"issuer": "a"}]}),
     "spec.jwtRules[1].issuer", 'duplicate issuer "a"'),
]


@pytest.mark.parametrize(("text", "path", "message"), INVALID)
def test_invalid_security_document_is_refused(text: str, path: str, message: str) -> None:
    with pytest.raises(ResourceErrors) as info:
        parse_documents(text, "bad.yaml")
    errors = info.value.errors
    assert any(e.path == path and message in e.message for e in errors), [str(e) for e in errors]
