"""AuthorizationPolicy, TrafficTarget and RequestAuthentication → the proxy's security config."""

from __future__ import annotations

from tether.control.model import parse_documents
from tether.control.translate import translate
from tether.control.translate.security import authz_for, jwks_uris, request_authn_for, service_account_principal
from tether.control.world import World
from tether.core.identity import ProxyNode
from tether.core.schema.security import AuthzOperation, AuthzSource

ORDER = ProxyNode(name="order", labels={"app": "order", "version": "v1"})
SHIP = ProxyNode(name="shipping", namespace="shop", service_account="shipper")


def world(text: str) -> World:
    return World(parse_documents(text, "test.yaml").resources, ())


def ap(name: str, namespace: str, spec: str) -> str:
    return (f"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}\n---\n")


def names(w: World, node: ProxyNode) -> list[str]:
    config = authz_for(w, node)
    return [p.name for p in config.policies] if config else []


def test_which_policies_select_a_workload() -> None:
    w = world(
        ap("ns-wide", "default", "  action: DENY\n  rules: [{}]")
        + ap("mesh-wide", "tether-system", "  {}")
        + ap("for-order", "default", "  selector: {matchLabels: {app: order}}\n  rules: [{}]")
        + ap("for-v2", "default", "  selector: {matchLabels: {version: v2}}\n  rules: [{}]")
        + ap("other-ns", "shop", "  rules: [{}]")
        + ap("by-ref", "default", "  targetRef: {kind: Service, group: '', name: order}\n  rules: [{}]")
    )
    assert names(w, ORDER) == ["AuthorizationPolicy/default/by-ref", "AuthorizationPolicy/default/for-order",
                               "AuthorizationPolicy/default/ns-wide", "AuthorizationPolicy/tether-system/mesh-wide"]
    assert names(w, SHIP) == ["AuthorizationPolicy/shop/other-ns", "AuthorizationPolicy/tether-system/mesh-wide"]
    assert authz_for(world(""), ORDER) is None


def test_allow_nothing_and_allow_all_shapes() -> None:
    config = authz_for(world(ap("none", "default", "  {}") + ap("all", "default", "  rules: [{}]")), ORDER)
    assert config is not None
    by_name = {p.name.rsplit("/", 1)[1]: p for p in config.policies}
    assert (by_name["none"].action, by_name["none"].rules) == ("ALLOW", ())
    assert len(by_name["all"].rules) == 1 and by_name["all"].rules[0].sources == ()


def test_rule_fields_carry_over() -> None:
    spec = """\
  action: DENY
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/default/sa/web]
        serviceAccounts: [shop/billing]
        notNamespaces: [test]
        ipBlocks: [10.0.0.0/8]
        requestPrincipals: ["*"]
    to:
    - operation: {methods: [POST], paths: [/admin*], ports: ["8080"], notHosts: [a.example]}
    when:
    - {key: "request.auth.claims[groups]", values: [admin]}"""
    config = authz_for(world(ap("p", "default", spec)), ORDER)
    assert config is not None
    (policy,) = config.policies
    rule = policy.rules[0]
    assert policy.action == "DENY"
    assert rule.sources == (AuthzSource(principals=("cluster.local/ns/default/sa/web", "*/ns/shop/sa/billing"),
                                        not_namespaces=("test",), ip_blocks=("10.0.0.0/8",),
                                        request_principals=("*",)),)
    assert rule.operations == (AuthzOperation(methods=("POST",), paths=("/admin*",), ports=(8080,),
                                              not_hosts=("a.example",)),)
    assert rule.conditions[0].key == "request.auth.claims[groups]"


def test_service_account_principal() -> None:
    assert service_account_principal("billing", "shop") == "*/ns/shop/sa/billing"
    assert service_account_principal("other/billing", "shop") == "*/ns/other/sa/billing"


