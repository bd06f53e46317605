"""Typed calls of the control plane's telemetry API (``/v1/telemetry/...``), for the CLI and
the dashboard: golden metrics per workload, service or route, edges, traces, and the tap stream.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Generator, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import msgspec

from tether.client.http import ApiError, ControlClient, ControlUnreachable
from tether.proxy.telemetry.wire import RequestSummary, SpanRecord

T = TypeVar("T")


class Latency(msgspec.Struct, frozen=True, kw_only=True):
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class Golden(msgspec.Struct, frozen=True, kw_only=True):
    """The golden metrics every row carries."""

    requests: int
    failures: int = 0
    success_rate: float | None = None
    rps: float = 0.0
    latency_ms: Latency = Latency()
    codes: dict[str, int] = {}
    flags: dict[str, int] = {}
    request_bytes: int = 0
    response_bytes: int = 0
    reporter: str = ""


class StatRow(Golden, frozen=True, kw_only=True):
    namespace: str
    name: str


class RouteRow(Golden, frozen=True, kw_only=True):
    route: str
    service: str


class EdgeRow(Golden, frozen=True, kw_only=True):
    source: str
    source_namespace: str
    destination: str
    destination_namespace: str
    client_id: str
    server_id: str


class StatAnswer(msgspec.Struct, frozen=True, kw_only=True):
    window: str
    time: float
    rows: tuple[StatRow, ...]
    kind: str = "workload"


class RoutesAnswer(msgspec.Struct, frozen=True, kw_only=True):
    window: str
    time: float
    service: str
    rows: tuple[RouteRow, ...]


class EdgesAnswer(msgspec.Struct, frozen=True, kw_only=True):
    window: str
    time: float
    rows: tuple[EdgeRow, ...]


class TraceSummary(msgspec.Struct, frozen=True, kw_only=True):
    trace_id: str
    root: str
    root_service: str
    services: tuple[str, ...]
    spans: int
    start_ns: int
    duration_ms: float
    errors: int = 0


class TraceList(msgspec.Struct, frozen=True, kw_only=True):
    time: float
    traces: tuple[TraceSummary, ...]


class Trace(TraceSummary, frozen=True, kw_only=True):
    span_list: tuple[SpanRecord, ...]


def _path(base: str, **query: str | None) -> str:
    given = {k: v for k, v in query.items() if v}
    return base + (f"?{urlencode(given)}" if given else "")


class TelemetryClient:
    """The telemetry calls over a ControlClient (same URL, token and timeout)."""

    def __init__(self, client: ControlClient) -> None:
        self.client = client

    def _typed(self, typ: type[T], path: str) -> T:
        try:
            return msgspec.convert(self.client.request("GET", path), typ)
        except msgspec.ValidationError as exc:
            raise ApiError(200, f"unexpected answer from {path}: {exc}") from None

    def stat(self, kind: str = "workload", name: str | None = None, namespace: str | None = None,
             window: str = "1m") -> StatAnswer:
        """Return golden metrics per workload or service; raises ControlUnreachable / ApiError."""
        path = _path("/v1/telemetry/stat", kind=kind, name=name, namespace=namespace, window=window)
        return self._typed(StatAnswer, path)

    def routes(self, service: str, window: str = "1m") -> RoutesAnswer:
        """Return golden metrics per route of ``service``."""
        return self._typed(RoutesAnswer, _path("/v1/telemetry/routes", service=service, window=window))

    def edges(self, namespace: str | None = None, window: str = "1m") -> EdgesAnswer:
        """Return who talks to whom, with both identities and golden metrics."""
        return self._typed(EdgesAnswer, _path("/v1/telemetry/edges", namespace=namespace, window=window))

    def traces(self, service: str | None = None, limit: int = 50) -> TraceList:
        """Return the newest sampled traces (optionally touching ``service``)."""
        return self._typed(TraceList, _path("/v1/telemetry/traces", service=service, limit=str(limit)))

    def trace(self, trace_id: str) -> Trace:
        """Return one trace with its spans; raises ApiError(404) when the store lacks it."""
        return self._typed(Trace, "/v1/telemetry/traces/" + quote(trace_id, safe=""))

    def tap(self, service: str | None = None, path: str | None = None, method: str | None = None,
            status: str | None = None, idle_timeout: float = 30.0) -> Generator[RequestSummary, None, None]:
        """Yield matching request summaries as they arrive, until the caller stops iterating.

        Raises ControlUnreachable when the connection fails or goes silent for
        ``idle_timeout`` seconds (the server sends a keep-alive line every few), ApiError
        on an error status.
        """
        url = _path("/v1/telemetry/tap", service=service, path=path, method=method, status=status)
        c = self.client
        conn = c.connection(idle_timeout)
        headers = {"Accept": "application/x-ndjson"}
        if c.token:
            headers["Authorization"] = f"Bearer {c.token}"
        try:
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise c.unreachable(exc) from None
            if response.status >= 400:
                raise _error(response.status, response.read())
            yield from _lines(response, c.url)
        finally:
            conn.close()


def _error(status: int, raw: bytes) -> ApiError:
    try:
        answer: Any = json.loads(raw)
    except ValueError:
        answer = None
    message = answer.get("error") if isinstance(answer, dict) else None
    return ApiError(status, str(message or f"HTTP {status}"))


def _lines(response: http.client.HTTPResponse, url: str) -> Iterator[RequestSummary]:
    decode = msgspec.json.Decoder(RequestSummary).decode
    while True:
        try:
            line = response.readline()
        except (OSError, http.client.HTTPException) as exc:
            raise ControlUnreachable(f"the tap stream from {url} broke ({exc})") from None
        if not line:
            raise ControlUnreachable(f"the control plane at {url} closed the tap stream")
        line = line.strip()
        if not line:
            continue  # keep-alive
        try:
            yield decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ApiError(200, f"unexpected tap line: {exc}") from None
