"""Request ids and trace context: read, created when absent, propagated.

``x-request-id`` is kept or created. W3C ``traceparent`` and B3 (``x-b3-*`` or the
single ``b3`` header) are read; this hop gets a new span id whose parent is the
incoming span, and both header families are written with the same ids so that
Zipkin- and OpenTelemetry-instrumented apps downstream agree on the trace.
"""

from __future__ import annotations

import random

from tether.proxy.chain import Filter
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange

TRACE_FIELDS = frozenset(
    {b"traceparent", b"b3", b"x-b3-traceid", b"x-b3-spanid", b"x-b3-sampled", b"x-b3-parentspanid", b"x-b3-flags"}
)


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and all(c in "0123456789abcdef" for c in value) and value.strip("0") != ""


def incoming_context(headers: Headers) -> tuple[str, str, str | None] | None:
    """Return ``(trace_id, parent_span_id, sampled)`` from W3C or B3 headers, or None.

    ``sampled`` is "1", "0" or None (no decision). Malformed values are ignored.
    """
    traceparent = headers.get(b"traceparent")
    if traceparent is not None:
        parts = traceparent.decode("latin-1").strip().lower().split("-")
        if len(parts) >= 4 and _is_hex(parts[1], 32) and _is_hex(parts[2], 16) and len(parts[3]) == 2:
            return parts[1], parts[2], "1" if int(parts[3], 16) & 1 else "0"
    single = headers.get(b"b3")
    if single is not None:
        parts = single.decode("latin-1").strip().lower().split("-")
        if len(parts) >= 2 and _is_hex(parts[0].rjust(32, "0"), 32) and _is_hex(parts[1], 16):
            sampled = parts[2] if len(parts) > 2 and parts[2] in ("0", "1") else None
            return parts[0].rjust(32, "0"), parts[1], sampled
    trace_id = headers.get(b"x-b3-traceid")
    span_id = headers.get(b"x-b3-spanid")
    if trace_id is not None and span_id is not None:
        tid = trace_id.decode("latin-1").strip().lower().rjust(32, "0")
        sid = span_id.decode("latin-1").strip().lower()
        if _is_hex(tid, 32) and _is_hex(sid, 16):
            flag = headers.get(b"x-b3-sampled")
            sampled = flag.decode("latin-1").strip() if flag is not None else None
            return tid, sid, sampled if sampled in ("0", "1") else None
    return None


class Tracing(Filter):
    """Ensures every request carries a request id and a trace context for this hop."""

    name = "tracing"

    def __init__(self, rng: random.Random, sample_rate: float = 0.01) -> None:
        self.rng = rng
        self.sample_rate = sample_rate

    def on_request(self, ex: Exchange) -> None:
        """Set ``ex.request_id``, ``ex.trace_id`` and ``ex.span_id``; rewrite the headers."""
        headers = ex.headers
        request_id = headers.get(b"x-request-id")
        if not request_id:
            u = _hex(self.rng, 128)
            request_id = f"{u[:8]}-{u[8:12]}-4{u[13:16]}-a{u[17:20]}-{u[20:]}".encode()
            headers.put(b"x-request-id", request_id)
        ex.request_id = request_id
        context = incoming_context(headers)
        span_id = _hex(self.rng, 64)
        if context is None:
            trace_id, parent, sampled = _hex(self.rng, 128), None, None
        else:
            trace_id, parent, sampled = context
        if sampled is None:
            sampled = "1" if self.rng.random() < self.sample_rate else "0"
        ex.trace_id = trace_id
        ex.span_id = span_id
        # One pass drops every incoming trace field; this hop's are appended after.
        kept = [item for item in headers.items if item[0] not in TRACE_FIELDS]
        kept += (
            (b"traceparent", f"00-{trace_id}-{span_id}-0{sampled}".encode()),
            (b"x-b3-traceid", trace_id.encode()),
            (b"x-b3-spanid", span_id.encode()),
            (b"x-b3-sampled", sampled.encode()),
        )
        if parent is not None:
            kept.append((b"x-b3-parentspanid", parent.encode()))
        headers.items = kept
