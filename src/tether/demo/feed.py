"""The order feed: building it, reading it, and its conditional-GET rules.

Format: ``{"updated": ISO-8601, "orders": [{"id", "link", "updated"}]}``.

HTTP dates have whole seconds, so a change in the same second as a served
``Last-Modified`` would be invisible to ``If-Modified-Since``. :func:`last_modified`
therefore never announces the current second: while the newest change is less than a
second old it announces the second before, and the next poll gets the full feed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime

from tether.core.errors import TetherError


class FeedError(TetherError):
    """A feed document does not have the expected shape; the message says where."""


@dataclass(frozen=True)
class FeedEntry:
    """One order announced by the feed."""

    id: int
    link: str
    updated: str


def iso(timestamp: float) -> str:
    """Return a Unix time as ISO-8601 with milliseconds and ``+00:00`` (the book's format)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def http_date(seconds: float) -> str:
    """Return an IMF-fixdate (``Tue, 15 Nov 1994 08:12:31 GMT``) for a Unix time."""
    return formatdate(seconds, usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Return the Unix time of an HTTP date, or None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def last_modified(last_change: float, now: float) -> int:
    """Return the whole second to send as ``Last-Modified`` for a feed last changed at
    ``last_change`` and served at ``now`` (see the module docstring for the rule).
    """
    changed = math.floor(last_change)
    return changed - 1 if changed >= math.floor(now) else changed


def not_modified(if_modified_since: str | None, last_change: float) -> bool:
    """Return True when a request's ``If-Modified-Since`` proves the client has the feed."""
    since = parse_http_date(if_modified_since)
    return since is not None and math.floor(last_change) <= since


def build_feed(orders: Iterable[tuple[int, float]], last_change: float, link_base: str) -> dict[str, object]:
    """Return the feed document for (order id, updated time) pairs, newest first.

    Links are ``<link_base>/order/<id>``; consumers fetch them by service name through
    their sidecar, so the default base is ``http://order``.
    """
    base = link_base.rstrip("/")
    entries = sorted(orders, key=lambda pair: (pair[1], pair[0]), reverse=True)
    return {
        "updated": iso(last_change),
        "orders": [
            {"id": order_id, "link": f"{base}/order/{order_id}", "updated": iso(updated)}
            for order_id, updated in entries
        ],
    }


def parse_feed(body: bytes) -> list[FeedEntry]:
    """Return the entries of a feed document. Raises FeedError naming the bad part."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"feed is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("orders"), list):
        raise FeedError('feed has no "orders" list')
    entries: list[FeedEntry] = []
    for index, raw in enumerate(document["orders"]):
        if not isinstance(raw, dict):
            raise FeedError(f"feed orders[{index}] is not an object")
        order_id, link = raw.get("id"), raw.get("link")
        if not isinstance(order_id, int) or isinstance(order_id, bool):
            raise FeedError(f"feed orders[{index}].id is not an integer")
        if not isinstance(link, str) or not link:
            raise FeedError(f"feed orders[{index}].link is missing")
        entries.append(FeedEntry(order_id, link, str(raw.get("updated", ""))))
    return entries
