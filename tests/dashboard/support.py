"""Shared builders of the dashboard tests: a control plane on a fake clock, fed pushes."""

from __future__ import annotations

from pathlib import Path

from tether.control.server import ControlPlane
from tether.control.store import Store
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.wire import LATENCY_BUCKETS_MS, Aggregate, EdgeKey, Push, RequestSummary, SpanRecord
from tether.testing.clock import FakeClock

SVC = {name: f"{name}.default.svc.cluster.local" for name in ("order", "shipping", "home")}
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def key(reporter: str, src: str, dst: str, route: str = "") -> EdgeKey:
    return EdgeKey(reporter, src, "default", f"cluster.local/ns/default/sa/{src}", dst, "default",
                   f"cluster.local/ns/default/sa/{dst}", SVC.get(dst, dst), route)


def aggregate(k: EdgeKey, ok: int, failed: int = 0, bucket: int = 2) -> Aggregate:
    latency = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    latency[bucket] = ok + failed
    codes = {"200": ok} | ({"503": failed} if failed else {})
    return Aggregate(key=k, codes=codes, latency=latency, flags={"UO": failed} if failed else {})


def push(name: str, *aggregates: Aggregate, spans: tuple[SpanRecord, ...] = (),
         requests: tuple[RequestSummary, ...] = (), kind: str = "sidecar") -> Push:
    return Push(node=ProxyNode(name=name, kind=kind), interval=2.0, aggregates=list(aggregates), spans=list(spans),
                requests=list(requests))


def span(span_id: str, parent: str, service: str, kind: str, start: int, end: int, error: bool = False) -> SpanRecord:
    return SpanRecord(TRACE, span_id, parent, "GET /feed", kind, start, end, f"{service}.default", service, "default",
                      {"http.status_code": 503 if error else 200, "http.url": "http://order/feed?<x>"}, error)


def plane(tmp: Path, clock: FakeClock) -> ControlPlane:
    """Return a control plane (not started) whose telemetry holds a small mesh's traffic:
    gateway -> order (18 ok), shipping -> order (9 ok, 1 overflow), a two-span trace."""
    cp = ControlPlane(Store.in_dir(str(tmp)), "token", clock=clock)
    cp.telemetry.ingest(push("ingressgateway", aggregate(key("source", "ingressgateway", "order", "order.0"), 18),
                             kind="gateway"))
    cp.telemetry.ingest(push("order", aggregate(key("destination", "ingressgateway", "order"), 18),
                             aggregate(key("destination", "shipping", "order"), 9)))
    cp.telemetry.ingest(push(
        "shipping", aggregate(key("source", "shipping", "order"), 9, failed=1),
        spans=(span("a" * 16, "", "shipping", "client", 1_000_000, 9_000_000),
               span("b" * 16, "a" * 16, "order", "server", 2_000_000, 8_000_000, error=True)),
    ))
    return cp
