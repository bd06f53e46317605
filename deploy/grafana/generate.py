"""Writes the Grafana dashboards of this folder (mesh, service, workload) as JSON.

Run ``python deploy/grafana/generate.py`` after changing a panel; the tests check that the
committed JSON matches. The queries use Istio's metric and label names, which Tether's
sidecars export on ``/stats/prometheus`` (DESIGN §6).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "[$__rate_interval]"


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict[str, Any]:
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if instant:
        t.update({"instant": True, "format": "table", "range": False})
    return t


def panel(pid: int, title: str, kind: str, grid: tuple[int, int, int, int], targets: list[dict[str, Any]],
          unit: str = "short", description: str = "", **extra: Any) -> dict[str, Any]:
    x, y, w, h = grid
    p: dict[str, Any] = {
        "id": pid, "title": title, "type": kind, "datasource": DS, "description": description,
        "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {},
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area"}
    p.update(extra)
    return p


def variable(name: str, query: str, label: str) -> dict[str, Any]:
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": name}, "definition": query, "refresh": 2, "sort": 1,
        "includeAll": False, "multi": False, "current": {},
    }


DATASOURCE_VAR = {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0}


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "tags": ["tether", "istio", "mesh"], "timezone": "browser",
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [DATASOURCE_VAR, *variables]},
        "annotations": {"list": []}, "panels": panels,
        "description": "Tether service mesh (Istio standard metrics).",
    }


def success(selector: str, by: str = "") -> str:
    group = f" by ({by})" if by else ""
    return (f'sum{group}(rate(istio_requests_total{{{selector},response_code!~"5.."}}{RATE})) / '
            f"sum{group}(rate(istio_requests_total{{{selector}}}{RATE}))")


def quantile(q: str, selector: str, by: str = "") -> str:
    group = f", {by}" if by else ""
    return (f"histogram_quantile({q}, sum by (le{group})"
            f"(rate(istio_request_duration_milliseconds_bucket{{{selector}}}{RATE})))")


def mesh() -> dict[str, Any]:
    src = 'reporter="source"'
    panels = [
        panel(1, "Global request volume", "stat", (0, 0, 6, 5),
              [target(f"round(sum(rate(istio_requests_total{{{src}}}{RATE})), 0.001)")], "reqps"),
        panel(2, "Global success rate (non-5xx)", "stat", (6, 0, 6, 5), [target(success(src))], "percentunit"),
        panel(3, "4xx per second", "stat", (12, 0, 6, 5),
              [target(f'sum(rate(istio_requests_total{{{src},response_code=~"4.."}}{RATE})) or vector(0)')], "reqps"),
        panel(4, "5xx per second", "stat", (18, 0, 6, 5),
              [target(f'sum(rate(istio_requests_total{{{src},response_code=~"5.."}}{RATE})) or vector(0)')], "reqps"),
        panel(5, "Requests per service", "timeseries", (0, 5, 12, 8),
              [target(f"sum by (destination_service)(rate(istio_requests_total{{{src}}}{RATE}))",
                      "{{destination_service}}")], "reqps"),
        panel(6, "Success rate per service", "timeseries", (12, 5, 12, 8),
              [target(success(src, "destination_service"), "{{destination_service}}")], "percentunit"),
        panel(7, "p99 latency per service", "timeseries", (0, 13, 12, 8),
              [target(quantile("0.99", src, "destination_service"), "{{destination_service}}")], "ms"),
        panel(8, "Responses by flag (UO overflow, URX retries exhausted, UF, UT, NR, …)", "timeseries",
              (12, 13, 12, 8),
              [target(f'sum by (response_flags)(rate(istio_requests_total{{{src},response_flags!="-"}}{RATE}))',
                      "{{response_flags}}")], "reqps"),
        panel(9, "Services", "table", (0, 21, 24, 9), [
            target(f"sum by (destination_service)(rate(istio_requests_total{{{src}}}{RATE}))", "", "A", True),
            target(success(src, "destination_service"), "", "B", True),
            target(quantile("0.50", src, "destination_service"), "", "C", True),
            target(quantile("0.99", src, "destination_service"), "", "D", True),
        ], transformations=[{"id": "merge", "options": {}}]),
    ]
    return dashboard("tether-mesh", "Tether / Mesh", panels, [])


def service() -> dict[str, Any]:
    dst = 'reporter="destination",destination_service=~"$service"'
    src = 'reporter="source",destination_service=~"$service"'
    panels = [
        panel(1, "Request volume", "stat", (0, 0, 6, 5),
              [target(f"round(sum(rate(istio_requests_total{{{dst}}}{RATE})), 0.001)")], "reqps"),
        panel(2, "Success rate (non-5xx)", "stat", (6, 0, 6, 5), [target(success(dst))], "percentunit"),
        panel(3, "Request duration p50 / p90 / p99", "timeseries", (12, 0, 12, 10),
              [target(quantile(q, dst), f"p{q[2:]}", r) for q, r in (("0.50", "A"), ("0.90", "B"), ("0.99", "C"))],
              "ms"),
        panel(4, "Requests by source workload", "timeseries", (0, 5, 12, 10),
              [target(f"sum by (source_workload, source_workload_namespace)"
                      f"(rate(istio_requests_total{{{dst}}}{RATE}))",
                      "{{source_workload}}.{{source_workload_namespace}}")], "reqps"),
        panel(5, "Responses by code", "timeseries", (0, 15, 12, 8),
              [target(f"sum by (response_code)(rate(istio_requests_total{{{dst}}}{RATE}))", "{{response_code}}")],
              "reqps"),
        panel(6, "Client-side responses by flag (retries, overflow)", "timeseries", (12, 10, 12, 8),
              [target(f"sum by (response_flags, response_code)(rate(istio_requests_total{{{src}}}{RATE}))",
                      "{{response_code}} {{response_flags}}")], "reqps"),
        panel(7, "Success rate by source workload", "timeseries", (12, 18, 12, 8),
              [target(success(dst, "source_workload"), "{{source_workload}}")], "percentunit"),
        panel(8, "Request / response size p90", "timeseries", (0, 23, 12, 8), [
            target(f"histogram_quantile(0.90, sum by (le)(rate(istio_request_bytes_bucket{{{dst}}}{RATE})))",
                   "request", "A"),
            target(f"histogram_quantile(0.90, sum by (le)(rate(istio_response_bytes_bucket{{{dst}}}{RATE})))",
                   "response", "B"),
        ], "bytes"),
    ]
    svc = variable("service", 'label_values(istio_requests_total{reporter="destination"}, destination_service)',
                   "Service")
    return dashboard("tether-service", "Tether / Service", panels, [svc])


def workload() -> dict[str, Any]:
    inbound = 'reporter="destination",destination_workload=~"$workload",destination_workload_namespace=~"$namespace"'
    outbound = 'reporter="source",source_workload=~"$workload",source_workload_namespace=~"$namespace"'
    panels = [
        panel(1, "Incoming request volume", "stat", (0, 0, 6, 5),
              [target(f"round(sum(rate(istio_requests_total{{{inbound}}}{RATE})), 0.001)")], "reqps"),
        panel(2, "Incoming success rate (non-5xx)", "stat", (6, 0, 6, 5), [target(success(inbound))],
              "percentunit"),
        panel(3, "Incoming request duration p50 / p90 / p99", "timeseries", (12, 0, 12, 10),
              [target(quantile(q, inbound), f"p{q[2:]}", r)
               for q, r in (("0.50", "A"), ("0.90", "B"), ("0.99", "C"))], "ms"),
        panel(4, "Incoming requests by source", "timeseries", (0, 5, 12, 10),
              [target(f"sum by (source_workload)(rate(istio_requests_total{{{inbound}}}{RATE}))",
                      "{{source_workload}}")], "reqps"),
        panel(5, "Outgoing requests by destination service", "timeseries", (0, 15, 12, 8),
              [target(f"sum by (destination_service)(rate(istio_requests_total{{{outbound}}}{RATE}))",
                      "{{destination_service}}")], "reqps"),
        panel(6, "Outgoing success rate by destination service", "timeseries", (12, 10, 12, 8),
              [target(success(outbound, "destination_service"), "{{destination_service}}")], "percentunit"),
        panel(7, "Outgoing p99 by destination service", "timeseries", (12, 18, 12, 8),
              [target(quantile("0.99", outbound, "destination_service"), "{{destination_service}}")], "ms"),
        panel(8, "Outgoing responses by flag", "timeseries", (0, 23, 12, 8),
              [target(f'sum by (response_flags)(rate(istio_requests_total{{{outbound},response_flags!="-"}}{RATE}))',
                      "{{response_flags}}")], "reqps"),
    ]
    ns = variable("namespace", "label_values(istio_requests_total, destination_workload_namespace)", "Namespace")
    wl = variable("workload", 'label_values(istio_requests_total{destination_workload_namespace=~"$namespace"}, '
                  "destination_workload)", "Workload")
    return dashboard("tether-workload", "Tether / Workload", panels, [ns, wl])


DASHBOARDS = {"tether-mesh.json": mesh, "tether-service.json": service, "tether-workload.json": workload}


def render(build: Any) -> str:
    """Return a dashboard as the committed JSON text."""
    return json.dumps(build(), indent=2) + "\n"


def main() -> int:
    for name, build in DASHBOARDS.items():
        (HERE / name).write_text(render(build))
    return 0


if __name__ == "__main__":
    sys.exit(main())
