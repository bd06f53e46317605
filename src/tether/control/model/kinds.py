"""The resource kinds Tether accepts: API group, versions, spec type and checks of each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tether.control.model.check_networking import (
    check_destination_rule,
    check_gateway,
    check_service_entry,
)
from tether.control.model.check_routes import check_virtual_service
from tether.control.model.destination_rule import DestinationRuleSpec
from tether.control.model.findings import Findings
from tether.control.model.gateway_api import HTTPRouteSpec, check_http_route
from tether.control.model.gateway_entry import GatewaySpec, ServiceEntrySpec
from tether.control.model.security import (
    AuthorizationPolicySpec,
    PeerAuthenticationSpec,
    RequestAuthenticationSpec,
    check_authorization_policy,
    check_peer_authentication,
    check_request_authentication,
    normalise_peer_authentication,
)
from tether.control.model.smi import (
    HTTPRouteGroupSpec,
    HTTPRouteGroupV1Alpha1,
    HTTPRouteGroupV1Alpha2,
    TCPRouteSpec,
    TrafficSplitV1Alpha1,
    TrafficSplitV1Alpha2,
    TrafficSplitV1Alpha3,
    TrafficTargetV1Alpha1,
    TrafficTargetV1Alpha2,
    TrafficTargetV1Alpha3,
    check_route_group,
    check_tcp_route,
    check_traffic_split,
    check_traffic_target,
    normalise_route_group,
    normalise_traffic_split,
    normalise_traffic_target,
)
from tether.control.model.virtual_service import VirtualServiceSpec

Checker = Callable[[Any, Findings], None]
# (version, decoded spec, findings) -> the spec in the newest shape of the kind.
Normaliser = Callable[[str, Any, Findings], msgspec.Struct]


@dataclass(frozen=True)
class KindDef:
    """How to decode and check one kind. ``top_level`` lists versions without a ``spec`` key."""

    group: str
    kind: str
    spec_types: Mapping[str, type[msgspec.Struct]]
    check: Checker
    top_level: frozenset[str] = frozenset()
    normalise: Normaliser | None = None
    plural: str = ""
    short_names: tuple[str, ...] = field(default=())

    @property
    def versions(self) -> tuple[str, ...]:
        """Return the accepted versions, oldest first."""
        return tuple(self.spec_types)


ISTIO_NETWORKING = "networking.istio.io"
ISTIO_SECURITY = "security.istio.io"
_NET_VERSIONS = ("v1alpha3", "v1beta1", "v1")

KINDS: dict[tuple[str, str], KindDef] = {}

# Kinds Istio removed: refused with what replaces them.
REMOVED: dict[tuple[str, str], str] = {
    ("authentication.istio.io", "Policy"): (
        "authentication.istio.io/v1alpha1 Policy was removed from Istio; use "
        "security.istio.io/v1 PeerAuthentication (mTLS) and RequestAuthentication (JWT) instead"
    ),
    ("authentication.istio.io", "MeshPolicy"): (
        "authentication.istio.io/v1alpha1 MeshPolicy was removed from Istio; use a "
        "security.istio.io/v1 PeerAuthentication (mTLS) and RequestAuthentication (JWT) in the "
        "root namespace instead"
    ),
    ("rbac.istio.io", "ServiceRole"): "rbac.istio.io was removed from Istio; use AuthorizationPolicy",
    ("rbac.istio.io", "ServiceRoleBinding"): (
        "rbac.istio.io was removed from Istio; use AuthorizationPolicy"
    ),
}


def register(kind: KindDef) -> None:
    """Add ``kind`` to the accepted kinds."""
    KINDS[(kind.group, kind.kind)] = kind


def _versions(spec_type: type[msgspec.Struct], versions: tuple[str, ...]) -> dict[str, type[msgspec.Struct]]:
    return {v: spec_type for v in versions}


register(KindDef(ISTIO_NETWORKING, "VirtualService", _versions(VirtualServiceSpec, _NET_VERSIONS),
                 check_virtual_service, plural="virtualservices", short_names=("vs",)))
register(KindDef(ISTIO_NETWORKING, "DestinationRule", _versions(DestinationRuleSpec, _NET_VERSIONS),
                 check_destination_rule, plural="destinationrules", short_names=("dr",)))
register(KindDef(ISTIO_NETWORKING, "Gateway", _versions(GatewaySpec, _NET_VERSIONS),
                 check_gateway, plural="gateways", short_names=("gw",)))
register(KindDef(ISTIO_NETWORKING, "ServiceEntry", _versions(ServiceEntrySpec, _NET_VERSIONS),
                 check_service_entry, plural="serviceentries", short_names=("se",)))

_SEC_VERSIONS = ("v1beta1", "v1")
register(KindDef(ISTIO_SECURITY, "PeerAuthentication", _versions(PeerAuthenticationSpec, _SEC_VERSIONS),
                 check_peer_authentication, normalise=normalise_peer_authentication,
                 plural="peerauthentications", short_names=("pa",)))
register(KindDef(ISTIO_SECURITY, "AuthorizationPolicy", _versions(AuthorizationPolicySpec, _SEC_VERSIONS),
                 check_authorization_policy, plural="authorizationpolicies", short_names=("ap",)))
register(KindDef(ISTIO_SECURITY, "RequestAuthentication",
                 _versions(RequestAuthenticationSpec, _SEC_VERSIONS),
                 check_request_authentication, plural="requestauthentications", short_names=("ra",)))

register(KindDef(
    "split.smi-spec.io", "TrafficSplit",
    {"v1alpha1": TrafficSplitV1Alpha1, "v1alpha2": TrafficSplitV1Alpha2,
     "v1alpha3": TrafficSplitV1Alpha3, "v1alpha4": TrafficSplitV1Alpha3},
    check_traffic_split, normalise=normalise_traffic_split, plural="trafficsplits", short_names=("ts",)))
register(KindDef(
    "access.smi-spec.io", "TrafficTarget",
    {"v1alpha1": TrafficTargetV1Alpha1, "v1alpha2": TrafficTargetV1Alpha2, "v1alpha3": TrafficTargetV1Alpha3},
    check_traffic_target, top_level=frozenset({"v1alpha1"}), normalise=normalise_traffic_target,
    plural="traffictargets", short_names=("tt",)))
register(KindDef(
    "specs.smi-spec.io", "HTTPRouteGroup",
    {"v1alpha1": HTTPRouteGroupV1Alpha1, "v1alpha2": HTTPRouteGroupV1Alpha2,
     "v1alpha3": HTTPRouteGroupSpec, "v1alpha4": HTTPRouteGroupSpec},
    check_route_group, top_level=frozenset({"v1alpha1", "v1alpha2"}), normalise=normalise_route_group,
    plural="httproutegroups", short_names=("htr",)))
register(KindDef(
    "specs.smi-spec.io", "TCPRoute",
    {v: TCPRouteSpec for v in ("v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4")},
    check_tcp_route, plural="tcproutes"))
register(KindDef("specs.smi-spec.io", "UDPRoute", {"v1alpha4": TCPRouteSpec}, check_tcp_route,
                 plural="udproutes"))

register(KindDef("gateway.networking.k8s.io", "HTTPRoute",
                 _versions(HTTPRouteSpec, ("v1beta1", "v1")), check_http_route, plural="httproutes"))


def groups() -> set[str]:
    """Return every API group with at least one accepted kind."""
    return {g for g, _ in KINDS}
