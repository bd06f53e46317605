"""The config view (resources and analyze findings) and the proxy sync status page."""

from __future__ import annotations

import yaml

from tether.dashboard.data import DashboardData
from tether.dashboard.html import ago, esc, page, table


def config(data: DashboardData) -> str:
    """Return the resources in the store (each body folded) and what analyze finds."""
    findings = [
        [f'<span class="severity {esc(f.severity.lower())}">{esc(f.severity)}</span>', esc(f.code),
         esc("/".join(f.resource)), esc(f.path), esc(f.message), esc(f.fix)]
        for f in data.findings()
    ]
    resources = [
        [esc(o.kind), esc(o.namespace), esc(o.name), str(o.revision),
         f'<details><summary>spec</summary><pre>{esc(yaml.safe_dump(o.body, sort_keys=False))}</pre></details>']
        for o in data.resources()
    ]
    body = (
        f'<section id="findings" class="card wide" data-live><h2>Analyze findings</h2>'
        f'{table(["severity", "code", "resource", "path", "message", "fix"], findings, empty="no findings")}</section>'
        f'<section id="resources" class="card wide"><h2>Resources (revision {data.revision()})</h2>'
        + table(["kind", "namespace", "name", "revision", "body"], resources, cls="resources",
                empty="no resources applied")
        +
        "</section>"
    )
    return page("Config", body, active="/config")


def proxies(data: DashboardData) -> str:
    """Return every registered proxy with its sync status and last telemetry push."""
    now = data.now()
    rows = []
    for p in data.proxies():
        nack = p.last_nack
        rows.append([
            esc(p.node.name), esc(p.node.namespace), esc(p.node.kind), esc(f"{p.address}:{p.port}"),
            "yes" if p.connected else '<span class="sr bad">no</span>',
            f'<span class="status {esc(p.status.replace(" ", "-").lower())}" data-status="{esc(p.status)}">'
            f"{esc(p.status)}</span>",
            f"<code>{esc(p.desired_version[:12])}</code>", f"<code>{esc(p.acked_version[:12])}</code>",
            esc(ago(p.acked_at, now)), esc(ago(data.last_push(p.node.namespace, p.node.name), now)),
            esc(f"{nack.version[:12]}: {nack.reason}") if nack else "",
        ])
    headers = ["name", "namespace", "kind", "inbound", "connected", "status", "desired", "acked", "acked at",
               "telemetry", "last NACK"]
    body = (f'<section id="proxy-list" class="card wide" data-live>'
            f'{table(headers, rows, cls="proxies", empty="no proxies registered")}</section>')
    return page("Proxies", body, active="/proxies")
