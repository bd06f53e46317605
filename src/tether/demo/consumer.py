"""The shape shipping and invoicing share: a service that polls the order feed, turns each
new order into a record of its own kind, stores it and lists it.

Environment: ``PORT``, ``DB_PATH`` / ``DATABASE_URL``, ``ORDER_URL`` (the feed, default
``http://order/feed``), ``POLL_INTERVAL`` (seconds, default 30; 0 = only on ``POST /poll``),
``FETCH_TIMEOUT`` (seconds per outbound request, default 10).

``POST /poll`` redirects a browser back to the list; asked for JSON (``Accept:
application/json``) it answers 200 with ``{"ok": bool, "new": n, "error": "..."}``. A failed
poll is news, not a failure of this service, so the status stays 200 either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.demo.database import Database, open_database
from tether.demo.layout import esc, page, table, when
from tether.demo.poller import Fetch, Poller, PollStatus, RecordRejected, urllib_fetch
from tether.demo.server import DemoService, env_float
from tether.demo.web import Request, Response, Router, html, json_response, record_response, redirect

DEFAULT_ORDER_URL = "http://order/feed"
DEFAULT_POLL_INTERVAL = 30.0
DEFAULT_FETCH_TIMEOUT = 10.0


@dataclass(frozen=True)
class Column:
    """A column of the list page: header and a function giving the cell's trusted HTML."""

    header: str
    cell: Callable[[Mapping[str, Any]], str]
    numeric: bool = False


@dataclass(frozen=True)
class RecordKind:
    """What makes shipping differ from invoicing."""

    service: str
    plural: str
    singular: str
    convert: Callable[[Mapping[str, Any]], dict[str, Any]]
    """Order document -> record; raises RecordRejected when the order cannot be used."""
    columns: tuple[Column, ...]
    details: Callable[[Mapping[str, Any]], str]
    """Record -> trusted HTML of its detail page."""


