"""Istio ``security.istio.io`` v1beta1/v1: PeerAuthentication, AuthorizationPolicy, RequestAuthentication."""

from __future__ import annotations

import ipaddress
import json
from typing import Literal

import msgspec

from tether.control.model.findings import Findings
from tether.control.model.values import Duration, Struct


class WorkloadSelector(Struct, frozen=True):
    match_labels: dict[str, str] = {}


class PolicyTargetReference(Struct, frozen=True):
    kind: str
    name: str
    group: str | None = None
    namespace: str | None = None


class PeerMtls(Struct, frozen=True):
    mode: Literal["UNSET", "DISABLE", "PERMISSIVE", "STRICT"] | None = None


class PeerAuthenticationSpec(Struct, frozen=True):
    """mTLS mode for the workloads ``selector`` picks (all of the namespace without one)."""

    selector: WorkloadSelector | None = None
    mtls: PeerMtls | None = None
    # Keys are port numbers; as strings too, since JSON (and a stored resource) cannot have int keys.
    port_level_mtls: dict[int | str, PeerMtls] = {}


class Source(Struct, frozen=True):
    principals: tuple[str, ...] = ()
    not_principals: tuple[str, ...] = ()
    request_principals: tuple[str, ...] = ()
    not_request_principals: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    not_namespaces: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    not_service_accounts: tuple[str, ...] = ()
    ip_blocks: tuple[str, ...] = ()
    not_ip_blocks: tuple[str, ...] = ()
    remote_ip_blocks: tuple[str, ...] = ()
    not_remote_ip_blocks: tuple[str, ...] = ()


class Operation(Struct, frozen=True):
    hosts: tuple[str, ...] = ()
    not_hosts: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    not_ports: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    not_methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    not_paths: tuple[str, ...] = ()


class RuleFrom(Struct, frozen=True):
    source: Source


class RuleTo(Struct, frozen=True):
    operation: Operation


class Condition(Struct, frozen=True):
    key: str
    values: tuple[str, ...] = ()
    not_values: tuple[str, ...] = ()


class Rule(Struct, frozen=True):
    from_: tuple[RuleFrom, ...] = msgspec.field(default=(), name="from")
    to: tuple[RuleTo, ...] = ()
    when: tuple[Condition, ...] = ()


class ExtensionProvider(Struct, frozen=True):
    name: str


class AuthorizationPolicySpec(Struct, frozen=True):
    """Who may do what to the selected workloads (ALLOW/DENY/AUDIT/CUSTOM)."""

    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = None
    target_refs: tuple[PolicyTargetReference, ...] = ()
    action: Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"] | None = None
    provider: ExtensionProvider | None = None
    rules: tuple[Rule, ...] = ()


class JWTHeader(Struct, frozen=True):
    name: str
    prefix: str | None = None


class ClaimToHeader(Struct, frozen=True):
    header: str
    claim: str


class JWTRule(Struct, frozen=True):
    issuer: str
    audiences: tuple[str, ...] = ()
    jwks_uri: str | None = None
    jwks: str | None = None
    from_headers: tuple[JWTHeader, ...] = ()
    from_params: tuple[str, ...] = ()
    from_cookies: tuple[str, ...] = ()
    output_payload_to_header: str | None = None
    forward_original_token: bool | None = None
    output_claim_to_headers: tuple[ClaimToHeader, ...] = ()
    timeout: Duration | None = None


class RequestAuthenticationSpec(Struct, frozen=True):
    """Which JWTs the selected workloads accept."""

    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = None
    target_refs: tuple[PolicyTargetReference, ...] = ()
    jwt_rules: tuple[JWTRule, ...] = ()


def _targets(f: Findings, selector: object, ref: object, refs: tuple[object, ...]) -> None:
    if sum(1 for x in (selector, ref, refs or None) if x is not None) > 1:
        f.error("", "set only one of selector, targetRef, targetRefs")


def normalise_peer_authentication(version: str, spec: object, f: Findings) -> PeerAuthenticationSpec:
    """Return ``spec`` with every numeric ``portLevelMtls`` key as an int."""
    assert isinstance(spec, PeerAuthenticationSpec)
    ports = {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in spec.port_level_mtls.items()}
    return msgspec.structs.replace(spec, port_level_mtls=ports)


