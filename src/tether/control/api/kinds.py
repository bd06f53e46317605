"""Resource kind names as users type them: ``vs``, ``virtualservices``, ``VirtualService``...

Shared by the control API and the CLI so both accept the same spellings.
"""

from __future__ import annotations

from typing import NamedTuple

from tether.core.errors import UsageError


class KindInfo(NamedTuple):
    kind: str
    group: str
    plural: str
    short: tuple[str, ...]

    @property
    def qualified(self) -> str:
        """Return kubectl's ``<kind lower>.<group>`` (``virtualservice.networking.istio.io``)."""
        return f"{self.kind.lower()}.{self.group}"


KINDS: tuple[KindInfo, ...] = (
    KindInfo("VirtualService", "networking.istio.io", "virtualservices", ("vs",)),
    KindInfo("DestinationRule", "networking.istio.io", "destinationrules", ("dr",)),
    KindInfo("Gateway", "networking.istio.io", "gateways", ("gw",)),
    KindInfo("ServiceEntry", "networking.istio.io", "serviceentries", ("se",)),
    KindInfo("PeerAuthentication", "security.istio.io", "peerauthentications", ("pa",)),
    KindInfo("AuthorizationPolicy", "security.istio.io", "authorizationpolicies", ("ap",)),
    KindInfo("RequestAuthentication", "security.istio.io", "requestauthentications", ("ra",)),
    KindInfo("TrafficSplit", "split.smi-spec.io", "trafficsplits", ("ts",)),
    KindInfo("TrafficTarget", "access.smi-spec.io", "traffictargets", ("tt",)),
    KindInfo("HTTPRouteGroup", "specs.smi-spec.io", "httproutegroups", ("hrg",)),
    KindInfo("HTTPRoute", "gateway.networking.k8s.io", "httproutes", ("hr",)),
)

_BY_NAME: dict[str, KindInfo] = {}
for _info in KINDS:
    for _name in (_info.kind, _info.plural, *_info.short):
        _BY_NAME[_name.lower()] = _info
        _BY_NAME[f"{_name.lower()}.{_info.group}"] = _info


def resolve_kind(name: str) -> KindInfo:
    """Return the kind ``name`` means (case-insensitive, plural, short or qualified forms).

    Raises UsageError listing the known kinds when ``name`` is none of them.
    """
    info = _BY_NAME.get(name.strip().lower())
    if info is None:
        known = ", ".join(f"{k.kind} ({'/'.join(k.short)})" for k in KINDS)
        raise UsageError(f"unknown resource kind {name!r}; known kinds: {known}")
    return info


def info_for(kind: str) -> KindInfo:
    """Return the KindInfo of a canonical kind; an unlisted kind gets a generic entry."""
    info = _BY_NAME.get(kind.lower())
    return info if info is not None else KindInfo(kind, "tether.io", kind.lower() + "s", ())
