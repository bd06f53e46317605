"""The outbound stack: requests from the local app to the mesh. Order is written once, here."""

from __future__ import annotations

from tether.proxy.chain import Completion, Filter, Handler, completion, compose, per_route
from tether.proxy.filters.access_log import AccessLog
from tether.proxy.filters.circuit_breaker import CircuitBreaker
from tether.proxy.filters.cors import Cors
from tether.proxy.filters.direct_response import DirectResponseFilter
from tether.proxy.filters.fault import FaultInjection
from tether.proxy.filters.header_ops import HeaderOpsFilter
from tether.proxy.filters.metrics import IstioMetrics
from tether.proxy.filters.mirror import Mirror
from tether.proxy.filters.peer_metadata import StampPeer
from tether.proxy.filters.ratelimit import LocalRateLimit
from tether.proxy.filters.retry import Retry
from tether.proxy.filters.router import OutboundRouter
from tether.proxy.filters.timeout import RouteTimeout
from tether.proxy.filters.tracing import Tracing
from tether.proxy.rescue import Rescue
from tether.proxy.stack import StackContext
from tether.proxy.telemetry.hook import TelemetryHook
from tether.proxy.upstream.forward import forward


def outbound_filters(ctx: StackContext) -> list[Filter]:
    """Return the outbound filters, outermost first."""
    return [
        # Outermost: logs every exchange, including those answered by layers below.
        AccessLog(ctx.node, ctx.access_log),
        # Beside the log and for the same reason: counts what the app actually saw.
        IstioMetrics(ctx.node, "source", ctx.request_series),
        # Beside the metrics, same view: edge counts, spans and tap lines for the control plane.
        TelemetryHook(ctx.node, "source", ctx.telemetry),
        # Ids exist before any decision, so a 404 from the router carries them too.
        Tracing(ctx.rng, ctx.trace_sample_rate),
        # Every typed error raised below becomes a response with its flag here.
        Rescue(),
        # Chooses virtual host, route and cluster (404 NR); later policies need the route.
        OutboundRouter(ctx.table, ctx.rng),
        # -- route policies, in this order (issue 4; each line added with its module):
        # redirect / direct response: a route that answers itself needs nothing below.
        DirectResponseFilter(),
        # cors: preflights are answered here, before limits and faults count them.
        Cors(),
        # ratelimit: refuse (429 RL) before spending anything on the request.
        LocalRateLimit(ctx.table, ctx.clock),
        # fault: injected aborts/delays stand in for the upstream, so they precede mirror.
        FaultInjection(ctx.rng),
        # header_ops: the mirror and every attempt carry the rewritten headers.
        HeaderOpsFilter(),
        # mirror: the shadow copy leaves once, not once per retry; copies skip retries and
        # breakers and go straight to the wire (stamped, so the shadow's sidecar knows the caller).
        Mirror(ctx.table, ctx.rng, compose([StampPeer(ctx.node)], forward), tasks=ctx.tasks),
        # timeout: one deadline over all attempts.
        RouteTimeout(),
        # retry: each attempt below runs again, with a fresh body copy.
        Retry(ctx.rng),
        # circuit_breaker: every attempt is admitted (or refused UO) on its own.
        CircuitBreaker(),
        # Last before the wire: tells the destination sidecar who is calling.
        StampPeer(ctx.node),
    ]


def build_outbound(ctx: StackContext) -> tuple[list[Filter], Handler, Completion]:
    """Return the filters, the composed handler and the completion callback.

    The filters below the router run per route: each route's chain holds only the policies
    it configures, so a policy nobody set costs a request nothing.
    """
    filters = outbound_filters(ctx)
    below = next(i for i, f in enumerate(filters) if isinstance(f, OutboundRouter)) + 1
    handler = compose(filters[:below], per_route(filters[below:], forward))
    return filters, handler, completion(filters)
