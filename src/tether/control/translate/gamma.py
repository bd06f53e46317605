"""Gateway API ``HTTPRoute`` attached to a Service (GAMMA) and SMI ``TrafficSplit`` → routes.

Both only apply to a service no VirtualService routes (a VirtualService wins, then HTTPRoutes,
then a TrafficSplit), so one host is never configured two ways at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tether.control.model import gateway_api as gapi
from tether.control.model.resource import Resource
from tether.control.model.smi import HTTPRouteGroupSpec, TrafficSplitSpec
from tether.control.model.virtual_service import Destination, PortSelector
from tether.control.translate.hosts import qualify
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import HeaderMatch, Route, RouteMatch, StringMatch, WeightedCluster

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
            if not backends:
                continue  # a redirect-only rule, or all weights 0: not translated yet
            clusters: dict[str, int] = {}
            for b, w in backends:
                dest = Destination(host=b.name, port=PortSelector(number=b.port))
                name = cluster_for(dest, b.namespace or r.namespace, port)
                clusters[name] = clusters.get(name, 0) + w
            timeout = rule.timeouts.request if rule.timeouts is not None else None
            prefix, authority = _rewrite(rule)
            for match in rule.matches or (None,):
                ranked.append((_precedence(match), r.namespace, r.name, i, Route(
                    name=rule.name or f"{r.name}.{i}",
                    matches=(_match(match),) if match is not None else (),
                    clusters=tuple(WeightedCluster(cluster=k, weight=w) for k, w in clusters.items()),
                    timeout_ms=timeout.ms if timeout is not None and timeout.ms > 0 else None,
                    prefix_rewrite=prefix, authority_rewrite=authority,
                    source=f"HTTPRoute/{r.namespace}/{r.name}")))
    return [route for *_, route in sorted(ranked, key=lambda x: x[:4])]


def percentages(weights: list[float]) -> list[int]:
    """Return integer weights summing to 100 in the proportions of ``weights`` (largest remainder)."""
    total = sum(weights)
    if total <= 0:
        return [0 for _ in weights]
    exact = [w * 100 / total for w in weights]
    out = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (out[i] - exact[i], i))
    for i in order[: 100 - sum(out)]:
        out[i] += 1
    return out


def split_routes(
    r: Resource, spec: TrafficSplitSpec, groups: dict[tuple[str, str], HTTPRouteGroupSpec],
    port: int, default: str, cluster_for: ClusterFor,
) -> list[Route]:
    """Return the routes of an SMI TrafficSplit for its root service on ``port``.

    With ``matches`` (HTTPRouteGroups), matching requests are split and the rest go to the
    root service's own cluster ``default``; without, every request is split.
    """
    pairs = [(b, w) for b, w in zip(spec.backends, percentages([b.weight for b in spec.backends]),
                                    strict=True) if w > 0]
    clusters: dict[str, int] = {}
    for b, w in pairs:
        name = cluster_for(Destination(host=b.service), r.namespace, port)
        clusters[name] = clusters.get(name, 0) + w
    split = tuple(WeightedCluster(cluster=k, weight=w) for k, w in clusters.items())
    source = f"TrafficSplit/{r.namespace}/{r.name}"
    if not spec.matches:
        return [Route(name=r.name, clusters=split, source=source)]
    matches: list[RouteMatch] = []
    for ref in spec.matches:
        group = groups.get((r.namespace, ref.name))
        for m in group.matches if group is not None else ():
            methods = [x for x in m.methods if x != "*"]
            matches.append(RouteMatch(
                uri=StringMatch(regex=f"{m.path_regex}.*") if m.path_regex else None,
                method=StringMatch(regex="|".join(methods)) if methods and len(methods) == len(m.methods)
                else None,
                headers=tuple(HeaderMatch(name=k.lower(), match=StringMatch(regex=v))
                              for k, v in sorted(m.headers.items())),
            ))
    routes = [Route(name=r.name, matches=tuple(matches), clusters=split, source=source)] if matches else []
    return [*routes, Route(name="default", clusters=(WeightedCluster(cluster=default),), source=source)]