def check_peer_authentication(spec: PeerAuthenticationSpec, f: Findings) -> None:
    """Record what is wrong with a PeerAuthentication spec in ``f``."""
    if spec.port_level_mtls and spec.selector is None:
        f.error("portLevelMtls", "needs a selector (port-level mTLS applies to selected workloads)")
    for port in spec.port_level_mtls:
        if isinstance(port, str) and not port.isdigit():
            f.error(f"portLevelMtls.{port}", f'"{port}" is not a port number')
        else:
            f.port(f"portLevelMtls.{port}", int(port))


def _wildcard(f: Findings, path: str, values: tuple[str, ...]) -> None:
    for i, v in enumerate(values):
        if not v:
            f.error(f"{path}[{i}]", "must not be empty")
        elif "*" in v[1:-1] or v.count("*") > 1:
            f.error(f"{path}[{i}]", f'"{v}": "*" is only allowed at the start or the end')


def _cidrs(f: Findings, path: str, values: tuple[str, ...]) -> None:
    for i, v in enumerate(values):
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            f.error(f"{path}[{i}]", f'"{v}" is not an IP address or CIDR block')


def check_authorization_policy(spec: AuthorizationPolicySpec, f: Findings) -> None:
    """Record what is wrong with an AuthorizationPolicy spec in ``f``."""
    _targets(f, spec.selector, spec.target_ref, spec.target_refs)
    if spec.action == "CUSTOM" and spec.provider is None:
        f.error("provider", "required when action is CUSTOM")
    if spec.provider is not None and spec.action != "CUSTOM":
        f.error("provider", "only allowed when action is CUSTOM")
    for i, rule in enumerate(spec.rules):
        p = f"rules[{i}]"
        for j, fr in enumerate(rule.from_):
            s, sp = fr.source, f"{p}.from[{j}].source"
            for name in ("principals", "not_principals", "request_principals", "not_request_principals",
                         "namespaces", "not_namespaces"):
                wire = "".join(w.capitalize() if k else w for k, w in enumerate(name.split("_")))
                _wildcard(f, f"{sp}.{wire}", getattr(s, name))
            for name, wire in (("ip_blocks", "ipBlocks"), ("not_ip_blocks", "notIpBlocks"),
                               ("remote_ip_blocks", "remoteIpBlocks"),
                               ("not_remote_ip_blocks", "notRemoteIpBlocks")):
                _cidrs(f, f"{sp}.{wire}", getattr(s, name))
        for j, to in enumerate(rule.to):
            op, opp = to.operation, f"{p}.to[{j}].operation"
            for name, values in (("ports", op.ports), ("notPorts", op.not_ports)):
                for k, port in enumerate(values):
                    if not port.isdigit() or not 1 <= int(port) <= 65535:
                        f.error(f"{opp}.{name}[{k}]", f'"{port}" is not a port number')
            for name, values in (("paths", op.paths), ("notPaths", op.not_paths),
                                 ("hosts", op.hosts), ("notHosts", op.not_hosts)):
                _wildcard(f, f"{opp}.{name}", values)
        for j, cond in enumerate(rule.when):
            if not cond.key:
                f.error(f"{p}.when[{j}].key", "must not be empty")
            if not cond.values and not cond.not_values:
                f.error(f"{p}.when[{j}]", "set values or notValues")


def check_request_authentication(spec: RequestAuthenticationSpec, f: Findings) -> None:
    """Record what is wrong with a RequestAuthentication spec in ``f``."""
    _targets(f, spec.selector, spec.target_ref, spec.target_refs)
    issuers: set[str] = set()
    for i, rule in enumerate(spec.jwt_rules):
        p = f"jwtRules[{i}]"
        if not rule.issuer:
            f.error(f"{p}.issuer", "must not be empty")
        elif rule.issuer in issuers:
            f.error(f"{p}.issuer", f'duplicate issuer "{rule.issuer}"')
        issuers.add(rule.issuer)
        if rule.jwks_uri is not None and rule.jwks is not None:
            f.error(p, "set only one of jwksUri, jwks")
        if rule.jwks_uri is not None and not rule.jwks_uri.startswith(("http://", "https://")):
            f.error(f"{p}.jwksUri", f'expected an http(s) URL, got "{rule.jwks_uri}"')
        if rule.jwks is not None:
            try:
                json.loads(rule.jwks)
            except ValueError:
                f.error(f"{p}.jwks", "expected a JSON Web Key Set (JSON)")
        for j, h in enumerate(rule.from_headers):
            if not h.name:
                f.error(f"{p}.fromHeaders[{j}].name", "must not be empty")
        f.duration(f"{p}.timeout", rule.timeout, 1)
