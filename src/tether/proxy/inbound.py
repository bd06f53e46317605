"""The inbound stack: requests from the mesh to the local app. Order is written once, here."""

from __future__ import annotations

from tether.proxy.chain import Completion, Filter, Handler, completion, compose
from tether.proxy.filters.access_log import AccessLog
from tether.proxy.filters.authz import Authorization
from tether.proxy.filters.jwt import JwtAuthn
from tether.proxy.filters.metrics import IstioMetrics
from tether.proxy.filters.peer_metadata import ReadPeer
from tether.proxy.filters.router import InboundRouter
from tether.proxy.filters.tracing import Tracing
from tether.proxy.rescue import Rescue
from tether.proxy.stack import StackContext
from tether.proxy.telemetry.hook import TelemetryHook
from tether.proxy.upstream.forward import forward


def inbound_filters(ctx: StackContext) -> list[Filter]:
    """Return the inbound filters, outermost first."""
    return [
        # Outermost: logs every exchange, including those refused by layers below.
        AccessLog(ctx.node, ctx.access_log),
        # Beside the log: the destination reporter's view of every request.
        IstioMetrics(ctx.node, "destination", ctx.request_series),
        # Beside the metrics, same view: edge counts, spans and tap lines for the control plane.
        TelemetryHook(ctx.node, "destination", ctx.telemetry),
        # Learn (and hide) the caller's identity first, so logs and metrics name it.
        ReadPeer(),
        # Ids exist before any decision below.
        Tracing(ctx.rng, ctx.trace_sample_rate),
        # Every typed error raised below becomes a response with its flag here.
        Rescue(),
        # JWT before authorization: policies on requestPrincipals and claims need the verified token.
        # Both after Rescue and tracing, so their 401/403 answers are logged, counted and traced.
        JwtAuthn(ctx.table),
        # Authorization last before the router: only allowed requests reach the app.
        Authorization(ctx.table, ctx.local_app),
        # Everything inbound goes to the local app.
        InboundRouter(ctx.local_app),
    ]


def build_inbound(ctx: StackContext) -> tuple[list[Filter], Handler, Completion]:
    """Return the filters, the composed handler and the completion callback."""
    filters = inbound_filters(ctx)
    handler, complete = compose(filters, forward), completion(filters)
    return filters, handler, complete
