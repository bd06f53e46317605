"""SMI: TrafficSplit (split.smi-spec.io), TrafficTarget (access), HTTPRouteGroup/TCPRoute (specs).

Older versions put some fields elsewhere or spell them differently; each version decodes into
its own shape and is normalised to the newest one, so ``Resource.spec`` has one type per kind.
"""

from __future__ import annotations

import re

from tether.control.model.findings import Findings
from tether.control.model.values import Struct, parse_quantity

HTTP_METHODS = frozenset({"*", "GET", "HEAD", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


class SplitBackend(Struct, frozen=True):
    service: str
    weight: float = 0.0


class SplitMatch(Struct, frozen=True):
    kind: str
    name: str
    api_group: str | None = None


class TrafficSplitSpec(Struct, frozen=True):
    """Normalised TrafficSplit: ``weight`` is a plain number in every version."""

    service: str
    backends: tuple[SplitBackend, ...] = ()
    matches: tuple[SplitMatch, ...] = ()


class _BackendQuantity(Struct, frozen=True):
    service: str
    weight: int | float | str


class _BackendInt(Struct, frozen=True):
    service: str
    weight: int


class TrafficSplitV1Alpha1(Struct, frozen=True):
    service: str
    backends: tuple[_BackendQuantity, ...] = ()


class TrafficSplitV1Alpha2(Struct, frozen=True):
    service: str
    backends: tuple[_BackendInt, ...] = ()


class TrafficSplitV1Alpha3(Struct, frozen=True):
    service: str
    backends: tuple[_BackendInt, ...] = ()
    matches: tuple[SplitMatch, ...] = ()


def normalise_traffic_split(version: str, spec: object, f: Findings) -> TrafficSplitSpec:
    """Return ``spec`` as a TrafficSplitSpec; v1alpha1 quantities (``"500m"``) become numbers."""
    assert isinstance(spec, TrafficSplitV1Alpha1 | TrafficSplitV1Alpha2 | TrafficSplitV1Alpha3)
    backends = []
    written: tuple[_BackendQuantity | _BackendInt, ...] = spec.backends
    for i, b in enumerate(written):
        try:
            weight = parse_quantity(b.weight)
        except ValueError as exc:
            f.error(f"backends[{i}].weight", str(exc))
            weight = 0.0
        backends.append(SplitBackend(service=b.service, weight=weight))
    matches = spec.matches if isinstance(spec, TrafficSplitV1Alpha3) else ()
    return TrafficSplitSpec(service=spec.service, backends=tuple(backends), matches=matches)


def check_traffic_split(spec: TrafficSplitSpec, f: Findings) -> None:
    """Record what is wrong with a TrafficSplit spec in ``f``."""
    if not spec.service:
        f.error("service", "must not be empty")
    if not spec.backends:
        f.error("backends", "at least one backend is required")
    for i, b in enumerate(spec.backends):
        if not b.service:
            f.error(f"backends[{i}].service", "must not be empty")
        if b.service == spec.service:
            f.error(f"backends[{i}].service", "a TrafficSplit cannot send to its own root service")
        f.range(f"backends[{i}].weight", b.weight, 0)
    if spec.backends and sum(b.weight for b in spec.backends) <= 0:
        f.error("backends", "the weights must not all be zero")
    for i, m in enumerate(spec.matches):
        if m.kind != "HTTPRouteGroup":
            f.error(f"matches[{i}].kind", f'expected "HTTPRouteGroup", got "{m.kind}"')


class Subject(Struct, frozen=True):
    kind: str
    name: str
    namespace: str | None = None
    port: int | None = None


class _SubjectNoPort(Struct, frozen=True):
    kind: str
    name: str
    namespace: str | None = None


class TrafficTargetRule(Struct, frozen=True):
    kind: str
    name: str
    matches: tuple[str, ...] = ()


class TrafficTargetSpec(Struct, frozen=True):
    """Normalised TrafficTarget: who (``sources``) may reach ``destination`` for which ``rules``."""

    destination: Subject
    rules: tuple[TrafficTargetRule, ...] = ()
    sources: tuple[Subject, ...] = ()


class TrafficTargetV1Alpha1(Struct, frozen=True):
    destination: Subject
    specs: tuple[TrafficTargetRule, ...] = ()
    sources: tuple[Subject, ...] = ()


class TrafficTargetV1Alpha2(Struct, frozen=True):
    destination: Subject
    rules: tuple[TrafficTargetRule, ...] = ()
    sources: tuple[Subject, ...] = ()


class TrafficTargetV1Alpha3(Struct, frozen=True):
    destination: _SubjectNoPort
    rules: tuple[TrafficTargetRule, ...] = ()
    sources: tuple[_SubjectNoPort, ...] = ()


def _subject(s: Subject | _SubjectNoPort) -> Subject:
    return s if isinstance(s, Subject) else Subject(kind=s.kind, name=s.name, namespace=s.namespace)


def normalise_traffic_target(version: str, spec: object, f: Findings) -> TrafficTargetSpec:
    """Return ``spec`` as a TrafficTargetSpec (v1alpha1 ``specs`` are ``rules``)."""
    if isinstance(spec, TrafficTargetV1Alpha1):
        return TrafficTargetSpec(destination=spec.destination, rules=spec.specs, sources=spec.sources)
    assert isinstance(spec, TrafficTargetV1Alpha2 | TrafficTargetV1Alpha3)
    return TrafficTargetSpec(destination=_subject(spec.destination), rules=spec.rules,
                             sources=tuple(_subject(s) for s in spec.sources))


def check_traffic_target(spec: TrafficTargetSpec, f: Findings) -> None:
    """Record what is wrong with a TrafficTarget spec in ``f``."""
    if spec.destination.kind != "ServiceAccount":
        f.error("destination.kind", f'expected "ServiceAccount", got "{spec.destination.kind}"')
    f.port("destination.port", spec.destination.port)
    for i, s in enumerate(spec.sources):
        if s.kind != "ServiceAccount":
            f.error(f"sources[{i}].kind", f'expected "ServiceAccount", got "{s.kind}"')
    for i, r in enumerate(spec.rules):
        if r.kind not in ("HTTPRouteGroup", "TCPRoute", "UDPRoute"):
            f.error(f"rules[{i}].kind", f'expected HTTPRouteGroup, TCPRoute or UDPRoute, got "{r.kind}"')


class HTTPMatch(Struct, frozen=True):
    name: str | None = None
    methods: tuple[str, ...] = ()
    path_regex: str | None = None
    headers: dict[str, str] = {}


class HTTPRouteGroupSpec(Struct, frozen=True):
    """Normalised HTTPRouteGroup: ``headers`` is a mapping name → regex in every version."""

    matches: tuple[HTTPMatch, ...] = ()


class _MatchV1Alpha1(Struct, frozen=True):
    name: str | None = None
    methods: tuple[str, ...] = ()
    path_regex: str | None = None


class _MatchV1Alpha2(Struct, frozen=True):
    name: str | None = None
    methods: tuple[str, ...] = ()
    path_regex: str | None = None
    headers: tuple[dict[str, str], ...] = ()


class HTTPRouteGroupV1Alpha1(Struct, frozen=True):
    matches: tuple[_MatchV1Alpha1, ...] = ()


class HTTPRouteGroupV1Alpha2(Struct, frozen=True):
    matches: tuple[_MatchV1Alpha2, ...] = ()


def normalise_route_group(version: str, spec: object, f: Findings) -> HTTPRouteGroupSpec:
    """Return ``spec`` as an HTTPRouteGroupSpec (v1alpha2's list of one-entry maps merged)."""
    if isinstance(spec, HTTPRouteGroupSpec):
        return spec
    assert isinstance(spec, HTTPRouteGroupV1Alpha1 | HTTPRouteGroupV1Alpha2)
    out = []
    for m in spec.matches:
        headers: dict[str, str] = {}
        for entry in m.headers if isinstance(m, _MatchV1Alpha2) else ():
            headers.update(entry)
        out.append(HTTPMatch(name=m.name, methods=m.methods, path_regex=m.path_regex, headers=headers))
    return HTTPRouteGroupSpec(matches=tuple(out))


def check_route_group(spec: HTTPRouteGroupSpec, f: Findings) -> None:
    """Record what is wrong with an HTTPRouteGroup spec in ``f``."""
    names: set[str] = set()
    for i, m in enumerate(spec.matches):
        p = f"matches[{i}]"
        if not m.name:
            f.error(f"{p}.name", "required field missing")
        elif m.name in names:
            f.error(f"{p}.name", f'duplicate match name "{m.name}"')
        names.add(m.name or "")
        f.regex(f"{p}.pathRegex", m.path_regex)
        for j, method in enumerate(m.methods):
            if method.upper() not in HTTP_METHODS:
                f.error(f"{p}.methods[{j}]", f'"{method}" is not an HTTP method (or "*")')
        for name, pattern in m.headers.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                f.error(f"{p}.headers.{name}", "not a valid header name")
            f.regex(f"{p}.headers.{name}", pattern)


class TCPRouteMatches(Struct, frozen=True):
    ports: tuple[int, ...] = ()


class TCPRouteSpec(Struct, frozen=True):
    """SMI TCPRoute/UDPRoute: the ports a TrafficTarget rule allows (none listed: all)."""

    matches: TCPRouteMatches | None = None


def check_tcp_route(spec: TCPRouteSpec, f: Findings) -> None:
    """Record what is wrong with a TCPRoute/UDPRoute spec in ``f``."""
    for i, port in enumerate(spec.matches.ports if spec.matches else ()):
        f.port(f"matches.ports[{i}]", port)
