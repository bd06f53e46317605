from __future__ import annotations

import json
from pathlib import Path

from tether.core.identity import ProxyNode
from tether.proxy.filters.access_log import AccessLog, AccessLogSink
from tether.testing.factories import make_exchange


def test_one_json_line_per_exchange_with_documented_keys(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    sink = AccessLogSink(str(path))
    log = AccessLog(ProxyNode(name="client"), sink)
    ex = make_exchange(headers=[(b"Host", b"upstream"), (b"User-Agent", b"curl")])
    ex.authority = b"upstream"
    ex.status = 404
    ex.add_flag("NR")
    ex.request_id = b"rid"
    ex.end_mono = ex.start_mono + 0.0015
    log.on_complete(ex)
    log.on_complete(ex)
    sink.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record["start_time"] == "2023-11-14T22:13:20.250Z"
    assert record["response_code"] == 404 and record["response_flags"] == "NR"
    assert record["duration_ms"] == 1.5
    assert record["x_request_id"] == "rid"
    assert record["source_workload"] == "client" and record["destination_workload"] is None
    assert record["user_agent"] == "curl"
    assert set(record) >= {
        "method", "path", "protocol", "bytes_received", "bytes_sent", "upstream_host", "trace_id", "direction",
    }  # fmt: skip


def test_path_is_the_one_the_client_sent_even_after_a_rewrite(tmp_path: Path) -> None:
    sink = AccessLogSink(str(tmp_path / "a.log"))
    ex = make_exchange(target=b"/order/feed")
    ex.original_path, ex.path = b"/order/feed", b"/feed"
    try:
        assert AccessLog(ProxyNode(name="gw"), sink).record(ex)["path"] == "/order/feed"
    finally:
        sink.close()
