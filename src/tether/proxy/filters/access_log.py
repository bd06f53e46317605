"""Access log: one JSON object per finished exchange, to stdout or a file.

Lines are buffered and flushed by the owner's periodic tick (and at shutdown), so a
request never waits on a disk write.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import BinaryIO

import msgspec

from tether.core.identity import ProxyNode
from tether.proxy.chain import Filter
from tether.proxy.exchange import Exchange

_encode = msgspec.json.Encoder().encode


class AccessLogSink:
    """A buffered binary stream of log lines; ``-`` or None means stdout."""

    def __init__(self, path: str | None) -> None:
        self._own = bool(path and path != "-")
        self.stream: BinaryIO = open(path, "ab", buffering=256 * 1024) if path and self._own else sys.stdout.buffer  # noqa: SIM115

    def write(self, line: bytes) -> None:
        """Queue one line (``line`` includes its newline)."""
        self.stream.write(line)

    def flush(self) -> None:
        """Push buffered lines to the file."""
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()

    def close(self) -> None:
        """Flush and close the file (stdout stays open)."""
        self.flush()
        if self._own:
            self.stream.close()


class _Timestamp:
    """Formats wall-clock seconds as RFC 3339 UTC with milliseconds, caching the second."""

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def __call__(self, wall: float) -> str:
        second = int(wall)
        if second != self.second:
            self.second = second
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self.prefix}.{int((wall - second) * 1000):03d}Z"


def _notes(extra: dict[str, object] | None) -> dict[str, object] | None:
    """Return what features noted about the exchange (plain values only), or None."""
    if not extra:
        return None
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool)} or None


class AccessLog(Filter):
    """Writes the log line of every exchange once its response is finished."""

    name = "access_log"

    def __init__(self, node: ProxyNode, sink: AccessLogSink) -> None:
        self.node = node
        self.sink = sink
        self.timestamp = _Timestamp()

    def on_complete(self, ex: Exchange) -> None:
        self.sink.write(_encode(self.record(ex)) + b"\n")

    def record(self, ex: Exchange) -> dict[str, object]:
        """Return the log record of ``ex`` (keys in docs/interfaces.md)."""
        node = self.node
        endpoint = ex.endpoint
        inbound = ex.direction == "inbound"
        if inbound:
            peer = ex.peer
            source: tuple[str | None, str | None] = (peer[0], peer[1]) if peer else (None, None)
            destination: tuple[str | None, str | None] = (node.name, node.namespace)
        else:
            source = (node.name, node.namespace)
            destination = (endpoint.workload, endpoint.namespace) if endpoint else (None, None)
        user_agent = ex.headers.get(b"user-agent")
        return {
            "start_time": self.timestamp(ex.start_wall),
            "direction": ex.direction,
            "method": ex.method.decode("latin-1"),
            "path": (ex.original_path or ex.path).decode("latin-1"),
            "authority": ex.authority.decode("latin-1"),
            "protocol": "HTTP/" + ex.http_version,
            "response_code": ex.status,
            "response_flags": ex.response_flags,
            "bytes_received": ex.body.received,
            "bytes_sent": ex.bytes_sent,
            "duration_ms": round((ex.end_mono - ex.start_mono) * 1000.0, 3),
            "upstream_host": endpoint.host if endpoint else None,
            "upstream_cluster": ex.cluster.name if ex.cluster else None,
            "route_name": ex.route.name if ex.route else None,
            "x_request_id": ex.request_id.decode("latin-1") or None,
            "trace_id": ex.trace_id or None,
            "user_agent": user_agent.decode("latin-1") if user_agent else None,
            "downstream_remote_address": ex.client_address,
            "source_workload": source[0],
            "source_namespace": source[1],
            "destination_workload": destination[0],
            "destination_namespace": destination[1],
            "notes": _notes(ex.extra),
        }
