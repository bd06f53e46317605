from __future__ import annotations

import pytest

from tether.control.telemetry.tap import TapFilter, TapHub
from tether.proxy.telemetry.wire import RequestSummary


def req(path: str = "/x", status: int = 200, method: str = "GET", src: str = "order",
        svc: str = "shipping.default.svc.cluster.local") -> RequestSummary:
    return RequestSummary(1.0, "source", method, "shipping", path, status, "-", 1.0, src, "default",
                          svc.split(".")[0], "default", svc)


@pytest.mark.parametrize(("flt", "matches"), [
    (TapFilter(), True),
    (TapFilter(service="shipping"), True),
    (TapFilter(service="shipping.default"), True),
    (TapFilter(service="order"), True),  # the caller's side counts too
    (TapFilter(service="billing"), False),
    (TapFilter(path="/x"), True),
    (TapFilter(path="/y"), False),
    (TapFilter(method="get"), True),
    (TapFilter(method="POST"), False),
    (TapFilter(status="200"), True),
    (TapFilter(status="2xx"), True),
    (TapFilter(status="5xx"), False),
])
def test_filter(flt: TapFilter, matches: bool) -> None:
    assert flt.matches(req()) is matches


async def test_publish_reaches_matching_subscribers_within_bounds() -> None:
    hub = TapHub(capacity=2)
    errors = hub.subscribe(TapFilter(status="5xx"))
    everything = hub.subscribe(TapFilter())
    hub.publish([req(status=500), req(), req(status=503)])
    assert errors.queue.qsize() == 2 and errors.dropped == 0
    assert everything.queue.qsize() == 2 and everything.dropped == 1
    hub.unsubscribe(errors)
    hub.publish([req(status=500)])
    assert errors.queue.qsize() == 2
    assert hub.subscribers == {everything}
