"""The completion hook that feeds telemetry: per-edge counts, sampled spans, tap summaries."""

from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.proxy.chain import Filter
from tether.proxy.exchange import Exchange
from tether.proxy.telemetry.record import build_span, edge_key, is_sampled, peer_principal, raw_summary
from tether.proxy.telemetry.sink import TelemetrySink
from tether.proxy.telemetry.wire import EdgeKey


class TelemetryHook(Filter):
    """Observes every finished exchange for ``reporter`` (``source`` or ``destination``)."""

    name = "telemetry"

    def __init__(self, node: ProxyNode, reporter: str, sink: TelemetrySink) -> None:
        self.node = node
        self.reporter = reporter
        self.sink = sink
        self._keys: dict[tuple[object, ...], EdgeKey] = {}

    def on_complete(self, ex: Exchange) -> None:
        sink = self.sink
        spans = sink.wants_spans and is_sampled(ex)
        if not (sink.aggregate or sink.keep_requests or spans):
            return
        # The key depends only on these; the same objects recur for every request of an edge.
        lookup = (ex.endpoint, ex.cluster, ex.peer, ex.route, None if ex.cluster else ex.authority,
                  peer_principal(ex) if ex.extra else None)
        key = self._keys.get(lookup)
        if key is None:
            if len(self._keys) > 10_000:
                self._keys.clear()
            key = self._keys[lookup] = edge_key(ex, self.node, self.reporter)
        if sink.aggregate:
            duration_ms = (ex.end_mono - ex.start_mono) * 1000.0
            sink.count(key, ex.status, ex.response_flags, duration_ms, ex.body.received, ex.bytes_sent)
        if spans:
            sink.span(build_span(ex, self.node, self.reporter, key))
        if sink.keep_requests:
            sink.request(raw_summary(ex, self.reporter, key))

    def on_snapshot(self) -> None:
        """Forget cached keys: after a swap, endpoints and routes are new objects."""
        self._keys.clear()
