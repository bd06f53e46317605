"""Semantic checks of VirtualService specs (what the decoder's types cannot say)."""

from __future__ import annotations

from tether.control.model.findings import Findings
from tether.control.model.virtual_service import (
    Destination,
    HTTPFaultInjection,
    HTTPMatchRequest,
    HTTPRoute,
    RouteDestination,
    StringMatch,
    VirtualServiceSpec,
)

RETRY_ON = frozenset(
    {
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
        "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
        "retriable-headers", "http3-post-connect-failure", "cancelled", "deadline-exceeded",
        "internal", "resource-exhausted", "unavailable",
    }
)


def string_match(f: Findings, path: str, m: StringMatch | None, *, required: bool) -> None:
    """Check that ``m`` sets exactly one kind (at most one when ``required`` is false)."""
    if m is None:
        return
    kinds = [k for k in ("exact", "prefix", "regex") if getattr(m, k) is not None]
    if len(kinds) > 1:
        f.error(path, f"set exactly one of exact, prefix, regex (got {', '.join(kinds)})")
    elif not kinds and required:
        f.error(path, "set exactly one of exact, prefix, regex")
    f.regex(f"{path}.regex", m.regex)


def destination(f: Findings, path: str, d: Destination) -> None:
    if not d.host:
        f.error(f"{path}.host", "must not be empty")
    if d.port is not None:
        f.port(f"{path}.port.number", d.port.number)


def _match(f: Findings, path: str, m: HTTPMatchRequest) -> None:
    for name in ("uri", "scheme", "method", "authority"):
        string_match(f, f"{path}.{name}", getattr(m, name), required=True)
    for field in ("headers", "query_params", "without_headers"):
        wire = {"query_params": "queryParams", "without_headers": "withoutHeaders"}.get(field, field)
        for key, sm in getattr(m, field).items():
            string_match(f, f"{path}.{wire}.{key}", sm, required=False)
    f.port(f"{path}.port", m.port)


def _fault(f: Findings, path: str, fault: HTTPFaultInjection) -> None:
    if fault.delay is None and fault.abort is None:
        f.error(path, "set delay, abort or both")
    if fault.delay is not None:
        d = fault.delay
        if d.fixed_delay is None and d.exponential_delay is None:
            f.error(f"{path}.delay.fixedDelay", "required field missing")
        f.duration(f"{path}.delay.fixedDelay", d.fixed_delay, 1)
        f.percent(f"{path}.delay.percentage", d.percentage)
        if d.percent is not None:
            f.range(f"{path}.delay.percent", d.percent, 0, 100)
            f.warn(f"{path}.delay.percent", "deprecated: use percentage: {value: ...}")
    if fault.abort is not None:
        a = fault.abort
        kinds = [k for k in ("http_status", "grpc_status", "http2_error") if getattr(a, k) is not None]
        if len(kinds) != 1:
            f.error(f"{path}.abort", "set exactly one of httpStatus, grpcStatus, http2Error")
        f.range(f"{path}.abort.httpStatus", a.http_status, 200, 599)
        f.percent(f"{path}.abort.percentage", a.percentage)
        if a.percent is not None:
            f.range(f"{path}.abort.percent", a.percent, 0, 100)
            f.warn(f"{path}.abort.percent", "deprecated: use percentage: {value: ...}")


