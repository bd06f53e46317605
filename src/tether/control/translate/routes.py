"""VirtualService ``http`` routes → snapshot routes, for one proxy and one service port."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import msgspec

from tether.control.model import virtual_service as vs
from tether.control.translate.hosts import labels_match
from tether.control.translate.ratelimit import route_rate_limit
from tether.control.translate.route_policy import (
    cors,
    direct_response,
    fault_policy,
    header_ops,
    mirrors,
    redirect,
    retry_policy,
)
from tether.control.translate.services import workload_labels
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import HeaderMatch, Route, RouteMatch, StringMatch, WeightedCluster

# (destination, VirtualService namespace, virtual host port) -> cluster name (created if needed)
ClusterFor = Callable[[vs.Destination, str, int], str]


def string_match(m: vs.StringMatch | None, ignore_case: bool = False) -> StringMatch | None:
    """Return the snapshot form of an Istio StringMatch (case-insensitive as a regex)."""
    if m is None:
        return None
    if ignore_case:
        if m.exact is not None:
            return StringMatch(regex=f"(?i){re.escape(m.exact)}")
        if m.prefix is not None:
            return StringMatch(regex=f"(?i){re.escape(m.prefix)}.*")
        if m.regex is not None:
            return StringMatch(regex=f"(?i){m.regex}")
    return StringMatch(exact=m.exact, prefix=m.prefix, regex=m.regex)


def _scheme_ok(m: vs.StringMatch) -> bool:
    # Sidecars and the gateway speak plain HTTP: a scheme match holds iff it accepts "http".
    if m.exact is not None:
        return m.exact.lower() == "http"
    if m.prefix is not None:
        return "http".startswith(m.prefix.lower())
    if m.regex is not None:
        return re.fullmatch(m.regex, "http") is not None
    return True


def route_match(
    m: vs.HTTPMatchRequest, port: int, node: ProxyNode, gateway: str | None
) -> RouteMatch | None:
    """Return the match as the proxy runs it, or None when it can never hold for ``node``.

    Conditions on the proxy itself (``sourceLabels``, ``sourceNamespace``, ``gateways``,
    ``port`` of this virtual host, ``scheme``) are decided here, as Istio does.
    """
    if m.gateways and (gateway or "mesh") not in m.gateways:
        return None
    if m.source_labels and not labels_match(m.source_labels, workload_labels(node)):
        return None
    if m.source_namespace is not None and m.source_namespace != node.namespace:
        return None
    if m.port is not None and m.port != port:
        return None
    if m.scheme is not None and not _scheme_ok(m.scheme):
        return None
    headers = [HeaderMatch(name=k.lower(), match=_presence(v)) for k, v in m.headers.items()]
    headers += [HeaderMatch(name=k.lower(), match=_presence(v), present=False)
                for k, v in m.without_headers.items()]
    return RouteMatch(
        uri=string_match(m.uri, bool(m.ignore_uri_case)),
        method=string_match(m.method),
        authority=string_match(m.authority),
        headers=tuple(sorted(headers, key=lambda h: (h.name, h.present))),
        query_params={k: string_match(v) or StringMatch() for k, v in sorted(m.query_params.items())},
        port=m.port,
    )


def _presence(m: vs.StringMatch) -> StringMatch | None:
    if m.exact is None and m.prefix is None and m.regex is None:
        return None
    return string_match(m)


def weights(dests: tuple[vs.HTTPRouteDestination, ...]) -> list[int]:
    """Return the weight of each destination: one gets 100, unweighted ones share evenly."""
    if len(dests) == 1:
        return [100]
    if all(d.weight is None for d in dests):
        share, extra = divmod(100, len(dests))
        return [share + (1 if i < extra else 0) for i in range(len(dests))]
    return [d.weight or 0 for d in dests]


def weighted_clusters(
    dests: tuple[vs.HTTPRouteDestination, ...], namespace: str, port: int, cluster_for: ClusterFor
) -> tuple[WeightedCluster, ...]:
    """Return the destinations as weighted clusters (zero weights dropped unless all are zero).

    Destinations naming the same cluster with the same header operations become one entry with
    the summed weight; different header operations stay separate entries.
    """
    pairs = list(zip(dests, weights(dests), strict=True))
    pairs = [(d, w) for d, w in pairs if w > 0] or pairs
    merged: list[WeightedCluster] = []
    for d, w in pairs:
        headers = d.headers
        wc = WeightedCluster(
            cluster=cluster_for(d.destination, namespace, port), weight=w,
            request_headers=header_ops(headers.request) if headers is not None else None,
            response_headers=header_ops(headers.response) if headers is not None else None)
        same = next((i for i, m in enumerate(merged) if msgspec.structs.replace(m, weight=w) == wc), None)
        if same is None:
            merged.append(wc)
        else:
            merged[same] = msgspec.structs.replace(wc, weight=merged[same].weight + w)
    return tuple(merged)


def http_routes(
    resource_name: str,
    namespace: str,
    http: tuple[vs.HTTPRoute, ...],
    port: int,
    node: ProxyNode,
    cluster_for: ClusterFor,
    gateway: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> list[Route]:
    """Return the routes of a VirtualService for one virtual host port, in order.

    A route whose every match is impossible for ``node`` is left out. ``annotations`` are the
    VirtualService's (``ratelimit.tether.dev/route.<route name>`` limits a route).
    """
    out: list[Route] = []
    source = f"VirtualService/{namespace}/{resource_name}"
    for i, hr in enumerate(http):
        if not hr.route and hr.redirect is None and hr.direct_response is None:
            continue
        matches: list[RouteMatch] = []
        for m in hr.match:
            rm = route_match(m, port, node, gateway)
            if rm is not None:
                matches.append(rm)
        if hr.match and not matches:
            continue
        timeout = hr.timeout.ms if hr.timeout is not None and hr.timeout.ms > 0 else None
        rewrite = hr.rewrite
        answers = hr.redirect is not None or hr.direct_response is not None
        name = hr.name or f"{resource_name}.{i}"
        out.append(Route(
            name=name,
            matches=tuple(matches),
            clusters=() if answers else weighted_clusters(hr.route, namespace, port, cluster_for),
            timeout_ms=timeout,
            prefix_rewrite=rewrite.uri if rewrite is not None else None,
            authority_rewrite=rewrite.authority if rewrite is not None else None,
            source=source,
            retry=None if answers else retry_policy(hr.retries),
            fault=fault_policy(hr.fault),
            mirrors=() if answers else mirrors(hr, namespace, port, cluster_for),
            redirect=redirect(hr.redirect),
            direct_response=direct_response(hr.direct_response),
            request_headers=header_ops(hr.headers.request) if hr.headers is not None else None,
            response_headers=header_ops(hr.headers.response) if hr.headers is not None else None,
            cors=cors(hr.cors_policy),
            rate_limit=route_rate_limit(annotations or {}, name),
        ))
    return out