class RecordStore:
    """Records by order id, as JSON documents; adding an existing id does nothing."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.session() as s:
            s.query("CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")

    def known(self, record_id: int) -> bool:
        """Return True when a record with this id is stored."""
        with self._db.session() as s:
            return bool(s.query("SELECT 1 FROM records WHERE id = ?", (record_id,)))

    def add(self, record_id: int, record: Mapping[str, Any]) -> bool:
        """Store ``record`` under ``record_id``; return False when the id was already there."""
        with self._db.session() as s:
            if s.query("SELECT 1 FROM records WHERE id = ?", (record_id,)):
                return False
            s.query("INSERT INTO records (id, body) VALUES (?, ?)", (record_id, json.dumps(record)))
        return True

    def get(self, record_id: int) -> dict[str, Any] | None:
        """Return the record, or None."""
        with self._db.session() as s:
            rows = s.query("SELECT body FROM records WHERE id = ?", (record_id,))
        return json.loads(rows[0][0]) if rows else None

    def all(self) -> list[dict[str, Any]]:
        """Return every record, highest id first."""
        with self._db.session() as s:
            rows = s.query("SELECT body FROM records ORDER BY id DESC")
        return [json.loads(row[0]) for row in rows]


class ConsumerService:
    """A feed-polling service of one :class:`RecordKind`."""

    def __init__(
        self,
        kind: RecordKind,
        db: Database,
        *,
        fetch: Fetch,
        feed_url: str = DEFAULT_ORDER_URL,
        poll_interval: float = 0.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.name = kind.service
        self.kind = kind
        self.db = db
        self.store = RecordStore(db)
        self.poll_interval = poll_interval
        self.poller = Poller(fetch, feed_url, self.store.known, self._accept, clock)
        r = self._router = Router()
        r.add("GET", r"/", self._list)
        r.add("POST", r"/poll", self._poll)
        r.add("GET", r"/(\d{1,18})\.json", self._json)
        r.add("GET", r"/(\d{1,18})", self._detail)

    def handle(self, request: Request) -> Response:
        """Return the response to ``request``."""
        return self._router(request)

    def start(self) -> None:
        """Start background polling (unless the interval is 0)."""
        self.poller.start(self.poll_interval, f"{self.name}-poller")

    def close(self) -> None:
        """Stop polling and close the database."""
        self.poller.stop()
        self.db.close()

    def _accept(self, order_id: int, order: Any) -> bool:
        if not isinstance(order, dict):
            raise RecordRejected("the order is not a JSON object")
        try:
            record = self.kind.convert(order)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordRejected(f"the order document lacks or garbles {exc}") from None
        return self.store.add(order_id, record)

    def _list(self, request: Request, match: Any) -> Response:
        records = self.store.all()
        if request.wants_json():
            return json_response(records)
        columns = self.kind.columns
        rows = [
            (f'<a href="{record["id"]}">{record["id"]}</a>', *(c.cell(record) for c in columns)) for record in records
        ]
        numeric = tuple(i + 1 for i, c in enumerate(columns) if c.numeric)
        listing = (
            table(["Id", *(c.header for c in columns)], rows, numeric)
            if rows
            else f'<p class="note">No {esc(self.kind.plural.lower())} yet.</p>'
        )
        body = _status_box(self.poller.status, self.poller.feed_url, self.poll_interval) + listing
        return html(page(self.kind.service.capitalize(), self.kind.plural, body, _nav()))

    def _poll(self, request: Request, match: Any) -> Response:
        result = self.poller.poll()
        if request.wants_json():
            return json_response({"ok": result.ok, "new": result.new, "error": result.error})
        # Relative to /<service>/poll, "./" is the list page.
        return redirect("./")

    def _json(self, request: Request, match: Any) -> Response:
        return record_response(self.store.get(int(match.group(1))), self._missing(match))

    def _detail(self, request: Request, match: Any) -> Response:
        if request.wants_json():
            return self._json(request, match)
        return record_response(self.store.get(int(match.group(1))), self._missing(match), self._record_page)

    def _missing(self, match: Any) -> str:
        return f"no {self.kind.singular.lower()} {match.group(1)}"

    def _record_page(self, record: dict[str, Any]) -> str:
        body = self.kind.details(record) + f'<p><a href="{record["id"]}.json">as JSON</a></p>'
        title = f"{self.kind.singular} {record['id']}"
        return page(self.kind.service.capitalize(), title, body, _nav())


def _nav() -> tuple[tuple[str, str], ...]:
    return (("./", "List"), ("../", "Home"))


def _status_box(status: PollStatus, feed_url: str, interval: float) -> str:
    schedule = f"every {interval:g} s and on demand" if interval > 0 else "on demand only"
    bar = (
        '<div class="bar"><form method="post" action="poll"><button type="submit">Poll now</button></form>'
        f'<span class="note">Orders come from <code>{esc(feed_url)}</code>, polled {schedule}.</span></div>'
    )
    if status.at is None:
        return bar + '<p class="note">No poll yet.</p>'
    if status.ok:
        return bar + f'<p class="ok">Last poll at {when(status.at)}: ok, {status.new} new.</p>'
    return bar + (f'<p class="error">Last poll at {when(status.at)} failed ({status.new} new): {esc(status.error)}</p>')


def build(kind: RecordKind, env: Mapping[str, str]) -> DemoService:
    """Return a service of ``kind`` configured from ``env``; raises TetherError on bad settings."""
    timeout = env_float(env, "FETCH_TIMEOUT", DEFAULT_FETCH_TIMEOUT) or DEFAULT_FETCH_TIMEOUT
    interval = env_float(env, "POLL_INTERVAL", DEFAULT_POLL_INTERVAL)
    return ConsumerService(
        kind,
        open_database(kind.service, env),
        fetch=urllib_fetch(timeout),
        feed_url=env.get("ORDER_URL", "") or DEFAULT_ORDER_URL,
        poll_interval=interval,
    )