SMI = """\
apiVersion: specs.smi-spec.io/v1alpha4
kind: HTTPRouteGroup
metadata: {name: api, namespace: shop}
spec:
  matches:
  - {name: metrics, pathRegex: /metrics, methods: [GET]}
  - {name: everything, pathRegex: ".*", methods: ["*"], headers: {x-team: pay.*}}
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: TCPRoute
metadata: {name: tcp, namespace: shop}
spec: {matches: {ports: [9000]}}
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: to-shipper, namespace: shop}
spec:
  destination: {kind: ServiceAccount, name: shipper, namespace: shop}
  rules:
  - {kind: HTTPRouteGroup, name: api, matches: [metrics]}
  - {kind: TCPRoute, name: tcp}
  sources:
  - {kind: ServiceAccount, name: order, namespace: default}
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: missing-group, namespace: shop}
spec:
  destination: {kind: ServiceAccount, name: shipper}
  rules: [{kind: HTTPRouteGroup, name: nope}]
  sources: [{kind: ServiceAccount, name: web}]
"""


def test_traffic_target_becomes_an_allow_policy_for_the_destination_account() -> None:
    config = authz_for(world(SMI), SHIP)
    assert config is not None
    missing, target = config.policies
    assert target.name == "TrafficTarget/shop/to-shipper" and target.action == "ALLOW"
    rule = target.rules[0]
    assert rule.sources == (AuthzSource(principals=("*/ns/default/sa/order",)),)
    assert rule.operations == (AuthzOperation(methods=("GET",), path_regexes=("/metrics",)), AuthzOperation(
        ports=(9000,)))
    assert missing.rules[0].operations == (AuthzOperation(path_regexes=("(?!)",)),)
    assert authz_for(world(SMI), ORDER) is None  # a different service account


def test_traffic_target_destination_port() -> None:
    text = SMI.replace("destination: {kind: ServiceAccount, name: shipper, namespace: shop}",
                       "destination: {kind: ServiceAccount, name: shipper, namespace: shop, port: 8080}")
    text = text.replace("access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata: {name: to-shipper",
                        "access.smi-spec.io/v1alpha2\nkind: TrafficTarget\nmetadata: {name: to-shipper")
    config = authz_for(world(text), SHIP)
    assert config is not None
    ops = config.policies[1].rules[0].operations
    assert [o.ports for o in ops] == [(8080,), (9000,)]


RA = """\
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: order}}
  jwtRules:
  - issuer: https://idp.example
    jwksUri: https://idp.example/jwks
    audiences: [order-api]
    fromHeaders: [{name: x-token, prefix: "Bearer "}]
    fromParams: [tk]
    forwardOriginalToken: true
    outputPayloadToHeader: x-jwt
    outputClaimToHeaders: [{header: x-sub, claim: sub}]
  - issuer: inline
    jwks: '{"keys": []}'
"""


def test_request_authentication_providers_take_fetched_keys() -> None:
    w = world(RA)
    config = request_authn_for(w, ORDER, {"https://idp.example/jwks": '{"keys": [1]}'}.get)
    assert config is not None
    remote, inline = config.providers
    assert (remote.jwks, remote.jwks_uri, remote.audiences) == ('{"keys": [1]}', "https://idp.example/jwks",
                                                                ("order-api",))
    assert (remote.from_headers[0].name, remote.from_headers[0].prefix, remote.from_params) == (
        "x-token", "Bearer ", ("tk",))
    assert remote.forward_original_token and remote.output_payload_to_header == "x-jwt"
    assert remote.output_claim_to_headers[0].claim == "sub"
    assert inline.jwks == '{"keys": []}'
    unfetched = request_authn_for(w, ORDER, None)
    assert unfetched is not None and unfetched.providers[0].jwks == ""
    assert request_authn_for(w, SHIP) is None
    assert jwks_uris(w) == {"https://idp.example/jwks"}


def test_translate_puts_both_in_the_snapshot() -> None:
    snap = translate(world(RA + "---\n" + ap("p", "default", "  rules: [{}]")), ORDER)
    assert snap.authz is not None and snap.request_authn is not None
    assert translate(world(""), ORDER).authz is None
