"""A tiny web toolkit for the demo services: request/response values, a router, and the
adapter that plugs an app into ``http.server``.

The services are plain standard-library programs on purpose: the book's point is that a
mesh needs no code in the application, so nothing here knows about Tether.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_BODY = 1 << 20
"""Largest request body the demo services read (1 MiB); more gets 413."""


@dataclass(frozen=True)
class Request:
    """One HTTP request as the apps see it. Header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """Return the URL-encoded form fields of the body (first value of each name wins)."""
        fields: dict[str, str] = {}
        for name, value in parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(name, value)
        return fields

    def json(self) -> Any:
        """Return the body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def wants_json(self) -> bool:
        """Return True when the client asked for JSON in ``Accept`` (tests, scripts, the demo)."""
        return "application/json" in self.headers.get("accept", "")

    def sends_json(self) -> bool:
        """Return True when the body is declared as JSON in ``Content-Type``."""
        return "application/json" in self.headers.get("content-type", "")


@dataclass(frozen=True)
class Response:
    """One HTTP response: status, extra headers and a complete body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def html(text: str, status: int = 200) -> Response:
    """Return an HTML response."""
    return Response(status, text.encode("utf-8"), (("Content-Type", "text/html; charset=utf-8"),))


def json_response(value: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """Return a JSON response with ``value`` encoded compactly."""
    body = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return Response(status, body, (("Content-Type", "application/json"), *headers))


def text(message: str, status: int = 200) -> Response:
    """Return a plain-text response (one line plus a newline)."""
    return Response(status, (message + "\n").encode("utf-8"), (("Content-Type", "text/plain; charset=utf-8"),))


def record_response(record: dict[str, Any] | None, missing: str,
                    page: Callable[[dict[str, Any]], str] | None = None) -> Response:
    """Return ``record`` as a page (``page`` makes its HTML) or, without ``page``, as JSON;
    404 ``missing`` (JSON ``{"error": ...}`` or text, the same way) when it is None."""
    if page is None:
        return json_response({"error": missing}, 404) if record is None else json_response(record)
    return text(missing, 404) if record is None else html(page(record))


def redirect(location: str) -> Response:
    """Return a 303 See Other to ``location``.

    Locations are relative (``./``, ``3``) so they resolve under the gateway's prefix
    (``/order/``) as well as on the service's own port.
    """
    return Response(303, b"", (("Location", location),))


Handler = Callable[[Request, "re.Match[str]"], Response]
App = Callable[[Request], Response]


class Router:
    """Maps (method, path regex) to handlers; the first full match wins."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` on paths fully matching ``pattern``."""
        self._routes.append((method, re.compile(pattern), handler))

    def __call__(self, request: Request) -> Response:
        """Return the handler's response, 404 for an unknown path, 405 for a wrong method."""
        method = "GET" if request.method == "HEAD" else request.method
        allowed: list[str] = []
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if route_method == method:
                return handler(request, match)
            allowed.append(route_method)
        if allowed:
            return Response(405, b"method not allowed\n", (("Allow", ", ".join(allowed)),))
        return text(f"no such page: {request.path}", 404)


def make_handler(app: App, server_version: str, log_requests: bool = True) -> type[BaseHTTPRequestHandler]:
    """Return a request-handler class that serves ``app`` (HTTP/1.1, keep-alive).

    With ``log_requests`` every request is logged on stderr in the common log format.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # An idle keep-alive connection is dropped after a minute so threads do not pile up.
        timeout = 60

        def version_string(self) -> str:
            return server_version

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if log_requests:
                super().log_request(code, size)

        def _serve(self) -> None:
            started = getattr(self.server, "request_started", None)
            if started is not None:
                started()
            try:
                request = self._read_request()
                response = _safe_call(app, request) if isinstance(request, Request) else request
                try:
                    self._write(response, head=self.command == "HEAD")
                except ConnectionError:  # the client went away; nothing left to tell it
                    self.close_connection = True
            finally:
                ended = getattr(self.server, "request_ended", None)
                if ended is not None:
                    ended()

        do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _serve

        def _read_request(self) -> Request | Response:
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = _read_chunked(self.rfile)
            else:
                try:
                    length = int(headers.get("content-length", "0") or "0")
                except ValueError:
                    self.close_connection = True
                    return text("bad Content-Length", 400)
                if length > MAX_BODY or length < 0:
                    self.close_connection = True
                    return text(f"request body over {MAX_BODY} bytes", 413)
                body = self.rfile.read(length) if length else b""
            if body is None:
                self.close_connection = True
                return text(f"bad or oversized chunked body (limit {MAX_BODY} bytes)", 400)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            return Request(self.command, parts.path or "/", query, headers, body)

        def _write(self, response: Response, *, head: bool) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            bodiless = response.status in (204, 304)
            if not bodiless:  # RFC 9110: no Content-Length on 204, and 304 would mean the full body
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if not head and not bodiless:
                self.wfile.write(response.body)

    return Handler


def _safe_call(app: App, request: Request) -> Response:
    """Return the app's response; an unexpected exception becomes a 500 and a stderr trace."""
    try:
        return app(request)
    except Exception as exc:  # a bug in one request must not take the service down
        traceback.print_exc(file=sys.stderr)
        return text(f"internal error: {type(exc).__name__}: {exc}", 500)


def _read_chunked(stream: Any) -> bytes | None:
    """Return a chunked body read from ``stream``, or None if it is malformed or too big."""
    chunks: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            return None
        if size < 0:
            return None
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers are ignored
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            return None
        chunks.append(stream.read(size))
        stream.readline(1024)
