"""The one place where typed proxy errors become responses with response flags."""

from __future__ import annotations

from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.http1 import Headers
from tether.proxy.errors import ProxyError
from tether.proxy.exchange import Exchange, Response


def error_response(ex: Exchange, error: ProxyError) -> Response:
    """Record ``error``'s flag on ``ex`` and return the plain-text response that reports it."""
    ex.add_flag(error.flag)
    body = error.detail.encode()
    headers = Headers([(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())])
    return Response(error.status, headers, body)


class Rescue(Filter):
    """Catches every ProxyError raised below it; filters above only ever see responses."""

    name = "rescue"

    def wrap(self, next_handler: Handler) -> Handler:
        async def rescue(ex: Exchange) -> Response:
            try:
                return await next_handler(ex)
            except ProxyError as error:
                return error_response(ex, error)

        return rescue
