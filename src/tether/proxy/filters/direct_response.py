"""Routes that answer by themselves: VirtualService ``redirect`` and ``directResponse``.

A redirect answers with its status (301 unless ``redirectCode`` says otherwise) and a
``Location`` built from the request, replacing the parts the redirect names: ``uri``
replaces the whole path (the request's query string stays unless the new uri carries its
own), ``authority`` the host, ``port`` the port, ``scheme`` the scheme. A direct response
answers with its status and body. Neither reaches an upstream, so nothing below this
layer runs for them; the route's response header ops still apply, as in Envoy.
"""

from __future__ import annotations

from tether.core.schema.snapshot import DirectResponse, HeaderOps, Redirect
from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.compiled import PolicyCache
from tether.proxy.filters.header_ops import CompiledOps
from tether.proxy.routing import RouteEntry

DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_host(authority: str) -> tuple[str, int | None]:
    """Return ``(host, port)`` of an authority (port None when absent; IPv6 literals kept)."""
    host, sep, port = authority.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return authority, None


def redirect_location(redirect: Redirect, scheme: str, authority: str, path: str) -> str:
    """Return the ``Location`` a redirect sends for a request with these parts.

    When the scheme changes and the request named the old scheme's default port, the port
    is dropped, so ``http://a:80/x`` redirected to https becomes ``https://a/x``.
    """
    new_scheme = redirect.scheme or scheme
    host, port = _split_host(redirect.authority or authority)
    if redirect.port is not None:
        port = redirect.port
    elif port is not None and new_scheme != scheme and port == DEFAULT_PORTS.get(scheme):
        port = None
    netloc = host if port is None else f"{host}:{port}"
    if redirect.uri is not None:
        _, _, query = path.partition("?")
        new_path = redirect.uri
        if "?" not in new_path and query:
            new_path = f"{new_path}?{query}"
    else:
        new_path = path
    if not new_path.startswith("/"):
        new_path = "/" + new_path
    return f"{new_scheme}://{netloc}{new_path}"


def redirect_response(redirect: Redirect, ex: Exchange) -> Response:
    """Return the redirect answer for ``ex`` (an empty body with ``Location``)."""
    location = redirect_location(
        redirect, ex.scheme.decode("latin-1"), ex.authority.decode("latin-1"), ex.path.decode("latin-1")
    )
    headers = Headers([(b"location", location.encode("latin-1")), (b"content-length", b"0")])
    return Response(redirect.status, headers, b"")


def direct_response(spec: DirectResponse) -> Response:
    """Return the fixed answer of a ``directResponse`` route (text/plain when it has a body)."""
    body = spec.body.encode()
    headers = Headers()
    if body:
        headers.add(b"content-type", b"text/plain")
    headers.add(b"content-length", str(len(body)).encode())
    return Response(spec.status, headers, body)


class DirectResponseFilter(Filter):
    """Answers redirect and direct-response routes; passes every other exchange down."""

    name = "direct_response"

    def __init__(self) -> None:
        self.compiled = PolicyCache[HeaderOps, CompiledOps](CompiledOps)  # until the next snapshot

    def on_snapshot(self) -> None:
        self.compiled.clear()

    def applies(self, route: RouteEntry) -> bool:
        return route.spec.redirect is not None or route.spec.direct_response is not None

    def wrap(self, next_handler: Handler) -> Handler:
        async def answer(ex: Exchange) -> Response:
            route = ex.route
            if route is None or (route.spec.redirect is None and route.spec.direct_response is None):
                return await next_handler(ex)
            spec = route.spec
            if spec.redirect is not None:
                response = redirect_response(spec.redirect, ex)
            else:
                assert spec.direct_response is not None
                response = direct_response(spec.direct_response)
            if spec.response_headers is not None:
                self.compiled(spec.response_headers).apply(response.headers)
            return response

        return answer
