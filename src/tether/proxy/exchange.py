"""One request/response exchange as it moves through a filter chain.

A single ``Exchange`` object carries the request, the facts gathered on the way
(route, cluster, upstream host, response flags, trace ids) and, once answered, the
response sizes; filters read and write it and completion hooks report it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tether.proxy.codec.body import Body
from tether.proxy.codec.http1 import Headers

if TYPE_CHECKING:
    from tether.proxy.routing import RouteEntry
    from tether.proxy.upstream.cluster import ClusterRuntime, EndpointRuntime


class Response:
    """A response to send downstream: status, headers and a body (bytes or a stream)."""

    __slots__ = ("body", "headers", "reason", "status", "upstream")

    def __init__(
        self,
        status: int,
        headers: Headers | None = None,
        body: Body | bytes = b"",
        reason: bytes = b"",
    ) -> None:
        self.status = status
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.reason = reason
        self.upstream: Any = None  # the upstream connection to release when the body is done


class Exchange:
    """The request and everything learned about it; one allocation per request."""

    __slots__ = (
        "authority",
        "body",
        "bytes_sent",
        "client_address",
        "cluster",
        "direction",
        "end_mono",
        "endpoint",
        "extra",
        "flags",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "original_path",
        "path",
        "peer",
        "request_id",
        "route",
        "scheme",
        "span_id",
        "start_mono",
        "start_wall",
        "status",
        "target",
        "trace_id",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: Headers,
        body: Body,
        http_version: str,
        client_address: str,
        start_mono: float,
        start_wall: float,
        direction: str,
    ) -> None:
        self.method = method
        self.target = target
        self.path = target
        self.original_path: bytes | None = None  # set when a route rewrites the path
        self.authority = b""
        self.scheme = b"http"
        self.headers = headers
        self.body = body
        self.http_version = http_version
        self.client_address = client_address
        self.start_mono = start_mono
        self.start_wall = start_wall
        self.end_mono = start_mono
        self.direction = direction
        self.keep_alive = True
        self.route: RouteEntry | None = None
        self.cluster: ClusterRuntime | None = None
        self.endpoint: EndpointRuntime | None = None
        self.flags: list[str] | None = None
        self.status = 0
        self.bytes_sent = 0
        self.request_id = b""
        self.trace_id = ""
        self.span_id = ""
        self.peer: tuple[str, str, str, str] | None = None
        self.extra: dict[str, Any] | None = None

    def add_flag(self, flag: str) -> None:
        """Record an Envoy response flag (``UF``, ``NR``...) for metrics and the access log."""
        if self.flags is None:
            self.flags = [flag]
        elif flag not in self.flags:
            self.flags.append(flag)

    @property
    def response_flags(self) -> str:
        """Return the flags joined by commas, or ``-`` when there are none (Envoy's format)."""
        return ",".join(self.flags) if self.flags else "-"
