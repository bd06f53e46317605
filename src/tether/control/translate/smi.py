"""SMI ``TrafficSplit`` (with ``HTTPRouteGroup`` matches) → the root service's routes."""

from __future__ import annotations

from collections.abc import Callable

from tether.control.model.resource import Resource
from tether.control.model.smi import HTTPRouteGroupSpec, TrafficSplitSpec
from tether.control.model.virtual_service import Destination
from tether.control.translate.route_policy import DEFAULT_RETRY
from tether.core.schema.snapshot import HeaderMatch, Route, RouteMatch, StringMatch, WeightedCluster

ClusterFor = Callable[[Destination, str, int], str]


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
        return [Route(name=r.name, clusters=split, source=source, retry=DEFAULT_RETRY)]
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
    routes = [Route(name=r.name, matches=tuple(matches), clusters=split, source=source, retry=DEFAULT_RETRY)
              ] if matches else []
    return [*routes, Route(name="default", clusters=(WeightedCluster(cluster=default),), source=source,
                           retry=DEFAULT_RETRY)]
