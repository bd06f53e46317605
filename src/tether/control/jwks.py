"""Key sets of RequestAuthentication ``jwksUri``s: fetched by the control plane, cached, refreshed.

Proxies never fetch keys: the control plane does, and the keys travel in each proxy's
snapshot. ``JwksCache`` is the pure bookkeeping (what is wanted, what is due, what changed);
``run`` is its asyncio shell, fetching through an injectable ``fetch``. A URI is fetched as
soon as a resource names it, then every ``refresh_interval`` (Istio's default: 20 min);
a failed fetch is retried every ``retry_interval`` and the last good keys stay in use.
A proxy that meets a token with an unknown ``kid`` asks for an early refresh
(``POST /v1/jwks/refresh``), granted at most once per ``min_gap`` per URI so tokens with
made-up key ids cannot turn the control plane into a fetch amplifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import urllib.request
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tether.control.api.http import HttpError, Request, Response
from tether.control.api.http import json_response as ok
from tether.control.api.routes import route
from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.proxy.authz.verify import parse_jwks

if TYPE_CHECKING:
    from tether.control.server import ControlPlane

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[str]]
MAX_BYTES = 1 << 20
FETCH_TIMEOUT_S = 5.0


def _fetch_blocking(uri: str) -> str:
    with urllib.request.urlopen(uri, timeout=FETCH_TIMEOUT_S) as resp:  # the model allows only http(s) URIs
        data: bytes = resp.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"JWKS larger than {MAX_BYTES} bytes")
    return data.decode("utf-8")


async def http_fetch(uri: str) -> str:
    """Return the body at ``uri`` (GET, 5 s timeout, 1 MiB at most); raises OSError/ValueError."""
    return await asyncio.to_thread(_fetch_blocking, uri)


class JwksCache:
    """The last good key set of every wanted URI, and when each is due for a fetch."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, refresh_interval: float = 1200.0,
                 retry_interval: float = 5.0, min_gap: float = 5.0) -> None:
        self.clock = clock
        self.refresh_interval = refresh_interval
        self.retry_interval = retry_interval
        self.min_gap = min_gap
        self.keys: dict[str, str] = {}
        self.wanted: set[str] = set()
        self.next_fetch: dict[str, float] = {}
        self.last_attempt: dict[str, float] = {}
        self.fetches = 0
        self.failures = 0
        self.wake = asyncio.Event()

    def get(self, uri: str) -> str | None:
        """Return the key set fetched for ``uri`` (JWKS text), None if none has been fetched."""
        return self.keys.get(uri)

    def want(self, uris: set[str]) -> bool:
        """Track exactly ``uris``: new ones are due now, dropped ones forgotten. Returns True if
        dropping changed the keys on offer."""
        now = self.clock.monotonic()
        for uri in uris - self.wanted:
            self.next_fetch[uri] = now
        gone = self.wanted - uris
        for uri in gone:
            self.next_fetch.pop(uri, None)
            self.last_attempt.pop(uri, None)
        self.wanted = set(uris)
        return any(self.keys.pop(uri, None) is not None for uri in gone)

    def due(self) -> list[str]:
        """Return the wanted URIs whose fetch time has come, sorted."""
        now = self.clock.monotonic()
        return sorted(u for u in self.wanted if self.next_fetch.get(u, now) <= now)

    def request_refresh(self, uri: str) -> bool:
        """Make ``uri`` due now unless it was fetched less than ``min_gap`` ago; return whether
        the refresh was granted."""
        now = self.clock.monotonic()
        if uri not in self.wanted or now - self.last_attempt.get(uri, float("-inf")) < self.min_gap:
            return False
        self.next_fetch[uri] = now
        self.wake.set()
        return True

    def record(self, uri: str, text: str | None, error: str = "") -> bool:
        """Note a fetch of ``uri`` (``text`` None: it failed); return True if its keys changed.

        A body that is not a JWKS counts as a failure; the last good keys stay."""
        now = self.clock.monotonic()
        self.fetches += 1
        self.last_attempt[uri] = now
        if text is not None:
            try:
                parse_jwks(text)
            except ValueError as exc:
                text, error = None, f"not a JWKS: {exc}"
        if text is None:
            self.failures += 1
            self.next_fetch[uri] = now + self.retry_interval
            log.warning("fetching JWKS %s failed: %s", uri, error)
            return False
        self.next_fetch[uri] = now + self.refresh_interval
        changed = self.keys.get(uri) != text
        self.keys[uri] = text
        return changed

    async def fetch_due(self, fetch: Fetch) -> bool:
        """Fetch every due URI; return True if any key set changed."""
        changed = False
        for uri in self.due():
            try:
                text: str | None = await fetch(uri)
                error = ""
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                text, error = None, str(exc) or type(exc).__name__
            changed = self.record(uri, text, error) or changed
        return changed

    async def run(self, uris: Callable[[], set[str]], on_change: Callable[[], None],
                  fetch: Fetch = http_fetch, tick: float = 1.0) -> None:
        """Keep the key sets of ``uris()`` fresh forever, calling ``on_change`` after a change.

        Wakes every ``tick`` seconds (to notice new URIs) or at once on a granted refresh."""
        while True:
            self.wake.clear()
            dropped = self.want(uris())
            if await self.fetch_due(fetch) or dropped:
                on_change()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), tick)


@route("POST", r"/v1/jwks/refresh")
async def refresh(plane: ControlPlane, request: Request, m: re.Match[str]) -> Response:
    """``{"uri": U}`` → ``{"uri", "refreshing": bool}``: an early fetch of a wanted JWKS (rate-limited)."""
    body = request.json()
    uri = body.get("uri") if isinstance(body, dict) else None
    if not isinstance(uri, str) or not uri:
        raise HttpError(400, 'expected {"uri": "<jwksUri>"}')
    return ok({"uri": uri, "refreshing": plane.jwks.request_refresh(uri)})
