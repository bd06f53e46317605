"""Snapshot types for request security: authorization policies and JWT providers.

The control plane translates ``AuthorizationPolicy``, SMI ``TrafficTarget`` and
``RequestAuthentication`` into these; the proxy compiles them once per snapshot. String
patterns keep Istio's notation (``*`` alone: any non-empty value; ``abc*`` prefix; ``*abc``
suffix; else exact), so ``/config_dump`` reads like the resources that produced it.
"""

from __future__ import annotations

import msgspec

# The mesh root namespace: an AuthorizationPolicy/RequestAuthentication without a selector in
# it applies to every workload of the mesh (Istio's ``istio-system``).
ROOT_NAMESPACE = "tether-system"


class Struct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Same settings as the base of ``snapshot`` (which imports this module, so it cannot be shared)."""


class AuthzSource(Struct, frozen=True):
    """``from.source``: every field that is set must match (AND); values in a field are OR-ed."""

    principals: tuple[str, ...] = ()
    not_principals: tuple[str, ...] = ()
    request_principals: tuple[str, ...] = ()
    not_request_principals: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    not_namespaces: tuple[str, ...] = ()
    ip_blocks: tuple[str, ...] = ()
    not_ip_blocks: tuple[str, ...] = ()
    remote_ip_blocks: tuple[str, ...] = ()
    not_remote_ip_blocks: tuple[str, ...] = ()


class AuthzOperation(Struct, frozen=True):
    """``to.operation``: hosts are case-insensitive; methods and paths are exact-case."""

    hosts: tuple[str, ...] = ()
    not_hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    not_ports: tuple[int, ...] = ()
    methods: tuple[str, ...] = ()
    not_methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    not_paths: tuple[str, ...] = ()
    # SMI HTTPRouteGroup matches carry regular expressions (full match) rather than patterns.
    path_regexes: tuple[str, ...] = ()
    header_regexes: dict[str, str] = {}


class AuthzCondition(Struct, frozen=True):
    """``when``: the attribute ``key`` must match one of ``values`` and none of ``not_values``."""

    key: str
    values: tuple[str, ...] = ()
    not_values: tuple[str, ...] = ()


class AuthzRule(Struct, frozen=True):
    """One rule: any source (none listed: any), any operation, and every condition."""

    sources: tuple[AuthzSource, ...] = ()
    operations: tuple[AuthzOperation, ...] = ()
    conditions: tuple[AuthzCondition, ...] = ()


class AuthzPolicy(Struct, frozen=True):
    """One policy in force for this proxy; ``name`` is ``Kind/namespace/name``.

    ``action`` is ``ALLOW``, ``DENY`` or ``AUDIT``. A policy without rules matches nothing
    (so a lone ALLOW policy without rules allows nothing).
    """

    name: str
    action: str = "ALLOW"
    rules: tuple[AuthzRule, ...] = ()


class AuthzConfig(Struct, frozen=True):
    """Every authorization policy selecting this proxy's workload, sorted by name."""

    policies: tuple[AuthzPolicy, ...] = ()


class JwtHeaderLocation(Struct, frozen=True):
    """A header carrying the token, after ``prefix`` (e.g. ``Authorization: Bearer <token>``)."""

    name: str
    prefix: str = ""


class ClaimHeader(Struct, frozen=True):
    """``outputClaimToHeaders``: copy ``claim`` of a verified token to request header ``header``."""

    header: str
    claim: str


class JwtProvider(Struct, frozen=True):
    """One ``jwtRules`` entry with its keys. ``jwks`` is a JSON Web Key Set (inline, or fetched
    from ``jwks_uri`` by the control plane; empty while no fetch has succeeded, which makes
    every token of this issuer fail). Empty ``from_*``: ``Authorization: Bearer`` and the
    ``access_token`` query parameter."""

    issuer: str
    audiences: tuple[str, ...] = ()
    jwks: str = ""
    jwks_uri: str = ""
    from_headers: tuple[JwtHeaderLocation, ...] = ()
    from_params: tuple[str, ...] = ()
    from_cookies: tuple[str, ...] = ()
    forward_original_token: bool = False
    output_payload_to_header: str = ""
    output_claim_to_headers: tuple[ClaimHeader, ...] = ()


class RequestAuthnConfig(Struct, frozen=True):
    """Every JWT provider the RequestAuthentications selecting this workload define."""

    providers: tuple[JwtProvider, ...] = ()
