from __future__ import annotations

import random

from tether.proxy.codec.http1 import Headers
from tether.proxy.filters.tracing import Tracing, incoming_context
from tether.testing.factories import make_exchange

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_reads_w3c_then_b3_single_then_b3_multi() -> None:
    assert incoming_context(Headers([(b"traceparent", f"00-{TRACE}-{SPAN}-01".encode())])) == (TRACE, SPAN, "1")
    assert incoming_context(Headers([(b"b3", f"{TRACE}-{SPAN}-0".encode())])) == (TRACE, SPAN, "0")
    multi = Headers([(b"x-b3-traceid", b"a3ce929d0e0e4736"), (b"x-b3-spanid", SPAN.encode())])
    assert incoming_context(multi) == ("0" * 16 + "a3ce929d0e0e4736", SPAN, None)


def test_malformed_or_all_zero_context_is_ignored() -> None:
    assert incoming_context(Headers([(b"traceparent", b"00-zz-11-01")])) is None
    assert incoming_context(Headers([(b"traceparent", f"00-{'0' * 32}-{SPAN}-01".encode())])) is None


def test_creates_ids_when_absent_and_writes_both_formats() -> None:
    ex = make_exchange()
    Tracing(random.Random(1), sample_rate=1.0).on_request(ex)
    h = ex.headers
    assert len(ex.request_id) == 36 and h.get(b"x-request-id") == ex.request_id
    assert h.get(b"traceparent") == f"00-{ex.trace_id}-{ex.span_id}-01".encode()
    assert h.get(b"x-b3-traceid") == ex.trace_id.encode()
    assert h.get(b"x-b3-sampled") == b"1"
    assert h.get(b"x-b3-parentspanid") is None


def test_propagates_incoming_trace_with_new_span_and_keeps_request_id() -> None:
    ex = make_exchange(
        headers=[(b"Host", b"a"), (b"x-request-id", b"abc"), (b"traceparent", f"00-{TRACE}-{SPAN}-00".encode())]
    )
    Tracing(random.Random(2), sample_rate=1.0).on_request(ex)
    assert ex.request_id == b"abc"
    assert ex.trace_id == TRACE
    assert ex.span_id != SPAN
    assert ex.headers.get(b"x-b3-parentspanid") == SPAN.encode()
    assert ex.headers.get(b"x-b3-sampled") == b"0"  # the caller's decision wins over the local rate
