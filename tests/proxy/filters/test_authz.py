"""The authorization filter: reads the snapshot's policies and the exchange, answers 403."""

from __future__ import annotations

import pytest

from tether.core.schema.security import AuthzCondition, AuthzConfig, AuthzOperation, AuthzPolicy, AuthzRule, AuthzSource
from tether.core.schema.snapshot import Cluster, Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.authz.engine import RequestAuth
from tether.proxy.filters.authz import AUDITED, PEER_PRINCIPAL, REQUEST_AUTH, AccessDenied, Authorization
from tether.proxy.rescue import error_response
from tether.proxy.routing import RoutingTable
from tether.proxy.upstream.cluster import ClusterRuntime, build_cluster
from tether.proxy.upstream.pool import PoolManager
from tether.testing.factories import make_exchange


def policies(*items: AuthzPolicy) -> RoutingTable:
    return RoutingTable(Snapshot(authz=AuthzConfig(policies=items)), {}, {})


def only_get_feed() -> AuthzPolicy:
    return AuthzPolicy(name="AuthorizationPolicy/default/feed", rules=(
        AuthzRule(operations=(AuthzOperation(methods=("GET",), paths=("/feed",)),)),))


def app() -> ClusterRuntime:
    return build_cluster(Cluster(name="inbound|8080||", service="s", port=8080), PoolManager(TaskGroup("t")).pool)


def test_no_snapshot_or_no_policy_lets_everything_through() -> None:
    assert Authorization(lambda: None, lambda: None).decide(make_exchange()) is None
    assert Authorization(lambda: RoutingTable(Snapshot(), {}, {}), lambda: None).decide(make_exchange()) is None


def test_denied_request_is_a_403_with_envoys_text_and_details() -> None:
    flt = Authorization(lambda: policies(only_get_feed()), lambda: None)
    flt.on_request(make_exchange(b"GET", b"/feed?x=1"))
    ex = make_exchange(b"POST", b"/feed")
    with pytest.raises(AccessDenied) as err:
        flt.on_request(ex)
    response = error_response(ex, err.value)
    assert (response.status, response.body, ex.response_flags) == (403, b"RBAC: access denied", "-")
    assert ex.extra == {"response_code_details": "rbac_access_denied_matched_policy[none]"}
    assert (flt.stats.allowed, flt.stats.denied) == (1, 1)


def test_path_is_normalised_before_deciding() -> None:
    deny = AuthzPolicy(name="d", action="DENY", rules=(AuthzRule(operations=(AuthzOperation(paths=("/admin*",)),)),))
    flt = Authorization(lambda: policies(deny), lambda: None)
    for target in (b"/admin", b"/x/../admin", b"//admin/users", b"/./admin"):
        with pytest.raises(AccessDenied):
            flt.on_request(make_exchange(b"GET", target))


def test_principal_comes_only_from_the_verified_peer() -> None:
    pol = AuthzPolicy(name="p", rules=(AuthzRule(sources=(AuthzSource(principals=("*/sa/order",)),)),))
    flt = Authorization(lambda: policies(pol), lambda: None)
    forged = make_exchange(headers=[(b"host", b"a"), (b"x-tether-peer", b"order;default;order;v1")])
    with pytest.raises(AccessDenied):
        flt.on_request(forged)
    ex = make_exchange()
    ex.extra = {PEER_PRINCIPAL: "cluster.local/ns/default/sa/order"}
    flt.on_request(ex)


def test_request_principal_port_host_and_headers_reach_the_engine() -> None:
    pol = AuthzPolicy(name="p", rules=(AuthzRule(
        sources=(AuthzSource(request_principals=("iss/alice",)),),
        operations=(AuthzOperation(ports=(8080,), hosts=("order",)),),
    ),))
    cond = AuthzPolicy(name="c", action="DENY", rules=(AuthzRule(conditions=(
        AuthzCondition(key="request.headers[x-debug]", values=("1",)),)),))
    runtime = app()
    flt = Authorization(lambda: policies(pol, cond), lambda: runtime)
    ex = make_exchange(headers=[(b"host", b"order:80")])
    ex.extra = {REQUEST_AUTH: RequestAuth(principal="iss/alice")}
    flt.on_request(ex)
    ex = make_exchange(headers=[(b"host", b"order"), (b"x-debug", b"1")])
    ex.extra = {REQUEST_AUTH: RequestAuth(principal="iss/alice")}
    with pytest.raises(AccessDenied):
        flt.on_request(ex)


def test_audit_is_noted_and_compiled_once_per_snapshot() -> None:
    table = policies(AuthzPolicy(name="watch", action="AUDIT", rules=(AuthzRule(),)))
    flt = Authorization(lambda: table, lambda: None)
    ex = make_exchange()
    flt.on_request(ex)
    assert ex.extra == {AUDITED: ("watch",)} and flt.stats.audited == 1
    engine = flt.engine()
    assert flt.engine() is engine


def test_a_policy_that_does_not_compile_denies_everything() -> None:
    bad = AuthzPolicy(name="b", rules=(AuthzRule(sources=(AuthzSource(ip_blocks=("nope",)),)),))
    flt = Authorization(lambda: policies(bad), lambda: None)
    with pytest.raises(AccessDenied):
        flt.on_request(make_exchange())
