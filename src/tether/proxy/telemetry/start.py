"""Starting the proxy's telemetry tasks from its settings (``tether proxy`` flags)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.core.errors import UsageError
from tether.core.identity import ProxyNode
from tether.core.tasks import TaskGroup
from tether.proxy.telemetry.exporter import Exporter, otlp_exporter, parse_url, zipkin_exporter
from tether.proxy.telemetry.reporter import Reporter
from tether.proxy.telemetry.sink import TelemetrySink


@dataclass(frozen=True)
class TelemetryOptions:
    """Where telemetry goes: collectors for spans, the control plane for everything."""

    otlp_url: str | None = None
    zipkin_url: str | None = None
    control_url: str | None = None
    push_interval: float = 2.0
    queue_size: int = 1024


@dataclass
class TelemetryTasks:
    """The exporters and reporter that were started (for tests and the admin page)."""

    exporters: list[Exporter]
    reporter: Reporter | None


def start_telemetry(group: TaskGroup, sink: TelemetrySink, node: ProxyNode, opts: TelemetryOptions) -> TelemetryTasks:
    """Start one owned task per configured destination; return what was started.

    Raises UsageError for a malformed URL.
    """
    exporters: list[Exporter] = []
    if opts.otlp_url:
        exporters.append(otlp_exporter(opts.otlp_url, sink.add_span_queue(opts.queue_size)))
    if opts.zipkin_url:
        exporters.append(zipkin_exporter(opts.zipkin_url, sink.add_span_queue(opts.queue_size)))
    reporter = None
    if opts.control_url:
        reporter = Reporter(opts.control_url, node, sink, interval=opts.push_interval)
        group.spawn("telemetry-push", reporter.run())
    for exporter in exporters:
        group.spawn(f"export-{exporter.name}", exporter.run())
    return TelemetryTasks(exporters, reporter)


def telemetry_options(args: Any) -> TelemetryOptions:
    """Return the options the ``tether proxy`` flags describe; raises UsageError for a bad URL."""
    opts = TelemetryOptions(
        otlp_url=getattr(args, "trace_otlp", None),
        zipkin_url=getattr(args, "trace_zipkin", None),
        control_url=getattr(args, "control", None),
        push_interval=float(getattr(args, "telemetry_interval", 2.0)),
    )
    for url, default in ((opts.otlp_url, "/v1/traces"), (opts.zipkin_url, "/api/v2/spans")):
        if url:
            parse_url(url, default)
    if opts.push_interval <= 0:
        raise UsageError(f"--telemetry-interval must be positive, got {opts.push_interval}")
    return opts
