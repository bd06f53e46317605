"""The authorization decision table: one row per behaviour of Istio's AuthorizationPolicy."""

from __future__ import annotations

from typing import Any

import pytest

from tether.core.errors import ConfigRejected
from tether.core.schema.security import AuthzCondition, AuthzConfig, AuthzOperation, AuthzPolicy, AuthzRule, AuthzSource
from tether.proxy.authz.engine import AuthzRequest, Engine, RequestAuth

ORDER = "cluster.local/ns/default/sa/order"
SHIP = "cluster.local/ns/shipping/sa/shipping"
JWT = RequestAuth(principal="https://idp.example/alice",
                  claims={"groups": ["admin", "dev"], "role": "reader", "org": {"team": "payments"},
                          "level": 3, "beta": True},
                  audiences=("order-api",), presenter="web-app")


def rule(src: AuthzSource | None = None, op: AuthzOperation | None = None, *when: AuthzCondition) -> AuthzRule:
    return AuthzRule(sources=(src,) if src else (), operations=(op,) if op else (), conditions=when)


def allow(*rules: AuthzRule, name: str = "allow") -> AuthzPolicy:
    return AuthzPolicy(name=f"AuthorizationPolicy/default/{name}", action="ALLOW", rules=rules)


def deny(*rules: AuthzRule, name: str = "deny") -> AuthzPolicy:
    return AuthzPolicy(name=f"AuthorizationPolicy/default/{name}", action="DENY", rules=rules)


def audit(*rules: AuthzRule, name: str = "audit") -> AuthzPolicy:
    return AuthzPolicy(name=f"AuthorizationPolicy/default/{name}", action="AUDIT", rules=rules)


def when(key: str, *values: str, nots: tuple[str, ...] = ()) -> AuthzCondition:
    return AuthzCondition(key=key, values=values, not_values=nots)


S, Op = AuthzSource, AuthzOperation
ANY = AuthzRule()

