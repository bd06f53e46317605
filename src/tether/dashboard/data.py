"""What the dashboard shows, read from the control plane's in-process objects.

The rows have the shapes of the telemetry API (``tether.control.telemetry.views``) and
are typed with the client's structs, so a page reads the same fields the CLI prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from tether.client.telemetry import EdgeRow, RouteRow, StatRow, Trace, TraceSummary
from tether.control.analyze import Finding, analyze
from tether.control.registry import ProxyRecord
from tether.control.store import StoredObject
from tether.control.telemetry.views import UNKNOWN, metrics, route_rows, stat_rows
from tether.control.telemetry.views import edge_rows as _edge_rows
from tether.control.telemetry.windows import WINDOWS, Totals
from tether.dashboard.graph import Graph, build_graph, node_id
from tether.dashboard.series import buckets

if TYPE_CHECKING:
    from tether.control.server import ControlPlane

T = TypeVar("T")
# Sparkline shape per window: (points, slots per point); a slot is 10 s.
HISTORY = {"1m": (30, 1), "10m": (60, 1), "1h": (60, 6)}
Point = dict[str, Any]  # the golden metrics of one interval (``views.metrics``)


def _typed(rows: list[dict[str, Any]], typ: type[T]) -> list[T]:
    return [msgspec.convert(r, typ) for r in rows]


def window_name(value: str | None) -> str:
    """Return ``value`` when it names a window (``1m``, ``10m``, ``1h``), else ``1m``."""
    return value if value in WINDOWS else "1m"


class DashboardData:
    """Read-only views of one control plane, for the pages."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def now(self) -> float:
        """Return the control plane's wall-clock time."""
        return self.plane.clock.wall()

    def _totals(self, window: str) -> tuple[float, dict[Any, Totals]]:
        return self.plane.telemetry.totals(window_name(window))

    def stat(self, window: str, kind: str = "workload", name: str | None = None,
             namespace: str | None = None) -> list[StatRow]:
        """Return golden metrics per workload (or service), registered idle workloads included."""
        seconds, data = self._totals(window)
        rows = _typed(stat_rows(data, seconds, by=kind, name=name, namespace=namespace), StatRow)
        if kind == "workload":
            have = {(r.namespace, r.name) for r in rows}
            for rec in self.proxies():
                key = (rec.node.namespace, rec.node.name)
                if key not in have and name in (None, key[1]) and namespace in (None, key[0]):
                    have.add(key)
                    rows.append(StatRow(namespace=key[0], name=key[1], requests=0))
            rows.sort(key=lambda r: (r.namespace, r.name))
        return rows

    def routes(self, service: str, window: str) -> list[RouteRow]:
        """Return golden metrics per route of requests to ``service``."""
        seconds, data = self._totals(window)
        return _typed(route_rows(data, seconds, service), RouteRow)

    def edges(self, window: str) -> list[EdgeRow]:
        """Return one row per caller/callee workload pair."""
        seconds, data = self._totals(window)
        return _typed(_edge_rows(data, seconds), EdgeRow)

    def mtls_edges(self, window: str) -> set[str]:
        """Return the edges (``source_id->target_id``) whose callee saw a verified client certificate.

        The destination's sidecar knows the caller's principal only from mTLS, so a
        destination-reported count with a known source principal came over mTLS.
        """
        _, data = self._totals(window)
        return {
            node_id(k.source_namespace, k.source_workload) + "->"
            + node_id(k.destination_namespace, k.destination_workload)
            for k in data
            if k.reporter == "destination" and k.source_principal != UNKNOWN
        }

    def gateways(self) -> set[str]:
        """Return the node ids of gateways (registered, or known from their pushes)."""
        found = {node_id(r.node.namespace, r.node.name) for r in self.proxies() if r.node.kind == "gateway"}
        for info in self.plane.telemetry.reporters.values():
            if info.get("kind") == "gateway":
                found.add(node_id(str(info["namespace"]), str(info["name"])))
        return found

    def graph(self, window: str) -> Graph:
        """Return the service graph over ``window``."""
        return build_graph(self.stat(window), self.edges(window), self.gateways(), self.mtls_edges(window))

    def _buckets(self, window: str) -> tuple[float, list[dict[Any, Totals]]]:
        count, per = HISTORY[window_name(window)]
        windows = self.plane.telemetry.windows
        return windows.slot * per, buckets(windows, self.now(), count, per)

    def history(self, window: str) -> dict[tuple[str, str], list[Point]]:
        """Return, per workload ``(namespace, name)``, its golden metrics per interval, oldest first."""
        step, data = self._buckets(window)
        out: dict[tuple[str, str], list[Point]] = {}
        empty = metrics(Totals(), step)
        for i, bucket in enumerate(data):
            for row in stat_rows(bucket, step):
                out.setdefault((row["namespace"], row["name"]), [empty] * len(data))[i] = row
        return out

    def route_history(self, service: str, window: str) -> dict[str, list[Point]]:
        """Return, per route of ``service``, its golden metrics per interval, oldest first."""
        step, data = self._buckets(window)
        out: dict[str, list[Point]] = {}
        empty = metrics(Totals(), step)
        for i, bucket in enumerate(data):
            for row in route_rows(bucket, step, service):
                out.setdefault(row["route"], [empty] * len(data))[i] = row
        return out

    def traces(self, service: str | None = None, limit: int = 50) -> list[TraceSummary]:
        """Return the newest sampled traces, optionally only those touching ``service``."""
        return _typed(self.plane.telemetry.traces.summaries(service, limit), TraceSummary)

    def trace(self, trace_id: str) -> Trace | None:
        """Return one trace with its spans, or None when the store does not have it."""
        from tether.control.telemetry.traces import trace_json

        spans = self.plane.telemetry.traces.trace(trace_id)
        return None if spans is None else msgspec.convert(trace_json(trace_id, spans), Trace)

    def resources(self) -> list[StoredObject]:
        """Return every stored resource, by kind, namespace and name."""
        return sorted(self.plane.store.list(), key=lambda o: o.key)

    def findings(self) -> list[Finding]:
        """Return what ``tether analyze`` finds in the live state."""
        return list(analyze(self.plane.world()))

    def proxies(self) -> list[ProxyRecord]:
        """Return the registered proxies, by namespace and name."""
        return sorted(self.plane.registry.records(), key=lambda r: (r.node.namespace, r.node.name, r.id))

    def last_push(self, namespace: str, name: str) -> float | None:
        """Return when the proxy of ``namespace/name`` last pushed telemetry (None: never)."""
        info = self.plane.telemetry.reporters.get((namespace, name))
        return None if info is None else float(info["last_push"])

    def revision(self) -> int:
        """Return the store's revision."""
        return self.plane.store.revision
