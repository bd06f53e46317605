"""The service graph: who calls whom, laid out in columns and drawn as SVG.

Pure: ``build_graph`` turns edge and workload rows into nodes and edges with a health
class; ``layout`` places callers left of the services they call; ``render_svg``
draws it. Each node and edge carries ``data-*`` attributes the browser tests find.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from html import escape
from urllib.parse import quote

import msgspec

from tether.client.telemetry import EdgeRow, StatRow

NODE_W, NODE_H = 170, 58
COL_GAP, ROW_GAP, MARGIN = 150, 56, 30
UNKNOWN = "unknown"


class Node(msgspec.Struct, frozen=True, kw_only=True):
    """A workload: its golden metrics (inbound), its kind and health class."""

    id: str
    name: str
    namespace: str
    kind: str = "workload"  # or "gateway", "external" (callers outside the mesh)
    requests: int = 0
    rps: float = 0.0
    success_rate: float | None = None
    p99: float | None = None
    health: str = "idle"


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    """Calls from one workload to another over the window."""

    source: str
    target: str
    requests: int
    rps: float
    success_rate: float | None
    p99: float | None
    mtls: bool = False
    health: str = "idle"


class Graph(msgspec.Struct, frozen=True, kw_only=True):
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def health(success_rate: float | None) -> str:
    """Return ``ok`` (>= 99 %), ``warn`` (>= 95 %), ``bad`` or ``idle`` (no requests)."""
    if success_rate is None:
        return "idle"
    if success_rate >= 0.99:
        return "ok"
    return "warn" if success_rate >= 0.95 else "bad"


def node_id(namespace: str, name: str) -> str:
    """Return the id of a workload node, ``namespace/name``."""
    return f"{namespace}/{name}"


def build_graph(workloads: Sequence[StatRow], edges: Sequence[EdgeRow], gateways: Collection[str] = (),
                mtls: Collection[str] = ()) -> Graph:
    """Return the graph of ``workloads`` (stat rows) and ``edges`` (edge rows).

    ``gateways`` holds the ids of workloads that are gateways, ``mtls`` the edges
    (``source_id->target_id``) whose calls arrived over mutual TLS. Nodes only seen in
    edges are added; an ``unknown`` caller is an ``external`` node.
    """
    nodes: dict[str, Node] = {}
    for w in workloads:
        nid = node_id(w.namespace, w.name)
        nodes[nid] = Node(
            id=nid, name=w.name, namespace=w.namespace, kind="gateway" if nid in gateways else "workload",
            requests=w.requests, rps=w.rps, success_rate=w.success_rate, p99=w.latency_ms.p99,
            health=health(w.success_rate),
        )
    out: list[Edge] = []
    for e in edges:
        src, dst = node_id(e.source_namespace, e.source), node_id(e.destination_namespace, e.destination)
        for nid, name, ns in ((src, e.source, e.source_namespace), (dst, e.destination, e.destination_namespace)):
            if nid not in nodes:
                kind = "external" if name == UNKNOWN else ("gateway" if nid in gateways else "workload")
                nodes[nid] = Node(id=nid, name=name, namespace=ns, kind=kind)
        out.append(Edge(source=src, target=dst, requests=e.requests, rps=e.rps, success_rate=e.success_rate,
                        p99=e.latency_ms.p99, health=health(e.success_rate), mtls=f"{src}->{dst}" in mtls))
    return Graph(nodes=tuple(sorted(nodes.values(), key=lambda n: n.id)), edges=tuple(out))


def layers(graph: Graph) -> dict[str, int]:
    """Return a column per node: callers left of callees (cycles are cut, never looped)."""
    col = {n.id: 0 for n in graph.nodes}
    limit = max(0, len(col) - 1)
    for _ in range(len(col)):
        moved = False
        for e in graph.edges:
            want = col[e.source] + 1
            if e.source != e.target and col[e.target] < want <= limit:
                col[e.target] = want
                moved = True
        if not moved:
            break
    return col


def layout(graph: Graph) -> tuple[dict[str, tuple[int, int]], int, int]:
    """Return ``(top-left corner per node, width, height)`` of the drawing."""
    col = layers(graph)
    columns: dict[int, list[str]] = {}
    for n in graph.nodes:
        columns.setdefault(col[n.id], []).append(n.id)
    tallest = max((len(ids) for ids in columns.values()), default=1)
    height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP
    pos: dict[str, tuple[int, int]] = {}
    for c, ids in columns.items():
        used = len(ids) * NODE_H + (len(ids) - 1) * ROW_GAP
        top = (height - used) // 2
        for i, nid in enumerate(ids):
            pos[nid] = (MARGIN + c * (NODE_W + COL_GAP), top + i * (NODE_H + ROW_GAP))
    width = MARGIN * 2 + (max(columns, default=0) + 1) * NODE_W + max(columns, default=0) * COL_GAP
    return pos, width, height


def fmt_rate(success_rate: float | None) -> str:
    """Return a success rate as ``99.5%`` (``-`` without requests)."""
    return "-" if success_rate is None else f"{success_rate * 100:.1f}%".replace(".0%", "%")


def fmt_ms(ms: float | None) -> str:
    """Return a latency as ``12ms`` / ``1.2s`` (``-`` when unknown)."""
    if ms is None:
        return "-"
    return f"{ms / 1000:.1f}s" if ms >= 1000 else f"{ms:.0f}ms" if ms >= 10 else f"{ms:.1f}ms"


def render_svg(graph: Graph, href: str = "/service/{namespace}/{name}", window: str = "1m") -> str:
    """Return the graph as an inline SVG element (empty-state text when there is nothing)."""
    if not graph.nodes:
        return '<p class="empty">No workloads yet: start sidecars and send some traffic.</p>'
    pos, width, height = layout(graph)
    parts = [
        f'<svg class="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="service graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for e in graph.edges:
        parts.append(_edge_svg(e, pos))
    for n in graph.nodes:
        x, y = pos[n.id]
        stats = f"{n.rps:.2f} rps · {fmt_rate(n.success_rate)}" if n.requests else "no inbound traffic"
        link = href.format(namespace=quote(n.namespace, safe=""), name=quote(n.name, safe="")) + f"?window={window}"
        parts.append(
            f'<a href="{escape(link)}" class="node-link"><g class="node {n.health} {n.kind}" '
            f'data-node="{escape(n.id)}" data-health="{n.health}" transform="translate({x},{y})">'
            f'<title>{escape(n.id)} ({n.kind})</title>'
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="8"/>'
            f'<text x="12" y="23" class="name">{escape(_clip(n.name, 19))}</text>'
            f'<text x="12" y="44" class="stats">{escape(_clip(n.namespace, 12))} · {escape(stats)}</text></g></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _edge_svg(e: Edge, pos: dict[str, tuple[int, int]]) -> str:
    (sx, sy), (tx, ty) = pos[e.source], pos[e.target]
    x1: float
    y1: float
    x2: float
    y2: float
    lx: float
    ly: float
    if e.source == e.target:  # a workload calling itself: a loop above the node
        x1, y1 = sx + NODE_W * 0.35, sy
        x2 = sx + NODE_W * 0.65
        path = f"M{x1:.0f},{y1} C{x1:.0f},{y1 - 50} {x2:.0f},{y1 - 50} {x2:.0f},{y1}"
        lx, ly = sx + NODE_W / 2, sy - 42
    elif tx > sx:  # forward: right side to left side
        x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx, ty + NODE_H / 2
        mid = (x1 + x2) / 2
        path = f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2 - 2:.0f},{y2:.0f}"
        lx, ly = mid, (y1 + y2) / 2 - 6
    else:  # backward or same column: an arc below both nodes
        x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2, ty + NODE_H
        low = max(y1, y2) + 40
        path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{low:.0f} {x2:.0f},{low:.0f} {x2:.0f},{y2 + 2:.0f}"
        lx, ly = (x1 + x2) / 2, low - 4
    rate = f"{e.rps:.2f} rps · {fmt_rate(e.success_rate)}"
    return (
        f'<g class="edge {e.health}" data-edge="{escape(e.source)}->{escape(e.target)}" '
        f'data-mtls="{str(e.mtls).lower()}" data-rps="{e.rps}">'
        f'<title>{escape(e.source)} → {escape(e.target)}: {e.requests} requests, '
        f'{"mTLS" if e.mtls else "no mTLS"}</title>'
        f'<path d="{path}" marker-end="url(#arrow)"/>'
        f'<text x="{lx:.0f}" y="{ly - 12:.0f}" text-anchor="middle" class="edge-label">{escape(rate)}</text>'
        f'<text x="{lx + 6:.0f}" y="{ly + 1:.0f}" text-anchor="middle" class="edge-label">p99 {fmt_ms(e.p99)}</text>'
        f"{_lock(lx - 42, ly - 7, e.mtls)}</g>"
    )


def _lock(x: float, y: float, closed: bool) -> str:
    """Return a small padlock at ``(x, y)``: closed (mTLS) or open (plain text)."""
    shackle = "M1.5,0 v-2.5 a2.5,2.5 0 0 1 5,0 v2.5" if closed else "M1.5,0 v-2.5 a2.5,2.5 0 0 1 5,0 v-0.5"
    return (f'<g class="lock {"closed" if closed else "open"}" transform="translate({x:.0f},{y:.0f})">'
            f'<path d="{shackle}"/><rect x="0" y="0" width="8" height="6.5" rx="1"/></g>')