# (id, policies, request fields, allowed)
CASES: list[tuple[str, list[AuthzPolicy], dict[str, Any], bool]] = [
    # defaults and the two special shapes
    ("no policy allows", [], {}, True),
    ("empty ALLOW spec allows nothing", [allow()], {}, False),
    ("rules [{}] allows all", [allow(ANY)], {}, True),
    ("DENY with rules [{}] denies all", [deny(ANY)], {}, False),
    ("DENY without rules denies nothing", [deny()], {}, True),
    ("AUDIT alone never denies", [audit(ANY)], {}, True),
    # principals
    ("principal exact", [allow(rule(S(principals=(ORDER,))))], {"principal": ORDER}, True),
    ("principal other", [allow(rule(S(principals=(ORDER,))))], {"principal": SHIP}, False),
    ("principal absent (no mTLS)", [allow(rule(S(principals=(ORDER,))))], {}, False),
    ("principal * needs a peer", [allow(rule(S(principals=("*",))))], {}, False),
    ("principal * any peer", [allow(rule(S(principals=("*",))))], {"principal": SHIP}, True),
    ("principal prefix", [allow(rule(S(principals=("cluster.local/ns/default/*",))))], {"principal": ORDER}, True),
    ("principal suffix", [allow(rule(S(principals=("*/sa/order",))))], {"principal": ORDER}, True),
    ("notPrincipals excludes", [allow(rule(S(not_principals=(ORDER,))))], {"principal": ORDER}, False),
    ("notPrincipals lets others", [allow(rule(S(not_principals=(ORDER,))))], {"principal": SHIP}, True),
    # namespaces
    ("namespace match", [allow(rule(S(namespaces=("default",))))], {"principal": ORDER}, True),
    ("namespace mismatch", [allow(rule(S(namespaces=("default",))))], {"principal": SHIP}, False),
    ("namespace without peer", [allow(rule(S(namespaces=("default",))))], {}, False),
    ("notNamespaces", [allow(rule(S(not_namespaces=("shipping",))))], {"principal": SHIP}, False),
    ("namespace prefix", [allow(rule(S(namespaces=("ship*",))))], {"principal": SHIP}, True),
    # request principals (JWT)
    ("requestPrincipals *, token", [allow(rule(S(request_principals=("*",))))], {"auth": JWT}, True),
    ("requestPrincipals *, no token", [allow(rule(S(request_principals=("*",))))], {}, False),
    ("requestPrincipals exact", [allow(rule(S(request_principals=("https://idp.example/alice",))))],
     {"auth": JWT}, True),
    ("requestPrincipals other issuer", [allow(rule(S(request_principals=("https://other/*",))))],
     {"auth": JWT}, False),
    ("notRequestPrincipals * denies anonymous", [deny(rule(S(not_request_principals=("*",))))], {}, False),
    ("notRequestPrincipals * with token", [deny(rule(S(not_request_principals=("*",))))], {"auth": JWT}, True),
    # IP blocks
    ("ipBlocks CIDR", [allow(rule(S(ip_blocks=("127.0.0.0/8",))))], {"source_ip": "127.0.0.1"}, True),
    ("ipBlocks single address", [allow(rule(S(ip_blocks=("10.0.0.1",))))], {"source_ip": "10.0.0.2"}, False),
    ("notIpBlocks", [allow(rule(S(not_ip_blocks=("10.0.0.0/8",))))], {"source_ip": "10.1.2.3"}, False),
    ("ipBlocks v6 vs v4", [allow(rule(S(ip_blocks=("::1/128",))))], {"source_ip": "127.0.0.1"}, False),
    ("remoteIpBlocks", [allow(rule(S(remote_ip_blocks=("192.0.2.0/24",))))], {"remote_ip": "192.0.2.9"}, True),
    ("notRemoteIpBlocks", [deny(rule(S(not_remote_ip_blocks=("192.0.2.0/24",))))], {"remote_ip": "8.8.8.8"}, False),
    # sources: fields AND, values OR, several sources OR
    ("source fields are AND-ed", [allow(rule(S(namespaces=("default",), ip_blocks=("10.0.0.0/8",))))],
     {"principal": ORDER, "source_ip": "127.0.0.1"}, False),
    ("several from entries are OR-ed", [allow(AuthzRule(sources=(S(principals=(SHIP,)), S(principals=(ORDER,)))))],
     {"principal": ORDER}, True),
    # operations
    ("method match", [allow(rule(op=Op(methods=("GET",))))], {"method": "GET"}, True),
    ("method mismatch", [allow(rule(op=Op(methods=("GET",))))], {"method": "POST"}, False),
    ("method case matters", [allow(rule(op=Op(methods=("get",))))], {"method": "GET"}, False),
    ("notMethods", [allow(rule(op=Op(not_methods=("DELETE",))))], {"method": "DELETE"}, False),
    ("path exact", [allow(rule(op=Op(paths=("/feed",))))], {"path": "/feed"}, True),
    ("path exact is not prefix", [allow(rule(op=Op(paths=("/feed",))))], {"path": "/feed/1"}, False),
    ("path prefix *", [allow(rule(op=Op(paths=("/api/*",))))], {"path": "/api/orders"}, True),
    ("path suffix *", [allow(rule(op=Op(paths=("*.html",))))], {"path": "/x/index.html"}, True),
    ("path * any", [allow(rule(op=Op(paths=("*",))))], {"path": "/anything"}, True),
    ("notPaths", [allow(rule(op=Op(not_paths=("/admin*",))))], {"path": "/admin/users"}, False),
    ("host without port", [allow(rule(op=Op(hosts=("order.default.svc.cluster.local",))))],
     {"host": "order.default.svc.cluster.local:80"}, True),
    ("host case-insensitive", [allow(rule(op=Op(hosts=("Order.Example.COM",))))], {"host": "order.example.com"}, True),
    ("host wildcard", [allow(rule(op=Op(hosts=("*.example.com",))))], {"host": "a.example.com"}, True),
    ("notHosts", [allow(rule(op=Op(not_hosts=("evil.example",))))], {"host": "evil.example"}, False),
    ("ports", [allow(rule(op=Op(ports=(8080,))))], {"port": 8080}, True),
    ("ports mismatch", [allow(rule(op=Op(ports=(8080,))))], {"port": 9090}, False),
    ("notPorts", [allow(rule(op=Op(not_ports=(9090,))))], {"port": 9090}, False),
    ("operation fields AND-ed", [allow(rule(op=Op(methods=("GET",), paths=("/feed",))))],
     {"method": "GET", "path": "/other"}, False),
    ("from AND to", [allow(rule(S(principals=(ORDER,)), Op(methods=("GET",))))],
     {"principal": ORDER, "method": "POST"}, False),
    # SMI route-group regexes
    ("path regex full match", [allow(rule(op=Op(path_regexes=("/metrics",))))], {"path": "/metrics/x"}, False),
    ("path regex", [allow(rule(op=Op(path_regexes=("/api/.*",))))], {"path": "/api/v1"}, True),
    ("header regex", [allow(rule(op=Op(header_regexes={"X-Team": "pay.*"})))],
     {"headers": {"x-team": "payments"}}, True),
    # when: conditions
    ("when header", [allow(rule(None, None, when("request.headers[X-Tenant]", "acme")))],
     {"headers": {"x-tenant": "acme"}}, True),
    ("when header missing", [allow(rule(None, None, when("request.headers[x-tenant]", "acme")))], {}, False),
    ("when header notValues", [allow(rule(None, None, when("request.headers[x-tenant]", nots=("evil",))))],
     {"headers": {"x-tenant": "evil"}}, False),
    ("when claim in list", [allow(rule(None, None, when("request.auth.claims[groups]", "admin")))],
     {"auth": JWT}, True),
    ("when claim string", [allow(rule(None, None, when("request.auth.claims[role]", "writer")))],
     {"auth": JWT}, False),
    ("when nested claim", [allow(rule(None, None, when("request.auth.claims[org][team]", "payments")))],
     {"auth": JWT}, True),
    ("when number claim", [allow(rule(None, None, when("request.auth.claims[level]", "3")))], {"auth": JWT}, True),
    ("when bool claim", [allow(rule(None, None, when("request.auth.claims[beta]", "true")))], {"auth": JWT}, True),
    ("when claim without token", [allow(rule(None, None, when("request.auth.claims[groups]", "admin")))], {}, False),
    ("when audiences", [allow(rule(None, None, when("request.auth.audiences", "order-api")))], {"auth": JWT}, True),
    ("when presenter", [allow(rule(None, None, when("request.auth.presenter", "mobile")))], {"auth": JWT}, False),
    ("when request.auth.principal", [allow(rule(None, None, when("request.auth.principal", "https://idp.example/*")))],
     {"auth": JWT}, True),
    ("when source.principal", [allow(rule(None, None, when("source.principal", ORDER)))], {"principal": ORDER}, True),
    ("when source.namespace", [allow(rule(None, None, when("source.namespace", "default")))],
     {"principal": SHIP}, False),
    ("when source.ip", [allow(rule(None, None, when("source.ip", "127.0.0.0/8")))], {"source_ip": "127.0.0.1"}, True),
    ("when remote.ip notValues", [allow(rule(None, None, when("remote.ip", nots=("127.0.0.1",))))],
     {"remote_ip": "127.0.0.1"}, False),
    ("when destination.port", [allow(rule(None, None, when("destination.port", "8080")))], {"port": 8080}, True),
    ("when connection.sni is never set", [allow(rule(None, None, when("connection.sni", "*.example.com")))], {}, False),
    ("conditions are AND-ed", [allow(rule(None, None, when("request.auth.claims[role]", "reader"),
                                          when("request.auth.presenter", "mobile")))], {"auth": JWT}, False),
    ("unknown key never allows", [allow(rule(None, None, when("experimental.x", "1")))], {}, False),
    ("unknown key always denies", [deny(rule(None, None, when("experimental.x", "1")))], {}, False),
    # precedence
    ("DENY over ALLOW", [allow(ANY), deny(rule(op=Op(paths=("/admin",))))], {"path": "/admin"}, False),
    ("ALLOW when DENY does not match", [allow(ANY), deny(rule(op=Op(paths=("/admin",))))], {"path": "/feed"}, True),
    ("one of several ALLOW matches", [allow(rule(op=Op(paths=("/a",))), name="a"),
                                      allow(rule(op=Op(paths=("/b",))), name="b")], {"path": "/b"}, True),
    ("no ALLOW matches", [allow(rule(op=Op(paths=("/a",))), name="a")], {"path": "/b"}, False),
    ("AUDIT does not allow", [audit(ANY), allow(rule(op=Op(paths=("/a",))))], {"path": "/b"}, False),
    ("AUDIT does not deny", [audit(ANY), deny(rule(op=Op(paths=("/x",))))], {"path": "/b"}, True),
    ("unknown action fails closed", [AuthzPolicy(name="p", action="CUSTOM", rules=(ANY,))], {}, False),
]


