"""The dashboard's HTTP side: paths onto pages, static files, and a JSON view of the graph.

``make_dashboard(plane)`` returns the handler that ``ControlPlane.fallback`` serves for
every path the control API does not own. Like the API's reads, the pages show live
telemetry and configuration, so they answer loopback clients only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING

import msgspec

from tether.control.api.http import Handler, Request, Response, StreamResponse
from tether.dashboard import pages, pages_config, pages_traces
from tether.dashboard.data import DashboardData, window_name
from tether.dashboard.html import esc, page

if TYPE_CHECKING:
    from tether.control.server import ControlPlane

HTML = "text/html; charset=utf-8"
SECURITY_HEADERS = (
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    # Inline style attributes position the waterfall bars; scripts come from /static only.
    ("content-security-policy",
     "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
     "frame-ancestors 'none'"),
)
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
_STATIC_NAME = re.compile(r"/static/([a-z0-9_-]+\.[a-z]+)")

Page = Callable[[DashboardData, Request, "re.Match[str]"], str]
_PAGES: list[tuple[re.Pattern[str], Page]] = []


def _page(pattern: str) -> Callable[[Page], Page]:
    def add(func: Page) -> Page:
        _PAGES.append((re.compile(pattern + "$"), func))
        return func

    return add


def html_response(body: str, status: int = 200) -> Response:
    """Return an HTML response with the dashboard's security headers."""
    return Response(status=status, body=body.encode(), content_type=HTML, headers=SECURITY_HEADERS)


def _window(request: Request) -> str:
    return window_name(request.query.get("window"))


@_page(r"/")
def _overview(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    return pages.overview(data, _window(request))


@_page(r"/service/([^/]+)/([^/]+)")
def _service(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    return pages.service(data, m[1], m[2], _window(request))


@_page(r"/tap")
def _tap(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    q = request.query
    return pages.tap(q.get("service", ""), q.get("path", ""), q.get("status", ""), q.get("method", ""))


@_page(r"/traces")
def _traces(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    service = request.query.get("service", "").strip()
    return pages_traces.traces(data.traces(service or None, 100), service)


@_page(r"/traces/([0-9a-fA-F]{1,32})")
def _trace(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    trace_id = m[1].lower().rjust(32, "0")
    found = data.trace(trace_id)
    return pages_traces.missing_trace(trace_id) if found is None else pages_traces.waterfall(found)


@_page(r"/config")
def _config(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    return pages_config.config(data)


@_page(r"/proxies")
def _proxies(data: DashboardData, request: Request, m: re.Match[str]) -> str:
    return pages_config.proxies(data)


def static_file(name: str) -> Response | None:
    """Return a file of ``tether/dashboard/static`` as a response, or None if there is none."""
    match = _STATIC_NAME.fullmatch("/static/" + name)
    suffix = name[name.rfind("."):]
    if match is None or suffix not in STATIC_TYPES:
        return None
    try:
        body = resources.files("tether.dashboard").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return Response(body=body, content_type=STATIC_TYPES[suffix], headers=(("cache-control", "no-cache"),))


def _loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def make_dashboard(plane: ControlPlane) -> Handler:
    """Return the handler serving the dashboard of ``plane`` (pages, static files, graph JSON)."""
    data = DashboardData(plane)

    async def handle(request: Request) -> Response | StreamResponse:
        if not _loopback(request.peer):
            body = page("Loopback only", '<p>The dashboard answers clients on this machine only. '
                        'Reach it through an SSH tunnel: <code>ssh -L 15010:127.0.0.1:15010 HOST</code>.</p>')
            return html_response(body, 403)
        if request.method not in ("GET", "HEAD"):
            return html_response(page("Method not allowed", "<p>The dashboard only reads.</p>"), 405)
        if request.path.startswith("/static/"):
            found = static_file(request.path[len("/static/"):])
            return found or html_response(page("Not found", "<p>No such file.</p>"), 404)
        if request.path == "/ui/graph.json":
            graph = data.graph(_window(request))
            return Response(body=msgspec.json.encode(graph) + b"\n", headers=(("cache-control", "no-store"),))
        for pattern, func in _PAGES:
            match = pattern.match(request.path)
            if match is not None:
                return html_response(func(data, request, match))
        missing = page("Not found", f'<p>Nothing at <code>{esc(request.path)}</code>. '
                       '<a href="/">Back to the overview</a>.</p>')
        return html_response(missing, 404)

    return handle

