"""Pushes this proxy's telemetry to the control plane every few seconds.

Each push carries the per-edge counts since the previous one, the sampled spans
queued for the control plane and the recent request summaries (for ``tether tap``).
A push that fails is dropped: the control plane keeps rolling windows, so a gap
of one interval is better than memory that grows while it is away. Pushes go to the
control plane the way the watch does (``tether.client.aio.Control``: http or https, and
the proxy's join token as ``Authorization: Bearer``).
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from tether.client.aio import Control, ControlError, control_endpoint
from tether.core.identity import ProxyNode
from tether.proxy.telemetry.sink import SpanQueue, TelemetrySink
from tether.proxy.telemetry.wire import Push

log = logging.getLogger(__name__)

PUSH_PATH = "/v1/telemetry/push"
_encode = msgspec.json.Encoder().encode


class Reporter:
    """Builds and sends pushes; ``run()`` is the body of an owned task."""

    def __init__(
        self,
        control: Control | str,
        node: ProxyNode,
        sink: TelemetrySink,
        *,
        interval: float = 2.0,
        timeout: float = 2.0,
        max_spans: int = 1024,
    ) -> None:
        # A URL gets the default CA file and no token; ``tether proxy`` sets ``control`` to its
        # own endpoint (CA file, join token) before the first push.
        self.control = control_endpoint(control) if isinstance(control, str) else control
        self.node = node
        self.sink = sink
        self.interval = interval
        self.timeout = timeout
        self.max_spans = max_spans
        self.spans: SpanQueue = sink.add_span_queue(max_spans)
        sink.aggregate = True
        sink.keep_requests = True
        self.pushes = 0
        self.failures = 0
        self._failing = False

    def build(self) -> Push:
        """Return the push for everything collected since the previous one (and reset it)."""
        requests, lost = self.sink.drain_requests()
        dropped_spans, self.spans.dropped = self.spans.dropped, 0
        return Push(
            node=self.node,
            interval=self.interval,
            aggregates=self.sink.drain_aggregates(),
            spans=self.spans.take(self.max_spans),
            requests=requests,
            dropped_spans=dropped_spans,
            dropped_requests=lost,
        )

    async def push_once(self) -> bool:
        """Send one push; return True when the control plane took it."""
        body = _encode(self.build())
        try:
            await self.control.request_json("POST", PUSH_PATH, body, self.timeout)
        except (OSError, TimeoutError, ControlError) as exc:
            self.failures += 1
            if not self._failing:
                log.warning("telemetry push to %s failed (%s); retrying every %.1fs",
                            self.control.url, exc, self.interval)
            self._failing = True
            return False
        if self._failing:
            log.info("telemetry push to %s works again", self.control.url)
        self._failing = False
        self.pushes += 1
        return True

    async def run(self) -> None:
        """Push every ``interval`` seconds, forever."""
        while True:
            await asyncio.sleep(self.interval)
            await self.push_once()
