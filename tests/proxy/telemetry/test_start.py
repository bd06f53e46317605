from __future__ import annotations

import argparse

import pytest

from tether.core.errors import UsageError
from tether.core.identity import ProxyNode
from tether.core.tasks import TaskGroup
from tether.proxy.telemetry.sink import TelemetrySink
from tether.proxy.telemetry.start import TelemetryOptions, start_telemetry, telemetry_options


def test_options_from_flags() -> None:
    args = argparse.Namespace(trace_otlp="http://127.0.0.1:4318", trace_zipkin=None, control=None,
                              telemetry_interval=0.5)
    opts = telemetry_options(args)
    assert opts == TelemetryOptions(otlp_url="http://127.0.0.1:4318", push_interval=0.5)
    assert telemetry_options(argparse.Namespace()) == TelemetryOptions()


@pytest.mark.parametrize("flags", [{"trace_otlp": "ftp://x"}, {"trace_zipkin": "https://x:1"},
                                   {"telemetry_interval": 0}])
def test_bad_flags_are_usage_errors(flags: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        telemetry_options(argparse.Namespace(**flags))


async def test_one_task_per_destination() -> None:
    group = TaskGroup("test")
    sink = TelemetrySink()
    opts = TelemetryOptions(otlp_url="http://127.0.0.1:1", zipkin_url="http://127.0.0.1:1",
                            control_url="http://127.0.0.1:1", push_interval=60)
    started = start_telemetry(group, sink, ProxyNode(name="a"), opts)
    try:
        assert [e.name for e in started.exporters] == ["otlp", "zipkin"]
        assert started.reporter is not None
        assert len(group) == 3
        assert len(sink.span_queues) == 3
    finally:
        await group.close()


async def test_nothing_configured_starts_nothing() -> None:
    group = TaskGroup("test")
    sink = TelemetrySink()
    started = start_telemetry(group, sink, ProxyNode(name="a"), TelemetryOptions())
    assert started.exporters == [] and started.reporter is None and len(group) == 0
    assert not (sink.aggregate or sink.keep_requests or sink.wants_spans)
