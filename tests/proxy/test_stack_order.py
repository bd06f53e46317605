"""Pins the order of both stacks: a change here must be a deliberate one."""

from __future__ import annotations

import random

from tether.core.identity import ProxyNode
from tether.proxy.filters.access_log import AccessLogSink
from tether.proxy.filters.metrics import RequestSeries
from tether.proxy.inbound import inbound_filters
from tether.proxy.outbound import outbound_filters
from tether.proxy.stack import StackContext


def context() -> StackContext:
    return StackContext(
        node=ProxyNode(name="a"),
        table=lambda: None,
        local_app=lambda: None,
        rng=random.Random(1),
        access_log=AccessLogSink(None),
        request_series=RequestSeries(),
    )


def test_outbound_order() -> None:
    names = [f.name for f in outbound_filters(context())]
    assert names == ["access_log", "metrics", "telemetry", "tracing", "rescue", "router",
                     "direct_response", "cors", "ratelimit", "fault", "header_ops", "mirror",
                     "timeout", "retry", "circuit_breaker", "peer_metadata"]


def test_inbound_order() -> None:
    names = [f.name for f in inbound_filters(context())]
    assert names == ["access_log", "metrics", "telemetry", "peer_metadata", "tracing", "rescue", "jwt", "authz",
                     "router"]
