"""The completion hook that feeds telemetry: per-edge counts, sampled spans, tap summaries."""

from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.proxy.chain import Filter
from tether.proxy.exchange import Exchange
from tether.proxy.telemetry.record import build_span, edge_key, is_sampled, summarize
from tether.proxy.telemetry.sink import TelemetrySink


class TelemetryHook(Filter):
    """Observes every finished exchange for ``reporter`` (``source`` or ``destination``)."""

    name = "telemetry"

    def __init__(self, node: ProxyNode, reporter: str, sink: TelemetrySink) -> None:
        self.node = node
        self.reporter = reporter
        self.sink = sink

    def on_complete(self, ex: Exchange) -> None:
        sink = self.sink
        spans = sink.wants_spans and is_sampled(ex)
        if not (sink.aggregate or sink.keep_requests or spans):
            return
        key = edge_key(ex, self.node, self.reporter)
        if sink.aggregate:
            duration_ms = (ex.end_mono - ex.start_mono) * 1000.0
            sink.count(key, ex.status, ex.response_flags, duration_ms, ex.body.received, ex.bytes_sent)
        if spans:
            sink.span(build_span(ex, self.node, self.reporter, key))
        if sink.keep_requests:
            sink.request(summarize(ex, self.reporter, key))
