"""Gateway API ``HTTPRoute`` attached to a Service (GAMMA) → routes.

HTTPRoutes and SMI TrafficSplits only apply to a service no VirtualService routes (a
VirtualService wins, then HTTPRoutes, then a TrafficSplit), so one host is never configured
two ways at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import msgspec

from tether.control.model import gateway_api as gapi
from tether.control.model.resource import Resource
from tether.control.model.virtual_service import Destination, PortSelector
from tether.control.translate.hosts import qualify
from tether.control.translate.route_policy import DEFAULT_RETRY
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import (
    HeaderMatch,
    HeaderOps,
    MirrorPolicy,
    Redirect,
    RetryPolicy,
    Route,
    RouteMatch,
    StringMatch,
    WeightedCluster,
)

ClusterFor = Callable[[Destination, str, int], str]


def http_route_parents(r: Resource, spec: gapi.HTTPRouteSpec) -> Iterable[tuple[str, int | None]]:
    """Yield ``(service fqdn, port or None)`` for each Service parent of an HTTPRoute."""
    for ref in spec.parent_refs:
        if gapi.is_service_ref(ref.kind, ref.group):
            yield qualify(ref.name, ref.namespace or r.namespace), ref.port


def _path(p: gapi.HTTPPathMatch | None) -> StringMatch | None:
    if p is None or p.value is None:
        return None
    if p.type == "Exact":
        return StringMatch(exact=p.value)
    if p.type == "RegularExpression":
        return StringMatch(regex=p.value)
    if p.value == "/" or p.value.endswith("/"):
        return StringMatch(prefix=p.value)
    # PathPrefix matches whole path elements: /api is /api and /api/..., not /apix.
    return StringMatch(regex=f"{re.escape(p.value)}(/.*)?")


def _value(kind: str | None, value: str) -> StringMatch:
    return StringMatch(regex=value) if kind == "RegularExpression" else StringMatch(exact=value)


def _match(m: gapi.HTTPRouteMatch) -> RouteMatch:
    return RouteMatch(
        uri=_path(m.path),
        method=StringMatch(exact=m.method) if m.method else None,
        headers=tuple(sorted((HeaderMatch(name=h.name.lower(), match=_value(h.type, h.value))
                              for h in m.headers), key=lambda h: h.name)),
        query_params={q.name: _value(q.type, q.value) for q in sorted(m.query_params, key=lambda q: q.name)},
    )


def _precedence(m: gapi.HTTPRouteMatch | None) -> tuple[int, int, int, int, int]:
    # Gateway API: exact path, then the longest prefix, then method, then most headers/query params.
    path = m.path if m is not None else None
    kind = 0 if path is not None and path.type == "Exact" else 1
    length = len(path.value or "") if path is not None and path.type != "RegularExpression" else 0
    if m is None:
        return (kind, -length, 1, 0, 0)
    return (kind, -length, 0 if m.method else 1, -len(m.headers), -len(m.query_params))


def _rewrite(rule: gapi.HTTPRouteRule) -> tuple[str | None, str | None]:
    for flt in rule.filters:
        if flt.url_rewrite is not None:
            p = flt.url_rewrite.path
            prefix = p.replace_prefix_match if p is not None and p.type == "ReplacePrefixMatch" else None
            return prefix, flt.url_rewrite.hostname
    return None, None


def _header_ops(h: gapi.HTTPHeaderFilter | None) -> HeaderOps | None:
    if h is None:
        return None
    return HeaderOps(set={x.name.lower(): x.value for x in h.set}, add={x.name.lower(): x.value for x in h.add},
                     remove=tuple(x.lower() for x in h.remove))


def _redirect(rule: gapi.HTTPRouteRule) -> Redirect | None:
    for flt in rule.filters:
        rr = flt.request_redirect
        if rr is not None:
            path = rr.path
            uri = path.replace_full_path if path is not None and path.type == "ReplaceFullPath" else None
            if path is not None and path.type == "ReplacePrefixMatch":
                uri = path.replace_prefix_match
            return Redirect(uri=uri, authority=rr.hostname, scheme=rr.scheme, port=rr.port,
                            status=rr.status_code or 302)
    return None


_CONNECTION_ERRORS = ("connect-failure", "refused-stream", "reset")


def _retry(rule: gapi.HTTPRouteRule) -> RetryPolicy | None:
    """Return the retry policy of a rule.

    No ``retry`` is Istio's default policy (as for a VirtualService); ``attempts: 0`` none. A
    ``retry`` stanza retries connection errors (the Gateway API requires it) and its ``codes``;
    ``attempts`` defaults to Istio's 2. ``timeouts.backendRequest`` is the per-try timeout.
    """
    r, t = rule.retry, rule.timeouts
    backend = t.backend_request if t is not None else None
    per_try = backend.ms if backend is not None and backend.ms > 0 else None
    if r is None:
        return msgspec.structs.replace(DEFAULT_RETRY, per_try_timeout_ms=per_try) if per_try else DEFAULT_RETRY
    if r.attempts is not None and r.attempts <= 0:
        return None
    codes = tuple(dict.fromkeys(r.codes))
    base = r.backoff.ms if r.backoff is not None and r.backoff.ms > 0 else DEFAULT_RETRY.backoff_base_ms
    return RetryPolicy(
        attempts=r.attempts if r.attempts is not None else DEFAULT_RETRY.attempts,
        per_try_timeout_ms=per_try,
        retry_on=_CONNECTION_ERRORS + (("retriable-status-codes",) if codes else ()),
        retriable_status_codes=codes,
        backoff_base_ms=base,
        backoff_max_ms=base * 10,
    )


def _mirrors(rule: gapi.HTTPRouteRule, namespace: str, port: int, cluster_for: ClusterFor) -> tuple[MirrorPolicy, ...]:
    out = []
    for flt in rule.filters:
        m = flt.request_mirror
        if m is None:
            continue
        ref = m.backend_ref
        percent = 100.0
        if m.percent is not None:
            percent = float(m.percent)
        elif m.fraction is not None:
            percent = 100.0 * m.fraction.numerator / (m.fraction.denominator or 100)
        dest = Destination(host=ref.name, port=PortSelector(number=ref.port))
        out.append(MirrorPolicy(cluster=cluster_for(dest, ref.namespace or namespace, port), percent=percent))
    return tuple(out)


def _filter_of(rule: gapi.HTTPRouteRule, kind: str) -> gapi.HTTPRouteFilter | None:
    return _filter_of_list(rule.filters, kind)


def _filter_of_list(filters: tuple[gapi.HTTPRouteFilter, ...], kind: str) -> gapi.HTTPRouteFilter | None:
    return next((f for f in filters if f.type == kind), None)


def gamma_routes(
    entries: list[tuple[Resource, gapi.HTTPRouteSpec]], fqdn: str, service_ns: str, port: int,
    node: ProxyNode, cluster_for: ClusterFor,
) -> list[Route] | None:
    """Return the routes of the HTTPRoutes attached to ``fqdn:port``, or None if none apply.

    Producer routes (in the service's namespace) apply to every client; consumer routes (in the
    client's namespace) replace them for that namespace's clients. Each match becomes its own
    route, in Gateway API precedence.
    """
    attached = [(r, spec) for r, spec in entries
                if any(f == fqdn and p in (None, port) for f, p in http_route_parents(r, spec))]
    consumer = [(r, spec) for r, spec in attached if r.namespace == node.namespace != service_ns]
    chosen = consumer or [(r, spec) for r, spec in attached if r.namespace == service_ns]
    if not chosen:
        return None
    ranked: list[tuple[tuple[int, int, int, int, int], str, str, int, Route]] = []
    for r, spec in chosen:
        for i, rule in enumerate(spec.rules):
            backends = [(b, 1 if b.weight is None else b.weight) for b in rule.backend_refs
                        if gapi.is_service_ref(b.kind, b.group)]
            backends = [(b, w) for b, w in backends if w > 0]
            redirect = _redirect(rule)
            if not backends and redirect is None:
                continue  # all weights 0 (Gateway API answers 500): not translated
            clusters: dict[str, WeightedCluster] = {}
            for b, w in backends if redirect is None else ():
                dest = Destination(host=b.name, port=PortSelector(number=b.port))
                name = cluster_for(dest, b.namespace or r.namespace, port)
                req = _filter_of_list(b.filters, "RequestHeaderModifier")
                resp = _filter_of_list(b.filters, "ResponseHeaderModifier")
                clusters[name] = WeightedCluster(
                    cluster=name, weight=w + (clusters[name].weight if name in clusters else 0),
                    request_headers=_header_ops(req.request_header_modifier if req else None),
                    response_headers=_header_ops(resp.response_header_modifier if resp else None))
            timeout = rule.timeouts.request if rule.timeouts is not None else None
            prefix, authority = _rewrite(rule)
            req = _filter_of(rule, "RequestHeaderModifier")
            resp = _filter_of(rule, "ResponseHeaderModifier")
            for match in rule.matches or (None,):
                ranked.append((_precedence(match), r.namespace, r.name, i, Route(
                    name=rule.name or f"{r.name}.{i}",
                    matches=(_match(match),) if match is not None else (),
                    clusters=tuple(clusters.values()),
                    timeout_ms=timeout.ms if timeout is not None and timeout.ms > 0 else None,
                    prefix_rewrite=prefix, authority_rewrite=authority,
                    source=f"HTTPRoute/{r.namespace}/{r.name}",
                    retry=_retry(rule) if redirect is None else None,
                    mirrors=_mirrors(rule, r.namespace, port, cluster_for) if redirect is None else (),
                    redirect=redirect,
                    request_headers=_header_ops(req.request_header_modifier if req else None),
                    response_headers=_header_ops(resp.response_header_modifier if resp else None))))
    return [route for *_, route in sorted(ranked, key=lambda x: x[:4])]
