"""The admin listener: readiness, Prometheus stats, the running config, cluster state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import msgspec

from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response
from tether.proxy.feature_stats import render_feature_stats
from tether.proxy.stats import Family, render_counters

if TYPE_CHECKING:
    from tether.proxy.runtime import ProxyRuntime

TEXT = b"text/plain; charset=utf-8"
PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
JSON = b"application/json"

REJECTED = Family("tether_downstream_rejected_total", "counter", "Requests refused before routing, by status.")
TLS_ACCEPTED = Family("tether_tls_inbound_accepted_total", "counter", "Inbound connections accepted, by kind.")
TLS_REJECTED = Family("tether_tls_inbound_rejected_total", "counter", "Inbound connections refused, by reason kind.")
TLS_ROTATIONS = Family("tether_tls_certificate_rotations_total", "counter", "Workload certificates installed.")
CONFIG_APPLIED = Family("tether_config_updates_total", "counter", "Snapshots applied (result=ack) or refused (nack).")


def _respond(status: int, content_type: bytes, body: bytes) -> Response:
    return Response(status, Headers([(b"content-type", content_type)]), body)


def _json(value: object) -> Response:
    return _respond(200, JSON, msgspec.json.encode(value))


class Admin:
    """Answers admin requests from the runtime's current state."""

    def __init__(self, runtime: ProxyRuntime) -> None:
        self.runtime = runtime
        self.routes: dict[bytes, Callable[[], Response]] = {
            b"/ready": self.ready,
            b"/stats/prometheus": self.prometheus,
            b"/config_dump": self.config_dump,
            b"/clusters": self.clusters,
        }

    async def handle(self, ex: Exchange) -> Response:
        """Return the admin response for ``ex``; POST /quitquitquit starts a drain."""
        path = ex.target.partition(b"?")[0]
        ex.authority = ex.headers.get(b"host") or b""
        if path == b"/quitquitquit" and ex.method == b"POST":
            self.runtime.request_stop()
            return _respond(200, TEXT, b"OK\n")
        route = self.routes.get(path)
        if route is None or ex.method not in (b"GET", b"HEAD"):
            return _respond(404, TEXT, b"unknown admin path\n")
        return route()

    def ready(self) -> Response:
        if self.runtime.table is None or self.runtime.draining:
            return _respond(503, TEXT, b"NOT READY\n")
        return _respond(200, TEXT, b"LIVE\n")

    def prometheus(self) -> Response:
        lines: list[str] = list(self.runtime.request_series.render())
        lines += render_counters(REJECTED, ((f'{{code="{c}"}}', n) for c, n in sorted(self.runtime.rejected.items())))
        lines += render_feature_stats(self.runtime.stacks)
        tls = self.runtime.tls
        for family, counts in ((TLS_ACCEPTED, tls.inbound.accepted), (TLS_REJECTED, tls.inbound.rejected)):
            lines += render_counters(family, ((f'{{kind="{k}"}}', n) for k, n in sorted(counts.items())))
        lines += render_counters(TLS_ROTATIONS, (("", tls.rotations),))
        lines += render_counters(
            CONFIG_APPLIED, (('{result="ack"}', self.runtime.acks), ('{result="nack"}', self.runtime.nacks))
        )
        return _respond(200, PROMETHEUS, ("\n".join(lines) + "\n").encode())

    def config_dump(self) -> Response:
        snapshot = self.runtime.snapshot
        return _json({"node": self.runtime.node, "snapshot": snapshot, "last_error": self.runtime.last_error})

    def clusters(self) -> Response:
        table = self.runtime.table
        clusters: Iterable[object] = []
        if table is not None:
            for c in table.clusters.values():
                c.refresh()  # ejections whose time is up show as returned even without traffic
            clusters = [
                {
                    "name": c.name,
                    "service": c.service,
                    "port": c.spec.port,
                    "endpoints": [
                        {
                            "address": e.host,
                            "labels": e.labels,
                            "healthy": e.healthy,
                            "ejected": e.ejected,
                            "ejections": e.health.ejections,
                            "active_requests": e.active_requests,
                            "total_requests": e.total_requests,
                        }
                        for e in c.endpoints
                    ],
                }
                for c in table.clusters.values()
            ]
        return _json({"clusters": clusters})
