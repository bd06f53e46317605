"""Kubernetes Gateway API ``HTTPRoute`` (gateway.networking.k8s.io v1/v1beta1), for the mesh (GAMMA)."""

from __future__ import annotations

import re
from typing import Any, Literal

from tether.control.model.findings import Findings
from tether.control.model.values import Duration, Struct

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class ParentReference(Struct, frozen=True):
    name: str
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    section_name: str | None = None
    port: int | None = None


class HTTPPathMatch(Struct, frozen=True):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] | None = None
    value: str | None = None


class HTTPHeaderMatch(Struct, frozen=True):
    name: str
    value: str
    type: Literal["Exact", "RegularExpression"] | None = None


class HTTPRouteMatch(Struct, frozen=True):
    path: HTTPPathMatch | None = None
    headers: tuple[HTTPHeaderMatch, ...] = ()
    query_params: tuple[HTTPHeaderMatch, ...] = ()
    method: (
        Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] | None
    ) = None


class HTTPHeader(Struct, frozen=True):
    name: str
    value: str


class HTTPHeaderFilter(Struct, frozen=True):
    set: tuple[HTTPHeader, ...] = ()
    add: tuple[HTTPHeader, ...] = ()
    remove: tuple[str, ...] = ()


class HTTPPathModifier(Struct, frozen=True):
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    replace_full_path: str | None = None
    replace_prefix_match: str | None = None


class HTTPRequestRedirectFilter(Struct, frozen=True):
    scheme: Literal["http", "https"] | None = None
    hostname: str | None = None
    path: HTTPPathModifier | None = None
    port: int | None = None
    status_code: int | None = None


class HTTPURLRewriteFilter(Struct, frozen=True):
    hostname: str | None = None
    path: HTTPPathModifier | None = None


class BackendObjectReference(Struct, frozen=True):
    name: str
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    port: int | None = None


class Fraction(Struct, frozen=True):
    numerator: int
    denominator: int | None = None


class HTTPRequestMirrorFilter(Struct, frozen=True):
    backend_ref: BackendObjectReference
    percent: int | None = None
    fraction: Fraction | None = None


class LocalObjectReference(Struct, frozen=True):
    group: str
    kind: str
    name: str


FilterType = Literal[
    "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
    "URLRewrite", "ExtensionRef", "CORS",
]
_FILTER_FIELD = {
    "RequestHeaderModifier": "request_header_modifier", "ResponseHeaderModifier": "response_header_modifier",
    "RequestMirror": "request_mirror", "RequestRedirect": "request_redirect", "URLRewrite": "url_rewrite",
    "ExtensionRef": "extension_ref", "CORS": "cors",
}


class HTTPRouteFilter(Struct, frozen=True):
    type: FilterType
    request_header_modifier: HTTPHeaderFilter | None = None
    response_header_modifier: HTTPHeaderFilter | None = None
    request_mirror: HTTPRequestMirrorFilter | None = None
    request_redirect: HTTPRequestRedirectFilter | None = None
    url_rewrite: HTTPURLRewriteFilter | None = None
    extension_ref: LocalObjectReference | None = None
    cors: dict[str, Any] | None = None


class HTTPBackendRef(Struct, frozen=True):
    name: str
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    port: int | None = None
    weight: int | None = None
    filters: tuple[HTTPRouteFilter, ...] = ()


class HTTPRouteTimeouts(Struct, frozen=True):
    request: Duration | None = None
    backend_request: Duration | None = None


class HTTPRouteRetry(Struct, frozen=True):
    codes: tuple[int, ...] = ()
    attempts: int | None = None
    backoff: Duration | None = None


class HTTPRouteRule(Struct, frozen=True):
    name: str | None = None
    matches: tuple[HTTPRouteMatch, ...] = ()
    filters: tuple[HTTPRouteFilter, ...] = ()
    backend_refs: tuple[HTTPBackendRef, ...] = ()
    timeouts: HTTPRouteTimeouts | None = None
    retry: HTTPRouteRetry | None = None
    session_persistence: dict[str, Any] | None = None


