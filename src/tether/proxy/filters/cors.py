"""CORS (VirtualService ``corsPolicy``), as Envoy's CORS filter applies it.

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from an
allowed origin is answered here with 200 and the policy's allow headers; from any other
origin it goes on to the upstream untouched. Any other request from an allowed origin
gets ``Access-Control-Allow-Origin`` (and ``-Credentials``, ``-Expose-Headers`` when the
policy sets them) on its response, local error answers included; from an origin that is
not allowed, nothing is added.
An allow-origin entry ``exact: "*"`` allows every origin.
"""

from __future__ import annotations

from tether.core.schema.snapshot import CorsPolicy
from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.http1 import Headers
from tether.proxy.errors import ProxyError
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.compiled import PolicyCache
from tether.proxy.rescue import error_response
from tether.proxy.routing import Predicate, RouteEntry, string_predicate

ALLOW_ORIGIN = b"access-control-allow-origin"
ALLOW_CREDENTIALS = b"access-control-allow-credentials"
ALLOW_METHODS = b"access-control-allow-methods"
ALLOW_HEADERS = b"access-control-allow-headers"
EXPOSE_HEADERS = b"access-control-expose-headers"
MAX_AGE = b"access-control-max-age"


class CompiledCors:
    """One CorsPolicy, compiled once: origin tests and the header values it sends."""

    def __init__(self, policy: CorsPolicy) -> None:
        self.any_origin = any(m.exact == "*" for m in policy.allow_origins)
        self.origin_tests: tuple[Predicate, ...] = tuple(string_predicate(m) for m in policy.allow_origins)
        self.credentials = policy.allow_credentials
        self.methods = ",".join(policy.allow_methods).encode()
        self.headers = ",".join(policy.allow_headers).encode()
        self.expose = ",".join(policy.expose_headers).encode()
        self.max_age = str(policy.max_age_s).encode() if policy.max_age_s is not None else b""

    def allows(self, origin: str) -> bool:
        """Return whether ``origin`` is allowed (an empty allow list allows nothing)."""
        return self.any_origin or any(test(origin) for test in self.origin_tests)

    def preflight_response(self, origin: bytes) -> Response:
        """Return the 200 answer to an allowed preflight from ``origin``."""
        headers = Headers([(ALLOW_ORIGIN, origin)])
        if self.credentials:
            headers.add(ALLOW_CREDENTIALS, b"true")
        if self.methods:
            headers.add(ALLOW_METHODS, self.methods)
        if self.headers:
            headers.add(ALLOW_HEADERS, self.headers)
        if self.max_age:
            headers.add(MAX_AGE, self.max_age)
        headers.add(b"content-length", b"0")
        return Response(200, headers, b"")

    def decorate(self, headers: Headers, origin: bytes) -> None:
        """Add the allow headers for an allowed actual request to response ``headers``."""
        headers.set(ALLOW_ORIGIN, origin)
        if self.credentials:
            headers.set(ALLOW_CREDENTIALS, b"true")
        if self.expose:
            headers.set(EXPOSE_HEADERS, self.expose)


def is_preflight(ex: Exchange) -> bool:
    """Return whether ``ex`` is a CORS preflight request."""
    return (
        ex.method == b"OPTIONS"
        and bool(ex.headers.get(b"origin"))
        and bool(ex.headers.get(b"access-control-request-method"))
    )


class Cors(Filter):
    """Applies the route's CORS policy; exchanges without a policy or an Origin pass through."""

    name = "cors"

    def applies(self, route: RouteEntry) -> bool:
        return route.spec.cors is not None

    def __init__(self) -> None:
        self.compiled = PolicyCache[CorsPolicy, CompiledCors](CompiledCors)  # until the next snapshot

    def on_snapshot(self) -> None:
        self.compiled.clear()

    def wrap(self, next_handler: Handler) -> Handler:
        async def cors(ex: Exchange) -> Response:
            route = ex.route
            policy = route.spec.cors if route is not None else None
            origin = ex.headers.get(b"origin") if policy is not None else None
            if policy is None or not origin:
                return await next_handler(ex)
            compiled = self.compiled(policy)
            if not compiled.allows(origin.decode("latin-1")):
                return await next_handler(ex)
            if is_preflight(ex):
                return compiled.preflight_response(origin)
            try:
                response = await next_handler(ex)
            except ProxyError as error:
                # A local error answer (503 UF, 429 RL...) must be readable by the page too.
                response = error_response(ex, error)
            compiled.decorate(response.headers, origin)
            return response

        return cors
