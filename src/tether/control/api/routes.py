"""The control API: HTTP paths onto ``ControlPlane`` operations.

Reads are open on loopback; ``apply`` and ``delete`` (and reads from a non-loopback
peer) need ``Authorization: Bearer <admin token>``. The proxies' own endpoints
(register, watch, ack, telemetry push, CSR, JWKS refresh) take the proxy's join token
instead, required from a non-loopback peer (``tether.control.api.proxy_access``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from tether.control.analyze import analyze
from tether.control.api.http import Handler, HttpError, Request, Response, StreamResponse
from tether.control.api.http import json_response as ok
from tether.control.api.kinds import info_for, resolve_kind
from tether.control.api.proxy_access import check_proxy_call, is_loopback
from tether.control.model import Resource, ResourceErrors, parse_documents
from tether.control.registry import UnknownProxy
from tether.control.store import Key
from tether.control.world import World
from tether.core.errors import UsageError
from tether.core.identity import ProxyNode

if TYPE_CHECKING:
    from tether.control.server import ControlPlane

Route = Callable[["ControlPlane", Request, re.Match[str]], Awaitable[Response | StreamResponse]]
# access: "admin" (token always), "read" (token unless the peer is loopback), "proxy"
# (the proxies' own endpoints: their join token, see proxy_access).
_ROUTES: list[tuple[str, re.Pattern[str], Route, str]] = []
# Proxy endpoints declared in other modules with the default access: proxies call them too,
# with their join token rather than the admin token.
PROXY_CALLS = frozenset({("POST", r"/v1/telemetry/push"), ("POST", r"/v1/jwks/refresh")})


def route(method: str, pattern: str, *, access: str = "read") -> Callable[[Route], Route]:
    if (method, pattern) in PROXY_CALLS:
        access = "proxy"

    def add(func: Route) -> Route:
        _ROUTES.append((method, re.compile(pattern + "$"), func, access))
        return func

    return add


def make_handler(plane: ControlPlane) -> Handler:
    """Return the request handler serving ``plane``."""

    async def handle(request: Request) -> Response | StreamResponse:
        allowed: list[str] = []
        for method, pattern, func, access in _ROUTES:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            if access == "proxy":
                check_proxy_call(plane, request)
            elif access == "admin" or not is_loopback(request.peer):
                _require_token(plane, request)
            return await func(plane, request, match)
        if allowed:
            raise HttpError(405, f"{request.method} not allowed on {request.path}")
        if plane.fallback is not None:  # e.g. the dashboard, sharing the port
            return await plane.fallback(request)
        raise HttpError(404, f"no such endpoint {request.path}")

    return handle


def _require_token(plane: ControlPlane, request: Request) -> None:
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), plane.token.encode()):
        raise HttpError(
            401, "this needs the admin token (Authorization: Bearer <data>/admin.token)"
        )


def _files(request: Request) -> list[tuple[str, str]]:
    body = request.json()
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("text"), str) for f in files
    ):
        raise HttpError(400, 'expected {"files": [{"source": NAME, "text": YAML}, ...]}')
    return [(str(f.get("source") or "request"), f["text"]) for f in files]


def parse_files(files: list[tuple[str, str]]) -> tuple[list[Resource], list[str]]:
    """Parse every file; return ``(resources, warnings)``.

    Raises HttpError(422) listing every error of every file.
    """
    resources: list[Resource] = []
    warnings: list[str] = []
    errors: list[str] = []
    for source, text in files:
        try:
            result = parse_documents(text, source)
        except ResourceErrors as exc:
            errors.extend(str(e) for e in exc.errors)
            continue
        resources.extend(result.resources)
        warnings.extend(str(w) for w in result.warnings)
    if errors:
        raise HttpError(422, "nothing was applied: the input has errors", errors=errors)
    return resources, warnings


def _findings(world: World) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(f) for f in analyze(world)]


@route("GET", r"/v1/health")
async def health(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    return ok({
        "status": "ok",
        "store": "ok" if plane.store.healthy() else "failing",
        "revision": plane.store.revision,
        "time": plane.clock.wall(),
        "proxies": len(plane.registry),
        "resources": len(plane.resources),
    })


@route("GET", r"/v1/resources")
async def list_resources(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    kind = request.query.get("kind")
    try:
        kind = resolve_kind(kind).kind if kind else None
    except UsageError as exc:
        raise HttpError(400, str(exc)) from None
    items = plane.store.list(kind=kind, namespace=request.query.get("namespace"))
    return ok({"revision": plane.store.revision, "items": [msgspec.to_builtins(o) for o in items]})


@route("GET", r"/v1/resources/([^/]+)/([^/]+)/([^/]+)")
async def get_resource(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    try:
        kind = resolve_kind(m[1]).kind
    except UsageError as exc:
        raise HttpError(400, str(exc)) from None
    obj = plane.store.get((kind, m[2], m[3]))
    if obj is None:
        raise HttpError(404, f"{info_for(kind).qualified} {m[3]!r} not found in namespace {m[2]}")
    return ok(msgspec.to_builtins(obj))


@route("POST", r"/v1/apply", access="admin")
async def apply(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    resources, warnings = parse_files(_files(request))
    dry_run = bool(request.json().get("dry_run"))
    if dry_run:
        outcomes = []
        for r in resources:
            old = plane.store.get(r.key)
            outcomes.append("created" if old is None else "configured (dry run)")
        revision = plane.store.revision
    else:
        result = plane.apply(resources)
        await plane.hub.flush()
        outcomes = [c.outcome for c in result.changes]
        revision = result.revision
    results = [
        {"kind": r.kind, "namespace": r.namespace, "name": r.name, "apiVersion": r.api_version,
         "qualified": info_for(r.kind).qualified, "outcome": outcome}
        for r, outcome in zip(resources, outcomes, strict=True)
    ]
    touched = {r.key for r in resources}
    findings = [f for f in _findings(plane.world()) if tuple(f["resource"]) in touched]
    return ok(
        {"revision": revision, "results": results, "warnings": warnings, "findings": findings}
    )


@route("POST", r"/v1/delete", access="admin")
async def delete(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    body = request.json()
    keys: list[Key] = []
    if isinstance(body, dict) and "files" in body:
        resources, _ = parse_files(_files(request))
        keys = [r.key for r in resources]
    elif isinstance(body, dict) and isinstance(body.get("keys"), list):
        try:
            keys = [(resolve_kind(str(k)).kind, str(ns), str(n)) for k, ns, n in body["keys"]]
        except (UsageError, ValueError, TypeError) as exc:
            raise HttpError(400, f"bad keys: {exc}") from None
    else:
        raise HttpError(400, 'expected {"keys": [[KIND, NAMESPACE, NAME], ...]} or {"files": ...}')
    result = plane.delete(keys)
    await plane.hub.flush()
    results = [
        {"kind": c.kind, "namespace": c.namespace, "name": c.name,
         "qualified": info_for(c.kind).qualified, "outcome": c.outcome}
        for c in result.changes
    ]
    return ok({"revision": result.revision, "results": results})


@route("GET", r"/v1/analyze")
async def analyze_live(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    return ok({"findings": _findings(plane.world())})


@route("POST", r"/v1/analyze")
async def analyze_merged(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    resources, warnings = parse_files(_files(request))
    live = plane.world()
    merged = {r.key: r for r in live.resources}
    merged.update((r.key, r) for r in resources)
    world = World(resources=tuple(merged[k] for k in sorted(merged)), workloads=live.workloads)
    return ok({"findings": _findings(world), "warnings": warnings})


@route("GET", r"/v1/workloads")
async def workloads(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    return ok({"workloads": [msgspec.to_builtins(w) for w in plane.world().workloads]})


@route("GET", r"/v1/proxies")
async def proxies(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    items = []
    for rec in plane.registry.records():
        item = msgspec.to_builtins(rec)
        item["status"] = rec.status
        items.append(item)
    return ok({"time": plane.clock.wall(), "proxies": items})


class _Registration(msgspec.Struct, frozen=True):
    node: ProxyNode
    inbound: str


@route("POST", r"/v1/proxies/register", access="proxy")
async def register(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    try:
        reg = msgspec.json.decode(request.body, type=_Registration)
        address, _, port = reg.inbound.rpartition(":")
        port_number = int(port)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
        raise HttpError(
            400, f'expected {{"node": {{...}}, "inbound": "ip:port"}}: {exc}'
        ) from None
    proxy_id = plane.register(reg.node, address.strip("[]"), port_number)
    return ok({"id": proxy_id, "heartbeat_interval": plane.heartbeat_interval})


@route("GET", r"/v1/proxies/([^/]+)/watch", access="proxy")
async def watch(plane: ControlPlane, request: Request, m: re.Match[str]) -> StreamResponse:
    try:
        produce, on_close = plane.hub.open_stream(m[1], request.query.get("version", ""))
    except UnknownProxy as exc:
        raise HttpError(404, str(exc)) from None
    return StreamResponse(produce, on_close=on_close)


@route("POST", r"/v1/proxies/([^/]+)/ack", access="proxy")
async def ack(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("version"), str):
        raise HttpError(400, 'expected {"version": V, "ok": true|false, "error": "..."}')
    try:
        plane.registry.ack(m[1], body["version"], bool(body.get("ok")), str(body.get("error", "")))
    except UnknownProxy as exc:
        raise HttpError(404, str(exc)) from None
    return ok({"ok": True})