@pytest.mark.parametrize(("policies", "fields", "allowed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision(policies: list[AuthzPolicy], fields: dict[str, Any], allowed: bool) -> None:
    base: dict[str, Any] = {"method": "GET", "path": "/"}
    request = AuthzRequest(**{**base, **fields})
    assert Engine(AuthzConfig(policies=tuple(policies))).decide(request).allowed is allowed


def test_the_table_is_large() -> None:
    assert len(CASES) >= 40


def test_decision_names_the_policy_and_audits() -> None:
    engine = Engine(AuthzConfig(policies=(audit(ANY, name="watch"), deny(rule(op=Op(paths=("/x",))), name="nox"),
                                          allow(ANY, name="all"))))
    denied = engine.decide(AuthzRequest(method="GET", path="/x"))
    assert (denied.allowed, denied.policy, denied.audited) == (
        False, "AuthorizationPolicy/default/nox", ("AuthorizationPolicy/default/watch",))
    assert engine.decide(AuthzRequest(method="GET", path="/y")).policy == "AuthorizationPolicy/default/all"


def test_bad_cidr_and_regex_are_refused_at_compile_time() -> None:
    with pytest.raises(ConfigRejected, match="not an IP"):
        Engine(AuthzConfig(policies=(allow(rule(S(ip_blocks=("10.0.0.300/8",)))),)))
    with pytest.raises(ConfigRejected, match="regular expression"):
        Engine(AuthzConfig(policies=(allow(rule(op=Op(path_regexes=("(",)))),)))


def test_uses_headers_only_when_a_policy_reads_them() -> None:
    assert not Engine(AuthzConfig(policies=(allow(ANY),))).uses_headers
    assert Engine(AuthzConfig(policies=(allow(rule(None, None, when("request.headers[a]", "b"))),))).uses_headers
