"""The overview, service and tap pages.

Each function returns a whole HTML page. Sections marked ``data-live`` are refreshed by
``dashboard.js`` (it fetches the same URL and swaps them by id); the tap panel streams
``/v1/telemetry/tap`` in the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from tether.client.telemetry import EdgeRow
from tether.dashboard.data import DashboardData, Point
from tether.dashboard.graph import fmt_ms, fmt_rate, render_svg
from tether.dashboard.html import esc, ms, page, rate_cell, rps, sparks, table, url
from tether.dashboard.pages_traces import trace_table


def service_href(namespace: str, name: str, window: str) -> str:
    """Return the URL of a workload's page."""
    return url(f"/service/{quote(namespace, safe='')}/{quote(name, safe='')}", window=window)


def live(section_id: str, title: str, inner: str, *, cls: str = "") -> str:
    """Return a ``<section>`` the browser refreshes in place."""
    return f'<section id="{esc(section_id)}" class="card {esc(cls)}" data-live><h2>{esc(title)}</h2>{inner}</section>'


def overview(data: DashboardData, window: str) -> str:
    """Return the home page: service graph, golden metrics per workload, sync status."""
    graph = data.graph(window)
    history = data.history(window)
    rows = []
    for w in data.stat(window):
        spark = sparks(history.get((w.namespace, w.name), []))
        rows.append([
            f'<a href="{esc(service_href(w.namespace, w.name, window))}" data-service="{esc(w.name)}">'
            f"{esc(w.name)}</a>",
            esc(w.namespace), str(w.requests), rate_cell(w.success_rate), rps(w.rps),
            ms(w.latency_ms.p50), ms(w.latency_ms.p95), ms(w.latency_ms.p99), *spark,
        ])
    workloads = table(["workload", "namespace", "requests", "success", "rps", "p50", "p95", "p99",
                       "rps trend", "success trend", "p99 trend"], rows, cls="golden",
                      empty="no workloads yet")
    proxies = data.proxies()
    counts: dict[str, int] = {}
    for p in proxies:
        counts[p.status] = counts.get(p.status, 0) + 1
    sync = " · ".join(f'<span class="status {esc(s.replace(" ", "-").lower())}">{n} {esc(s)}</span>'
                      for s, n in sorted(counts.items())) or "no proxies registered"
    findings = data.findings()
    legend = ('<p class="legend"><span class="sr ok">≥ 99%</span> <span class="sr warn">≥ 95%</span> '
              '<span class="sr bad">&lt; 95%</span> <span class="sr idle">no traffic</span> '
              '· edges: rps · success · p99 · padlock closed when mTLS</p>')
    body = (
        live("graph", f"Service graph (last {window})", render_svg(graph, window=window) + legend, cls="wide")
        + live("workloads", f"Golden metrics per workload (last {window})", workloads, cls="wide")
        + live("sync", "Mesh",
               f'<p><a href="/proxies">{len(proxies)} proxies</a>: {sync}</p>'
               f'<p><a href="/config">{len(data.resources())} resources</a> (revision {data.revision()}), '
               f'<span class="{"findings" if findings else ""}">{len(findings)} analyze findings</span></p>')
    )
    return page("Overview", body, active="/", window=window, here="/")


def _edge_rows(edges: Sequence[EdgeRow], window: str, mtls: set[str], *, callers: bool) -> list[list[str]]:
    out = []
    for e in edges:
        ns, name = (e.source_namespace, e.source) if callers else (e.destination_namespace, e.destination)
        other = f'<a href="{esc(service_href(ns, name, window))}">{esc(name)}</a>' if name != "unknown" else "unknown"
        edge_id = f"{e.source_namespace}/{e.source}->{e.destination_namespace}/{e.destination}"
        secure = '<span class="sr ok">yes</span>' if edge_id in mtls else "no"
        identity = e.client_id if callers else e.server_id
        short = identity if identity == "unknown" else "…/" + "/".join(identity.split("/")[-2:])
        out.append([other, esc(ns), str(e.requests), rate_cell(e.success_rate), rps(e.rps),
                    ms(e.latency_ms.p99), secure, f'<span title="{esc(identity)}">{esc(short)}</span>'])
    return out


