"""Polling the order feed, shared by shipping and invoicing.

:func:`poll_feed` is the logic with the HTTP fetch injected (unit-tested with a fake);
:class:`Poller` adds the state (last ``Last-Modified``, last outcome) and the optional
background thread; :func:`urllib_fetch` is the real fetch. urllib honours
``HTTP_PROXY``/``http_proxy``, which is all a sidecar needs: no mesh code here.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from tether.core.clock import Clock
from tether.core.errors import TetherError
from tether.demo.feed import FeedError, parse_feed


class FetchError(TetherError):
    """The request did not get an HTTP answer (refused, unreachable, timed out)."""


class RecordRejected(TetherError):
    """An order cannot become a shipment/invoice (e.g. an unknown delivery service)."""


@dataclass(frozen=True)
class FetchResult:
    """An HTTP answer of any status; header names are lower-case."""

    status: int
    headers: Mapping[str, str]
    body: bytes


Fetch = Callable[[str, Mapping[str, str]], FetchResult]
"""``fetch(url, request_headers)`` returns the answer or raises FetchError."""


@dataclass(frozen=True)
class PollResult:
    """What one poll did. ``last_modified`` is what to send as ``If-Modified-Since`` next."""

    ok: bool
    new: int
    error: str
    last_modified: str | None
    not_modified: bool = False


def poll_feed(
    fetch: Fetch,
    feed_url: str,
    last_modified: str | None,
    is_known: Callable[[int], bool],
    accept: Callable[[int, Any], bool],
) -> PollResult:
    """Fetch the feed (conditionally) and hand every order not yet known to ``accept``.

    ``accept(id, order_document)`` stores it and returns True when it was new; it raises
    RecordRejected for an order it cannot use. A failed order fetch or a rejected order is
    reported and skipped while the others go on; the ``Last-Modified`` only advances when
    all went well, so the next poll tries again. Never raises for remote failures.
    """
    headers = {"Accept": "application/json"}
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        answer = fetch(feed_url, headers)
    except FetchError as exc:
        return PollResult(False, 0, f"feed {feed_url}: {exc}", last_modified)
    if answer.status == 304:
        return PollResult(True, 0, "", last_modified, not_modified=True)
    if answer.status != 200:
        return PollResult(False, 0, f"feed {feed_url} answered HTTP {answer.status}", last_modified)
    try:
        entries = parse_feed(answer.body)
    except FeedError as exc:
        return PollResult(False, 0, f"{feed_url}: {exc}", last_modified)
    new = 0
    errors: list[str] = []
    for entry in sorted(entries, key=lambda e: e.id):
        if is_known(entry.id):
            continue
        link = urljoin(feed_url, entry.link)
        try:
            order = _fetch_order(fetch, link)
            if accept(entry.id, order):
                new += 1
        except (FetchError, RecordRejected) as exc:
            errors.append(f"order {entry.id} ({link}): {exc}")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return PollResult(False, new, errors[0] + more, last_modified)
    return PollResult(True, new, "", answer.headers.get("last-modified") or last_modified)


def _fetch_order(fetch: Fetch, link: str) -> Any:
    answer = fetch(link, {"Accept": "application/json"})
    if answer.status != 200:
        raise FetchError(f"answered HTTP {answer.status}")
    try:
        return json.loads(answer.body.decode("utf-8"))
    except ValueError as exc:
        raise FetchError(f"not JSON: {exc}") from None


@dataclass(frozen=True)
class PollStatus:
    """The outcome of the last poll for the page: when, whether it worked, what it found."""

    at: float | None = None
    ok: bool = True
    new: int = 0
    error: str = ""
    polls: int = 0


class Poller:
    """Thread-safe poll state; at most one poll runs at a time."""

    def __init__(
        self,
        fetch: Fetch,
        feed_url: str,
        is_known: Callable[[int], bool],
        accept: Callable[[int, Any], bool],
        clock: Clock,
    ) -> None:
        self._fetch = fetch
        self.feed_url = feed_url
        self._is_known = is_known
        self._accept = accept
        self._clock = clock
        self._lock = threading.Lock()
        self._last_modified: str | None = None
        self.status = PollStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> PollResult:
        """Poll once (waiting for a poll in progress to end first) and return what it did."""
        with self._lock:
            try:
                result = poll_feed(self._fetch, self.feed_url, self._last_modified, self._is_known, self._accept)
            except Exception as exc:  # e.g. a database error: report it, keep the service up
                traceback.print_exc(file=sys.stderr)
                result = PollResult(False, 0, f"internal error: {type(exc).__name__}: {exc}", self._last_modified)
            self._last_modified = result.last_modified
            self.status = PollStatus(self._clock.wall(), result.ok, result.new, result.error, self.status.polls + 1)
        return result

    def start(self, interval: float, name: str) -> None:
        """Poll every ``interval`` seconds on a thread named ``name`` (0 = never)."""
        if interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, args=(interval,), name=name, daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.poll()

    def stop(self) -> None:
        """Stop the background thread, waiting for a poll in progress (bounded by its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def urllib_fetch(timeout: float) -> Fetch:
    """Return a fetch using urllib (proxies from the environment), giving up after ``timeout`` s."""
    opener = urllib.request.build_opener()

    def fetch(url: str, headers: Mapping[str, str]) -> FetchResult:
        request = urllib.request.Request(url, headers=dict(headers))
        try:
            with opener.open(request, timeout=timeout) as response:
                return FetchResult(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as exc:  # any non-2xx status, 304 included
            with exc:
                return FetchResult(exc.code, _lower(exc.headers), exc.read())
        except urllib.error.URLError as exc:
            raise FetchError(_reason(exc.reason)) from None
        except TimeoutError:
            raise FetchError(f"no answer within {timeout:g} s") from None
        except (OSError, ValueError) as exc:
            raise FetchError(_reason(exc)) from None

    return fetch


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()} if headers is not None else {}


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "no answer in time (timeout)"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)
