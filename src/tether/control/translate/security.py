"""AuthorizationPolicy, SMI TrafficTarget and RequestAuthentication → a proxy's security config.

Which policies select a workload (Istio's rules, with ``tether-system`` as the root namespace):
a policy without selector applies to every workload of its namespace, or of the whole mesh
when it lives in the root namespace; a ``selector`` narrows that to workloads whose labels
match; a ``targetRef(s)`` of kind ``Service`` selects the workloads of that service (app),
of kind ``Gateway`` the gateway of that name.

Pure: the keys of a ``jwksUri`` come from ``jwks``, a lookup the control plane fills by
fetching (see ``tether.control.jwks``); a URI not fetched yet gives an empty key set, so
tokens of that issuer are refused rather than trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from tether.control.model.resource import Resource
from tether.control.model.security import (
    AuthorizationPolicySpec,
    PolicyTargetReference,
    RequestAuthenticationSpec,
    Rule,
    Source,
    WorkloadSelector,
)
from tether.control.model.smi import HTTPRouteGroupSpec, TCPRouteSpec, TrafficTargetSpec
from tether.control.translate.hosts import labels_match
from tether.control.translate.services import workload_labels
from tether.core.identity import ProxyNode
from tether.core.schema.security import (
    ROOT_NAMESPACE,
    AuthzCondition,
    AuthzConfig,
    AuthzOperation,
    AuthzPolicy,
    AuthzRule,
    AuthzSource,
    ClaimHeader,
    JwtHeaderLocation,
    JwtProvider,
    RequestAuthnConfig,
)

if TYPE_CHECKING:
    from tether.control.world import World

JwksLookup = Callable[[str], str | None]  # jwksUri -> JWKS text, None while not fetched


def selects(r: Resource, selector: WorkloadSelector | None, refs: tuple[PolicyTargetReference, ...],
            node: ProxyNode) -> bool:
    """Return True if a policy in ``r``'s namespace with ``selector``/``refs`` applies to ``node``."""
    if r.namespace not in (node.namespace, ROOT_NAMESPACE):
        return False
    if refs:
        return any(_targets(ref, r.namespace, node) for ref in refs)
    return selector is None or labels_match(selector.match_labels, workload_labels(node))


def _targets(ref: PolicyTargetReference, namespace: str, node: ProxyNode) -> bool:
    if (ref.namespace or namespace) != node.namespace:
        return False
    if ref.kind == "Gateway":
        return node.kind == "gateway" and ref.name == node.name
    return ref.kind in ("Service", "ServiceEntry") and ref.name == node.app


def _refs(one: PolicyTargetReference | None, many: tuple[PolicyTargetReference, ...]) -> tuple[
        PolicyTargetReference, ...]:
    return (one, *many) if one is not None else many


def service_account_principal(sa: str, namespace: str) -> str:
    """Return the principal pattern of ``sa`` (``name`` or ``namespace/name``) in any trust domain."""
    ns, _, name = sa.rpartition("/")
    return f"*/ns/{ns or namespace}/sa/{name}"


def _source(s: Source, namespace: str) -> AuthzSource:
    return AuthzSource(
        principals=(*s.principals, *(service_account_principal(x, namespace) for x in s.service_accounts)),
        not_principals=(*s.not_principals,
                        *(service_account_principal(x, namespace) for x in s.not_service_accounts)),
        request_principals=s.request_principals, not_request_principals=s.not_request_principals,
        namespaces=s.namespaces, not_namespaces=s.not_namespaces,
        ip_blocks=s.ip_blocks, not_ip_blocks=s.not_ip_blocks,
        remote_ip_blocks=s.remote_ip_blocks, not_remote_ip_blocks=s.not_remote_ip_blocks,
    )


def _rule(rule: Rule, namespace: str) -> AuthzRule:
    ops = tuple(AuthzOperation(
        hosts=o.hosts, not_hosts=o.not_hosts,
        ports=tuple(int(p) for p in o.ports), not_ports=tuple(int(p) for p in o.not_ports),
        methods=o.methods, not_methods=o.not_methods, paths=o.paths, not_paths=o.not_paths,
    ) for o in (t.operation for t in rule.to))
    return AuthzRule(
        sources=tuple(_source(f.source, namespace) for f in rule.from_),
        operations=ops,
        conditions=tuple(AuthzCondition(key=c.key, values=c.values, not_values=c.not_values) for c in rule.when),
    )


def authorization_policy(r: Resource, spec: AuthorizationPolicySpec) -> AuthzPolicy:
    """Return the snapshot form of one AuthorizationPolicy (CUSTOM kept as is: the proxy,
    having no external authorizer, denies what it matches)."""
    return AuthzPolicy(name=f"AuthorizationPolicy/{r.namespace}/{r.name}", action=spec.action or "ALLOW",
                       rules=tuple(_rule(x, r.namespace) for x in spec.rules))