def _cards(requests: int, success_rate: float | None, rps_value: float, p50: float | None, p95: float | None,
           p99: float | None, history: Sequence[Point]) -> str:
    spark_rps, spark_sr, spark_p99 = sparks(history)
    cards = [
        ("Success rate", fmt_rate(success_rate), spark_sr, "success"),
        ("Requests/s", rps(rps_value), spark_rps, "rps"),
        ("Latency p50 / p95 / p99", f"{fmt_ms(p50)} / {fmt_ms(p95)} / {fmt_ms(p99)}", spark_p99, "latency"),
        ("Requests", str(requests), "", "requests"),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="metric" data-metric="{m}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>{spark}</div>' for label, value, spark, m in cards
    ) + "</div>"


def service(data: DashboardData, namespace: str, name: str, window: str) -> str:
    """Return a workload's page: golden metrics, routes, callers and callees, live tap, traces."""
    rows = data.stat(window, name=name, namespace=namespace)
    history = data.history(window).get((namespace, name), [])
    if rows:
        w = rows[0]
        lat = w.latency_ms
        cards = _cards(w.requests, w.success_rate, w.rps, lat.p50, lat.p95, lat.p99, history)
    else:
        cards = '<p class="empty">No requests to this workload in the window, and no proxy of that name.</p>'
    route_hist = data.route_history(f"{name}.{namespace}", window)
    routes = []
    for r in data.routes(f"{name}.{namespace}", window):
        spark = sparks(route_hist.get(r.route, []))
        routes.append([esc(r.route), esc(r.service), str(r.requests), rate_cell(r.success_rate), rps(r.rps),
                       ms(r.latency_ms.p50), ms(r.latency_ms.p95), ms(r.latency_ms.p99), spark[0], spark[1], spark[2]])
    edges = data.edges(window)
    mtls = data.mtls_edges(window)
    me = (namespace, name)
    callers = [e for e in edges if (e.destination_namespace, e.destination) == me]
    callees = [e for e in edges if (e.source_namespace, e.source) == me]
    edge_head = ["workload", "namespace", "requests", "success", "rps", "p99", "mTLS", "identity"]
    here = f"/service/{quote(namespace, safe='')}/{quote(name, safe='')}"
    body = (
        live("summary", f"Golden metrics (last {window})", cards, cls="wide")
        + live("routes", "Routes", table(["route", "service", "requests", "success", "rps", "p50", "p95", "p99",
                                          "rps trend", "success trend", "p99 trend"], routes, cls="golden",
                                         empty="no requests to this service through a caller's sidecar"), cls="wide")
        + '<div class="two">'
        + live("callers", "Callers (inbound)", table(edge_head, _edge_rows(callers, window, mtls, callers=True)))
        + live("callees", "Callees (outbound)", table(edge_head, _edge_rows(callees, window, mtls, callers=False)))
        + "</div>"
        + tap_panel(service=name, fixed=True)
        + live("traces", "Recent traces", trace_table(data.traces(name, 15), empty="no sampled traces yet"),
               cls="wide")
    )
    return page(f"{name}.{namespace}", body, active="", window=window, here=here)


def tap_panel(service: str = "", path: str = "", status: str = "", method: str = "", *, fixed: bool = False) -> str:
    """Return the live tap: filters and a table the browser fills from the tap stream."""
    svc = (f'<input type="hidden" name="service" value="{esc(service)}">' if fixed else
           f'<label>service <input name="service" value="{esc(service)}" placeholder="any"></label>')
    return (
        f'<section class="card wide tap" id="tap" data-tap="/v1/telemetry/tap">'
        f'<h2>Live tap{" of " + esc(service) if fixed else ""} <span class="tap-state">connecting…</span></h2>'
        f'<form class="tap-filters">{svc}'
        f'<label>path <input name="path" value="{esc(path)}" placeholder="/prefix"></label>'
        f'<label>status <input name="status" value="{esc(status)}" placeholder="5xx or 503" size="6"></label>'
        f'<label>method <input name="method" value="{esc(method)}" placeholder="GET" size="6"></label>'
        '<button type="submit">Apply</button> <button type="button" class="tap-pause">Pause</button>'
        '</form>'
        + table(["time", "reporter", "method", "path", "status", "flags", "latency", "from → to", "trace"], [],
                cls="tap-lines", empty="waiting for requests…")
        + "</section>"
    )


def tap(service: str, path: str, status: str, method: str) -> str:
    """Return the live tap page, filtered by service, path prefix, status and method."""
    intro = ('<p class="hint">One line per request and per reporting sidecar, as pushes arrive '
             '(every 2 s by default). Click a line for its headers and identifiers.</p>')
    return page("Live tap", intro + tap_panel(service, path, status, method), active="/tap")
