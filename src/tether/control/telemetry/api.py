"""The telemetry endpoints of the control API (registered on import, see ``__init__``).

``POST /v1/telemetry/push`` takes proxies' pushes; ``GET /v1/telemetry/stat``,
``/routes``, ``/edges``, ``/traces``, ``/traces/{id}`` answer JSON; ``GET
/v1/telemetry/tap`` streams matching request summaries as NDJSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, Any

import msgspec

from tether.control.api.http import ChunkWriter, HttpError, Request, Response, StreamResponse
from tether.control.api.http import json_response as ok
from tether.control.api.routes import route
from tether.control.telemetry.tap import TapFilter
from tether.control.telemetry.traces import trace_json
from tether.control.telemetry.views import edge_rows, route_rows, stat_rows
from tether.control.telemetry.windows import Totals
from tether.core.errors import UsageError
from tether.proxy.telemetry.wire import EdgeKey, Push

if TYPE_CHECKING:
    from tether.control.server import ControlPlane

TAP_KEEPALIVE = 2.0
_decode_push = msgspec.json.Decoder(Push).decode
_encode = msgspec.json.Encoder().encode


def _window(plane: ControlPlane, request: Request) -> tuple[str, float, dict[EdgeKey, Totals]]:
    name = request.query.get("window", "1m")
    try:
        seconds, data = plane.telemetry.totals(name)
    except UsageError as exc:
        raise HttpError(400, str(exc)) from None
    return name, seconds, data


def _answer(plane: ControlPlane, window: str, **body: Any) -> Response:
    return ok({"window": window, "time": plane.clock.wall(), **body})


@route("POST", r"/v1/telemetry/push")
async def push(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    try:
        data = _decode_push(request.body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise HttpError(400, f"expected a telemetry push: {exc}") from None
    plane.telemetry.ingest(data)
    return ok({"ok": True})


@route("GET", r"/v1/telemetry/stat")
async def stat(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    window, seconds, data = _window(plane, request)
    by = request.query.get("kind", "workload")
    if by not in ("workload", "service"):
        raise HttpError(400, f"kind must be workload or service, got {by!r}")
    rows = stat_rows(data, seconds, by=by, name=request.query.get("name") or None,
                     namespace=request.query.get("namespace") or None)
    return _answer(plane, window, kind=by, rows=rows)


@route("GET", r"/v1/telemetry/routes")
async def routes(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    service = request.query.get("service")
    if not service:
        raise HttpError(400, "routes needs ?service=NAME")
    window, seconds, data = _window(plane, request)
    return _answer(plane, window, service=service, rows=route_rows(data, seconds, service))


@route("GET", r"/v1/telemetry/edges")
async def edges(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    window, seconds, data = _window(plane, request)
    rows = edge_rows(data, seconds, request.query.get("namespace") or None)
    return _answer(plane, window, rows=rows)


@route("GET", r"/v1/telemetry/traces")
async def traces(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "50"))))
    except ValueError:
        raise HttpError(400, "limit must be an integer") from None
    items = plane.telemetry.traces.summaries(request.query.get("service") or None, limit)
    return ok({"time": plane.clock.wall(), "traces": items})


@route("GET", r"/v1/telemetry/traces/([0-9a-fA-F]{1,32})")
async def trace(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    trace_id = m[1].lower().rjust(32, "0")
    spans = plane.telemetry.traces.trace(trace_id)
    if spans is None:
        raise HttpError(404, f"trace {trace_id} is not in the store (it keeps the most recent sampled traces)")
    return ok(trace_json(trace_id, spans))


@route("GET", r"/v1/telemetry/tap")
async def tap(plane: ControlPlane, request: Request, m: re.Match[str]) -> StreamResponse:
    q = request.query
    flt = TapFilter(service=q.get("service") or None, path=q.get("path") or None,
                    method=q.get("method") or None, status=q.get("status") or None)
    hub = plane.telemetry.tap
    sub = hub.subscribe(flt)

    async def produce(out: ChunkWriter) -> None:
        await out.send(b"\n")  # the stream is open: tells the client its filter was accepted
        while True:
            try:
                item = await asyncio.wait_for(sub.queue.get(), TAP_KEEPALIVE)
            except TimeoutError:
                await out.send(b"\n")
                continue
            lines = [_encode(item)]
            with contextlib.suppress(asyncio.QueueEmpty):
                while len(lines) < 100:
                    lines.append(_encode(sub.queue.get_nowait()))
            await out.send(b"\n".join(lines) + b"\n")

    return StreamResponse(produce, on_close=lambda: hub.unsubscribe(sub))
