"""The answers of ``stat``, ``routes`` and ``edges``: rows built from windowed totals.

Pure functions. A request through two sidecars is counted by both (``reporter``
source and destination); each view uses one reporter per row so nothing counts twice:
the destination's view of a workload when its sidecar reported, else the callers'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tether.control.telemetry.windows import Totals
from tether.proxy.telemetry.wire import EdgeKey

UNKNOWN = "unknown"
DEFAULT_ROUTE = "[DEFAULT]"


def matches_service(fqdn: str, name: str) -> bool:
    """Return True when ``name`` names the service ``fqdn`` (``order``, ``order.default``, full)."""
    return fqdn == name or fqdn.startswith(name + ".")


def metrics(totals: Totals, window: float) -> dict[str, Any]:
    """Return the golden metrics of ``totals`` over ``window`` seconds as a JSON-able dict."""
    sr = totals.success_rate()

    def q(value: float) -> float | None:
        found = totals.quantile(value)
        return None if found is None else round(found, 3)

    return {
        "requests": totals.requests,
        "failures": totals.failures,
        "success_rate": None if sr is None else round(sr, 6),
        "rps": round(totals.requests / window, 4),
        "latency_ms": {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99)},
        "codes": dict(sorted(totals.codes.items())),
        "flags": dict(sorted(totals.flags.items())),
        "request_bytes": totals.request_bytes,
        "response_bytes": totals.response_bytes,
    }


def _sum(items: Iterable[Totals]) -> Totals:
    out = Totals()
    for t in items:
        out.merge(t)
    return out


def stat_rows(
    data: dict[EdgeKey, Totals], window: float, *, by: str = "workload", name: str | None = None,
    namespace: str | None = None,
) -> list[dict[str, Any]]:
    """Return one row per workload (``by="workload"``) or service (``by="service"``).

    Rows are sorted by namespace and name; ``name``/``namespace`` filter them.
    """
    inbound: dict[tuple[str, str], list[Totals]] = {}
    outbound: dict[tuple[str, str], list[Totals]] = {}
    seen: set[tuple[str, str]] = set()
    for key, totals in data.items():
        if by == "service":
            target = (key.destination_namespace, key.destination_service.split(".")[0])
            if key.destination_namespace == UNKNOWN:
                svc = key.destination_service.split(".")
                target = (svc[1] if len(svc) > 1 else UNKNOWN, svc[0])
        else:
            target = (key.destination_namespace, key.destination_workload)
            if key.reporter == "source":
                seen.add((key.source_namespace, key.source_workload))
        if target[1] == UNKNOWN:
            continue
        (inbound if key.reporter == "destination" else outbound).setdefault(target, []).append(totals)
    rows = []
    for ns, wl in sorted(set(inbound) | set(outbound) | seen):
        if (name is not None and wl != name) or (namespace is not None and ns != namespace):
            continue
        reporter = "destination" if (ns, wl) in inbound else "source"
        totals = _sum(inbound.get((ns, wl)) or outbound.get((ns, wl)) or [])
        rows.append({"namespace": ns, "name": wl, "reporter": reporter, **metrics(totals, window)})
    return rows


def route_rows(data: dict[EdgeKey, Totals], window: float, service: str) -> list[dict[str, Any]]:
    """Return one row per route of requests to ``service`` (from the callers' side when known)."""
    by_reporter: dict[str, dict[tuple[str, str], list[Totals]]] = {"source": {}, "destination": {}}
    for key, totals in data.items():
        if not matches_service(key.destination_service, service):
            continue
        route = key.route or DEFAULT_ROUTE
        by_reporter[key.reporter].setdefault((route, key.destination_service), []).append(totals)
    chosen = by_reporter["source"] or by_reporter["destination"]
    reporter = "source" if by_reporter["source"] else "destination"
    return [
        {"route": route, "service": svc, "reporter": reporter, **metrics(_sum(items), window)}
        for (route, svc), items in sorted(chosen.items())
    ]


def edge_rows(data: dict[EdgeKey, Totals], window: float, namespace: str | None = None) -> list[dict[str, Any]]:
    """Return one row per (caller, callee) workload pair, with both identities when known."""
    edges: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for key, totals in data.items():
        pair = (key.source_namespace, key.source_workload, key.destination_namespace, key.destination_workload)
        if namespace is not None and namespace not in (pair[0], pair[2]):
            continue
        edge = edges.setdefault(pair, {"client_id": UNKNOWN, "server_id": UNKNOWN, "source": [], "destination": []})
        if key.source_principal != UNKNOWN:
            edge["client_id"] = key.source_principal
        if key.destination_principal != UNKNOWN:
            edge["server_id"] = key.destination_principal
        edge[key.reporter].append(totals)
    rows = []
    for (src_ns, src, dst_ns, dst), edge in sorted(edges.items()):
        reporter = "destination" if edge["destination"] else "source"
        rows.append({
            "source": src, "source_namespace": src_ns, "destination": dst, "destination_namespace": dst_ns,
            "client_id": edge["client_id"], "server_id": edge["server_id"], "reporter": reporter,
            **metrics(_sum(edge[reporter]), window),
        })
    return rows