def _http(f: Findings, path: str, r: HTTPRoute) -> None:
    for i, m in enumerate(r.match):
        _match(f, f"{path}.match[{i}]", m)
    if r.delegate is not None:
        f.error(f"{path}.delegate", "delegation is not supported; put the routes in this VirtualService")
    actions = [n for n, v in (("route", r.route), ("redirect", r.redirect),
                              ("directResponse", r.direct_response)) if v]
    if len(actions) > 1:
        f.error(path, f"set only one of route, redirect, directResponse (got {', '.join(actions)})")
    elif not actions and r.delegate is None:
        f.error(f"{path}.route", "required: at least one destination (or a redirect/directResponse)")
    for i, dst in enumerate(r.route):
        destination(f, f"{path}.route[{i}].destination", dst.destination)
        f.range(f"{path}.route[{i}].weight", dst.weight, 0, 100)
    if r.redirect is not None:
        f.range(f"{path}.redirect.redirectCode", r.redirect.redirect_code, 300, 399)
        f.port(f"{path}.redirect.port", r.redirect.port)
        if r.redirect.port is not None and r.redirect.derive_port is not None:
            f.error(f"{path}.redirect", "set only one of port, derivePort")
    if r.direct_response is not None:
        f.range(f"{path}.directResponse.status", r.direct_response.status, 200, 599)
    if r.rewrite is not None:
        rx = r.rewrite.uri_regex_rewrite
        if rx is not None:
            if r.rewrite.uri is not None:
                f.error(f"{path}.rewrite", "set only one of uri, uriRegexRewrite")
            f.regex(f"{path}.rewrite.uriRegexRewrite.match", rx.match)
    f.duration(f"{path}.timeout", r.timeout)
    if r.retries is not None:
        f.range(f"{path}.retries.attempts", r.retries.attempts, 0)
        f.duration(f"{path}.retries.perTryTimeout", r.retries.per_try_timeout, 1)
        f.duration(f"{path}.retries.backoff", r.retries.backoff, 1)
        for token in (r.retries.retry_on or "").split(","):
            token = token.strip()
            if token and token not in RETRY_ON and not (token.isdigit() and len(token) == 3):
                f.error(f"{path}.retries.retryOn", f'unknown retry condition "{token}"')
    if r.fault is not None:
        _fault(f, f"{path}.fault", r.fault)
    if r.mirror is not None:
        destination(f, f"{path}.mirror", r.mirror)
        if r.mirrors:
            f.error(path, "set only one of mirror, mirrors")
    f.percent(f"{path}.mirrorPercentage", r.mirror_percentage)
    if r.mirror_percent is not None:
        f.range(f"{path}.mirrorPercent", r.mirror_percent, 0, 100)
        f.warn(f"{path}.mirrorPercent", "deprecated: use mirrorPercentage: {value: ...}")
    for i, mp in enumerate(r.mirrors):
        destination(f, f"{path}.mirrors[{i}].destination", mp.destination)
        f.percent(f"{path}.mirrors[{i}].percentage", mp.percentage)
    if r.cors_policy is not None:
        for i, sm in enumerate(r.cors_policy.allow_origins):
            string_match(f, f"{path}.corsPolicy.allowOrigins[{i}]", sm, required=True)
        if r.cors_policy.allow_origin:
            f.warn(f"{path}.corsPolicy.allowOrigin", "deprecated: use allowOrigins")


def applies_to_mesh(gateways: tuple[str, ...]) -> bool:
    """Return whether a VirtualService with these ``gateways`` configures sidecars."""
    return not gateways or "mesh" in gateways


def check_virtual_service(spec: VirtualServiceSpec, f: Findings) -> None:
    """Record what is wrong with a VirtualService spec in ``f``."""
    if not spec.hosts:
        f.error("hosts", "at least one host is required")
    for i, host in enumerate(spec.hosts):
        if not host:
            f.error(f"hosts[{i}]", "must not be empty")
        elif host == "*" and applies_to_mesh(spec.gateways):
            f.error(f"hosts[{i}]", 'the wildcard host "*" is only allowed with gateways (not mesh)')
    for i, http in enumerate(spec.http):
        _http(f, f"http[{i}]", http)
    l4: list[tuple[str, tuple[RouteDestination, ...]]] = [
        *((f"tcp[{i}]", r.route) for i, r in enumerate(spec.tcp)),
        *((f"tls[{i}]", r.route) for i, r in enumerate(spec.tls)),
    ]
    for path, route in l4:
        for j, rd in enumerate(route):
            destination(f, f"{path}.route[{j}].destination", rd.destination)
            f.range(f"{path}.route[{j}].weight", rd.weight, 0, 100)
    for i, tls in enumerate(spec.tls):
        if not tls.match:
            f.error(f"tls[{i}].match", "required: TLS routes need at least one match")
    f.export_to("exportTo", spec.export_to)