class HTTPRouteSpec(Struct, frozen=True):
    """``spec`` of an HTTPRoute; in the mesh its ``parentRefs`` name Services."""

    parent_refs: tuple[ParentReference, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[HTTPRouteRule, ...] = ()


def is_service_ref(kind: str | None, group: str | None) -> bool:
    """Return whether a reference with this kind/group names a Kubernetes Service."""
    return (kind or "Service") == "Service" and (group or "") in ("", "core")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _filter(f: Findings, path: str, flt: HTTPRouteFilter) -> None:
    wanted = _FILTER_FIELD[flt.type]
    for name in _FILTER_FIELD.values():
        value = getattr(flt, name)
        if name == wanted and value is None:
            f.error(path, f"type {flt.type} needs its {_camel(name)} field")
        elif name != wanted and value is not None:
            f.error(path, f"type {flt.type} does not take {_camel(name)}")
    mods = [m for m in (flt.request_header_modifier, flt.response_header_modifier) if m is not None]
    for m in mods:
        for h in (*m.set, *m.add):
            if not _HEADER_NAME.fullmatch(h.name):
                f.error(path, f'"{h.name}" is not a valid header name')
    if flt.request_mirror is not None:
        f.range(f"{path}.requestMirror.percent", flt.request_mirror.percent, 0, 100)
    if flt.request_redirect is not None:
        code = flt.request_redirect.status_code
        if code is not None and code not in (301, 302, 303, 307, 308):
            f.error(f"{path}.requestRedirect.statusCode", f"expected 301, 302, 303, 307 or 308, got {code}")
    for modifier in (flt.url_rewrite.path if flt.url_rewrite else None,
                     flt.request_redirect.path if flt.request_redirect else None):
        if modifier is not None:
            need = "replace_full_path" if modifier.type == "ReplaceFullPath" else "replace_prefix_match"
            if getattr(modifier, need) is None:
                f.error(path, f"path type {modifier.type} needs {modifier.type[0].lower()}{modifier.type[1:]}")


def check_http_route(spec: HTTPRouteSpec, f: Findings) -> None:
    """Record what is wrong with an HTTPRoute spec in ``f``."""
    if not spec.parent_refs:
        f.error("parentRefs", "at least one parent (a Service for the mesh, or a Gateway) is required")
    for i, ref in enumerate(spec.parent_refs):
        f.port(f"parentRefs[{i}].port", ref.port)
    for i, rule in enumerate(spec.rules):
        p = f"rules[{i}]"
        for j, m in enumerate(rule.matches):
            mp = f"{p}.matches[{j}]"
            if m.path is not None:
                if m.path.type == "RegularExpression":
                    f.regex(f"{mp}.path.value", m.path.value)
                elif m.path.value is not None and not m.path.value.startswith("/"):
                    f.error(f"{mp}.path.value", f'must start with "/", got "{m.path.value}"')
            for k, h in enumerate(m.headers):
                if not _HEADER_NAME.fullmatch(h.name):
                    f.error(f"{mp}.headers[{k}].name", f'"{h.name}" is not a valid header name')
                if h.type == "RegularExpression":
                    f.regex(f"{mp}.headers[{k}].value", h.value)
            for k, q in enumerate(m.query_params):
                if q.type == "RegularExpression":
                    f.regex(f"{mp}.queryParams[{k}].value", q.value)
        for j, flt in enumerate(rule.filters):
            _filter(f, f"{p}.filters[{j}]", flt)
        for j, b in enumerate(rule.backend_refs):
            bp = f"{p}.backendRefs[{j}]"
            f.range(f"{bp}.weight", b.weight, 0, 1_000_000)
            if is_service_ref(b.kind, b.group) and b.port is None:
                f.error(f"{bp}.port", "required for a Service backend")
            f.port(f"{bp}.port", b.port)
            for k, flt in enumerate(b.filters):
                _filter(f, f"{bp}.filters[{k}]", flt)
        t = rule.timeouts
        request = t.request if t is not None else None
        backend = t.backend_request if t is not None else None
        if request is not None and backend is not None and request.ms and backend.ms > request.ms:
            f.error(f"{p}.timeouts.backendRequest", "must not be longer than timeouts.request")
        if rule.retry is not None:
            f.range(f"{p}.retry.attempts", rule.retry.attempts, 0)
            for k, code in enumerate(rule.retry.codes):
                f.range(f"{p}.retry.codes[{k}]", code, 400, 599)