def _route_group_ops(spec: HTTPRouteGroupSpec, names: tuple[str, ...]) -> list[AuthzOperation]:
    out = []
    for m in spec.matches:
        if names and m.name not in names:
            continue
        methods = () if "*" in m.methods else tuple(x.upper() for x in m.methods)
        out.append(AuthzOperation(methods=methods, path_regexes=(m.path_regex,) if m.path_regex else (),
                                  header_regexes=dict(m.headers)))
    return out


def traffic_target(world: World, r: Resource, spec: TrafficTargetSpec) -> AuthzPolicy:
    """Return the ALLOW policy of one SMI TrafficTarget: its source service accounts may do
    what its route groups match (a rule naming a missing group allows nothing)."""
    sources = (AuthzSource(principals=tuple(
        service_account_principal(f"{s.namespace or r.namespace}/{s.name}", r.namespace) for s in spec.sources)),)
    ops: list[AuthzOperation] = []
    for rule in spec.rules:
        if rule.kind == "HTTPRouteGroup":
            group = world.route_groups.get((r.namespace, rule.name))
            ops += _route_group_ops(group, rule.matches) if group is not None else [
                AuthzOperation(path_regexes=("(?!)",))]
        else:
            route = next((x.spec for x in world.of_kind(rule.kind)
                          if x.namespace == r.namespace and x.name == rule.name), None)
            ports = route.matches.ports if isinstance(route, TCPRouteSpec) and route.matches else ()
            ops.append(AuthzOperation(ports=ports) if route is not None else AuthzOperation(path_regexes=("(?!)",)))
    port = spec.destination.port
    if port is not None:
        ops = [AuthzOperation(ports=(port,))] if not ops else [
            o if o.ports else msgspec.structs.replace(o, ports=(port,)) for o in ops]
    return AuthzPolicy(name=f"TrafficTarget/{r.namespace}/{r.name}", action="ALLOW",
                       rules=(AuthzRule(sources=sources, operations=tuple(ops)),))


def authz_for(world: World, node: ProxyNode) -> AuthzConfig | None:
    """Return every authorization policy in force for ``node``, None when there is none."""
    out: list[AuthzPolicy] = []
    for r in world.of_kind("AuthorizationPolicy"):
        spec = r.spec
        if isinstance(spec, AuthorizationPolicySpec) and selects(
                r, spec.selector, _refs(spec.target_ref, spec.target_refs), node):
            out.append(authorization_policy(r, spec))
    for r in world.of_kind("TrafficTarget"):
        spec_tt = r.spec
        if isinstance(spec_tt, TrafficTargetSpec) and spec_tt.destination.kind == "ServiceAccount" and (
                spec_tt.destination.namespace or r.namespace) == node.namespace and spec_tt.destination.name == node.sa:
            out.append(traffic_target(world, r, spec_tt))
    return AuthzConfig(policies=tuple(sorted(out, key=lambda p: p.name))) if out else None


def request_authn_for(world: World, node: ProxyNode, jwks: JwksLookup | None = None) -> RequestAuthnConfig | None:
    """Return the JWT providers of every RequestAuthentication selecting ``node`` (the first
    rule for an issuer wins), None when there is none."""
    providers: dict[str, JwtProvider] = {}
    for r in world.of_kind("RequestAuthentication"):
        spec = r.spec
        if not isinstance(spec, RequestAuthenticationSpec) or not selects(
                r, spec.selector, _refs(spec.target_ref, spec.target_refs), node):
            continue
        for rule in spec.jwt_rules:
            if rule.issuer in providers:
                continue
            keys = rule.jwks
            if keys is None and rule.jwks_uri and jwks is not None:
                keys = jwks(rule.jwks_uri)
            providers[rule.issuer] = JwtProvider(
                issuer=rule.issuer, audiences=rule.audiences, jwks=keys or "", jwks_uri=rule.jwks_uri or "",
                from_headers=tuple(JwtHeaderLocation(name=h.name, prefix=h.prefix or "") for h in rule.from_headers),
                from_params=rule.from_params, from_cookies=rule.from_cookies,
                forward_original_token=bool(rule.forward_original_token),
                output_payload_to_header=rule.output_payload_to_header or "",
                output_claim_to_headers=tuple(ClaimHeader(header=c.header, claim=c.claim)
                                              for c in rule.output_claim_to_headers),
            )
    return RequestAuthnConfig(providers=tuple(providers.values())) if providers else None


def jwks_uris(world: World) -> set[str]:
    """Return every ``jwksUri`` the RequestAuthentications of ``world`` name."""
    specs = [r.spec for r in world.of_kind("RequestAuthentication")]
    return {rule.jwks_uri for spec in specs if isinstance(spec, RequestAuthenticationSpec)
            for rule in spec.jwt_rules if rule.jwks_uri}
