"""HTML building blocks of the dashboard: the page shell, tables, numbers, sparklines.

Everything user- or proxy-supplied goes through ``esc``; the helpers return markup
strings that pages concatenate.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

from tether.dashboard.graph import fmt_ms, fmt_rate

NAV = (("/", "Overview"), ("/tap", "Live tap"), ("/traces", "Traces"), ("/config", "Config"),
       ("/proxies", "Proxies"))
WINDOWS = ("1m", "10m", "1h")


def esc(value: object) -> str:
    """Return ``value`` as text safe inside HTML content and quoted attributes."""
    return escape(str(value), quote=True)


def url(base: str, /, **query: str | None) -> str:
    """Return ``base`` with the given (non-empty) query parameters."""
    given = {k: v for k, v in query.items() if v}
    return base + ("?" + urlencode(given) if given else "")


def page(title: str, body: str, *, active: str = "/", window: str | None = None, here: str = "/") -> str:
    """Return a whole HTML document: the navigation bar, the window picker and ``body``."""
    nav = "".join(
        f'<a href="{esc(url(href, window=window))}" class="{"active" if href == active else ""}">{esc(label)}</a>'
        for href, label in NAV
    )
    picker = ""
    if window is not None:
        picker = '<span class="windows">' + "".join(
            f'<a href="{esc(url(here, window=w))}" class="{"active" if w == window else ""}" '
            f'data-window="{w}">{w}</a>' for w in WINDOWS
        ) + "</span>"
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Tether</title>"
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/dashboard.css">'
        '<script src="/static/dashboard.js" defer></script></head><body>'
        f'<header><a class="brand" href="/">Tether</a><nav>{nav}</nav>{picker}</header>'
        f"<main><h1>{esc(title)}</h1>{body}</main></body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "", empty: str = "nothing yet") -> str:
    """Return a table; cells of ``rows`` are markup (escape them first)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="empty">{esc(empty)}</td></tr>'
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def rate_cell(success_rate: float | None) -> str:
    """Return a success-rate cell colored by health."""
    from tether.dashboard.graph import health

    return f'<span class="sr {health(success_rate)}">{esc(fmt_rate(success_rate))}</span>'


def ms(value: float | None) -> str:
    """Return a latency for a table cell."""
    return esc(fmt_ms(value))


def rps(value: float) -> str:
    """Return requests per second for a table cell."""
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def ago(then: float | None, now: float) -> str:
    """Return ``then`` as ``12s ago`` (``never`` when None)."""
    if then is None:
        return "never"
    delta = max(0.0, now - then)
    if delta < 120:
        return f"{delta:.0f}s ago"
    return f"{delta / 60:.0f}m ago" if delta < 7200 else f"{delta / 3600:.0f}h ago"


def clock(at: float) -> str:
    """Return a wall-clock time as ``HH:MM:SS`` UTC."""
    return time.strftime("%H:%M:%S", time.gmtime(at))


def sparkline(values: Sequence[float | None], *, cls: str = "", label: str = "", width: int = 120,
              height: int = 26, floor: float | None = 0.0, ceiling: float | None = None) -> str:
    """Return an inline SVG polyline of ``values`` (None leaves a gap); empty when all are None."""
    known = [v for v in values if v is not None]
    if not known:
        return f'<svg class="spark empty {esc(cls)}" width="{width}" height="{height}" aria-label="{esc(label)}"></svg>'
    low = min(known) if floor is None else min(floor, min(known))
    high = max(known) if ceiling is None else max(ceiling, max(known))
    span = high - low
    step = width / max(1, len(values) - 1)
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
            continue
        # A flat series sits at the top when it is above zero (e.g. 100 %), else at the bottom.
        share = (v - low) / span if span else (1.0 if v > 0 else 0.0)
        y = height - 2 - share * (height - 4)
        runs[-1].append(f"{i * step:.1f},{y:.1f}")
    lines = "".join(f'<polyline points="{" ".join(r)}"/>' for r in runs if r)
    title = f"{label}: last {known[-1]:.3g}" if label else ""
    return (f'<svg class="spark {esc(cls)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'aria-label="{esc(label)}"><title>{esc(title)}</title>{lines}</svg>')


def sparks(points: Sequence[dict[str, Any]]) -> tuple[str, str, str]:
    """Return the RPS, success-rate and p99 sparklines of a history (golden metrics per point)."""
    rps_values = [float(p["rps"]) for p in points]
    success = [p["success_rate"] for p in points]
    p99 = [p["latency_ms"]["p99"] for p in points]
    return (
        sparkline(rps_values, cls="rps", label="requests per second"),
        sparkline(success, cls="success", label="success rate", floor=None, ceiling=1.0),
        sparkline(p99, cls="latency", label="p99 latency (ms)"),
    )
