"""The trace list and the waterfall of one trace."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from tether.client.telemetry import Trace, TraceSummary
from tether.dashboard.html import clock, esc, page, table, url
from tether.proxy.telemetry.wire import SpanRecord


def trace_table(traces: Sequence[TraceSummary], *, empty: str = "no sampled traces") -> str:
    """Return a table of trace summaries, each linking to its waterfall."""
    rows = [
        [f'<a href="/traces/{esc(quote(t.trace_id))}" class="trace-link">{esc(t.trace_id[:12])}…</a>',
         esc(clock(t.start_ns / 1e9)), esc(t.root), esc(t.root_service), esc(", ".join(t.services)),
         str(t.spans), f"{t.duration_ms:.1f} ms",
         f'<span class="sr {"bad" if t.errors else "ok"}">{t.errors}</span>']
        for t in traces
    ]
    return table(["trace", "start (UTC)", "root", "root service", "services", "spans", "duration", "errors"],
                 rows, cls="traces", empty=empty)


def traces(items: Sequence[TraceSummary], service: str) -> str:
    """Return the trace list page (newest first), optionally for one service."""
    form = ('<form class="filters" method="get"><label>service '
            f'<input name="service" value="{esc(service)}" placeholder="any"></label>'
            '<button type="submit">Filter</button></form>')
    body = form + f'<section id="trace-list" class="card wide" data-live>{trace_table(items)}</section>'
    return page("Traces", body, active="/traces")


def depths(spans: Sequence[SpanRecord]) -> dict[str, int]:
    """Return each span's depth in its tree (roots, and spans whose parent is missing, are 0)."""
    parent = {s.span_id: s.parent_id for s in spans}
    out: dict[str, int] = {}
    for s in spans:
        depth, seen, cur = 0, {s.span_id}, s.parent_id
        while cur in parent and cur not in seen:
            seen.add(cur)
            depth += 1
            cur = parent[cur]
        out[s.span_id] = depth
    return out


def waterfall(t: Trace) -> str:
    """Return the waterfall of a trace's spans: one bar per span on a shared time axis."""
    spans = list(t.span_list)
    start = min((s.start_ns for s in spans), default=0)
    end = max((s.end_ns for s in spans), default=start)
    total = max(1, end - start)
    depth = depths(spans)
    rows = []
    for s in spans:
        left = (s.start_ns - start) / total * 100
        width = max(0.4, (s.end_ns - s.start_ns) / total * 100)
        attrs = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in sorted(s.attributes.items()))
        status = s.attributes.get("http.status_code", "")
        rows.append(
            f'<div class="span-row{" error" if s.error else ""}" data-span="{esc(s.span_id)}">'
            f'<div class="span-name" style="padding-left:{depth[s.span_id] * 14}px">'
            f'<span class="kind {esc(s.kind)}">{esc(s.kind)}</span> <b>{esc(s.service)}</b> {esc(s.name)} '
            f'<span class="muted">{esc(status)}</span></div>'
            f'<div class="span-track"><div class="span-bar {esc(s.kind)}" '
            f'style="left:{left:.2f}%;width:{min(width, 100 - left):.2f}%"></div>'
            f'</div><span class="span-ms">{(s.end_ns - s.start_ns) / 1e6:.2f} ms</span>'
            f"<details><summary>attributes</summary><table class=\"attrs\">{attrs}</table></details></div>"
        )
    head = (f'<p>Trace <code>{esc(t.trace_id)}</code> · {esc(t.root)} · {len(spans)} spans · '
            f'{t.duration_ms:.2f} ms · services {esc(", ".join(t.services))} · '
            f'<span class="sr {"bad" if t.errors else "ok"}">{t.errors} errors</span></p>')
    axis = (f'<div class="axis"><span>0 ms</span><span>{total / 2e6:.2f} ms</span>'
            f'<span>{total / 1e6:.2f} ms</span></div>')
    body = head + f'<section class="card wide waterfall">{axis}{"".join(rows)}</section>'
    return page(f"Trace {t.trace_id[:12]}…", body, active="/traces")


def missing_trace(trace_id: str) -> str:
    """Return the page for a trace the store does not (or no longer) hold."""
    body = (f'<p class="empty">Trace <code>{esc(trace_id)}</code> is not in the store: it keeps the most recent '
            f'sampled traces only. <a href="{esc(url("/traces"))}">Back to the list</a>.</p>')
    return page("Trace not found", body, active="/traces")
