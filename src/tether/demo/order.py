"""The order service of the book's example: ``python -m tether.demo.order``.

Environment: ``PORT`` (0 = ephemeral), ``DB_PATH`` / ``DATABASE_URL``, ``ORDER_LINK_BASE``
(feed links, default ``http://order``), ``FAILRANDOMLY=true`` (about half of all requests
answer 500), ``FAILRANDOMLY_SEED`` (makes that sequence repeatable).
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Mapping
from typing import Any

from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.demo import feed, order_pages
from tether.demo.database import Database, open_database
from tether.demo.orders import (
    OrderDraft,
    OrderInvalid,
    form_line_count,
    order_document,
    parse_order_form,
    parse_order_json,
)
from tether.demo.server import env_flag, run
from tether.demo.web import Request, Response, Router, html, json_response, record_response, redirect, text

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, updated DOUBLE PRECISION NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)",
    # One row: when the feed last changed, and the next order id (never reused after a delete,
    # since the consumers keep what they fetched under that id).
    "CREATE TABLE IF NOT EXISTS feed_state (id INTEGER PRIMARY KEY,"
    " last_change DOUBLE PRECISION NOT NULL, next_id INTEGER NOT NULL)",
)


class OrderStore:
    """Orders in the service's database, as documents of the book's JSON format."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        with db.session() as s:
            for statement in SCHEMA:
                s.query(statement)
            s.query(
                "INSERT INTO feed_state (id, last_change, next_id) VALUES (1, ?, 1) ON CONFLICT DO NOTHING",
                (clock.wall(),),
            )

    def create(self, draft: OrderDraft) -> dict[str, Any]:
        """Store a new order and return its document (ids count up from 1)."""
        now = self._clock.wall()
        with self._db.session() as s:
            order_id = int(s.query("SELECT next_id FROM feed_state WHERE id = 1")[0][0])
            email = draft.customer.email.lower()
            found = s.query("SELECT id FROM customers WHERE email = ?", (email,))
            if found:
                customer_id = int(found[0][0])
            else:
                customer_id = int(s.query("SELECT COALESCE(MAX(id), 0) + 1 FROM customers")[0][0])
                s.query("INSERT INTO customers (id, email) VALUES (?, ?)", (customer_id, email))
            document = order_document(order_id, customer_id, draft, feed.iso(now))
            s.query(
                "INSERT INTO orders (id, updated, body) VALUES (?, ?, ?)",
                (order_id, now, json.dumps(document)),
            )
            s.query(
                "UPDATE feed_state SET last_change = ?, next_id = ? WHERE id = 1",
                (now, order_id + 1),
            )
        return document

    def get(self, order_id: int) -> dict[str, Any] | None:
        """Return the order's document, or None when there is no such order."""
        with self._db.session() as s:
            rows = s.query("SELECT body FROM orders WHERE id = ?", (order_id,))
        return json.loads(rows[0][0]) if rows else None

    def delete(self, order_id: int) -> bool:
        """Delete the order; return False when it did not exist."""
        with self._db.session() as s:
            if not s.query("SELECT id FROM orders WHERE id = ?", (order_id,)):
                return False
            s.query("DELETE FROM orders WHERE id = ?", (order_id,))
            s.query("UPDATE feed_state SET last_change = ? WHERE id = 1", (self._clock.wall(),))
        return True

    def all(self) -> list[dict[str, Any]]:
        """Return every order's document, newest first."""
        with self._db.session() as s:
            rows = s.query("SELECT body FROM orders ORDER BY id DESC")
        return [json.loads(row[0]) for row in rows]

    def feed_rows(self) -> tuple[list[tuple[int, float]], float]:
        """Return (id, updated) of every order and the time of the last change."""
        with self._db.session() as s:
            rows = s.query("SELECT id, updated FROM orders")
            last_change = float(s.query("SELECT last_change FROM feed_state WHERE id = 1")[0][0])
        return [(int(i), float(u)) for i, u in rows], last_change


class OrderService:
    """Routes of the order service; ``handle`` is the whole app."""

    name = "order"

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = SYSTEM_CLOCK,
        link_base: str = "http://order",
        fail_randomly: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.store = OrderStore(db, clock)
        self._clock = clock
        self._link_base = link_base
        self._fail_randomly = fail_randomly
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        r = self._router = Router()
        r.add("GET", r"/", self._list)
        r.add("GET", r"/(?:form\.html|form)", self._form)
        r.add("POST", r"/line", self._add_line)
        r.add("POST", r"/", self._create)
        r.add("GET", r"/feed", self._feed)
        r.add("GET", r"/order/(\d{1,18})", self._json)
        r.add("GET", r"/(\d{1,18})", self._detail)
        r.add("DELETE", r"/(\d{1,18})", self._delete)
        r.add("POST", r"/(\d{1,18})", self._post_on_order)

    def handle(self, request: Request) -> Response:
        """Return the response to ``request`` (a random 500 first when FAILRANDOMLY is on)."""
        if self._fail_randomly:
            with self._rng_lock:
                fail = self._rng.random() < 0.5
            if fail:
                return text("FAILRANDOMLY: this request failed on purpose", 500)
        return self._router(request)

    def start(self) -> None:
        """Nothing runs in the background of the order service."""

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def _list(self, request: Request, match: Any) -> Response:
        if request.wants_json():
            return json_response(self.store.all())
        return html(order_pages.list_page(self.store.all()))

    def _form(self, request: Request, match: Any) -> Response:
        return html(order_pages.form_page({}))

    def _add_line(self, request: Request, match: Any) -> Response:
        values = request.form()
        values["lines"] = str(form_line_count(values) + 1)  # capped again when rendered
        return html(order_pages.form_page(values))

    def _create(self, request: Request, match: Any) -> Response:
        as_json = request.sends_json()
        try:
            draft = parse_order_json(request.json()) if as_json else parse_order_form(request.form())
        except ValueError:
            return json_response({"error": "the body is not JSON"}, 400)
        except OrderInvalid as exc:
            if as_json or request.wants_json():
                return json_response({"error": str(exc), "problems": list(exc.problems)}, 400)
            return html(order_pages.form_page(request.form(), exc.problems), 400)
        document = self.store.create(draft)
        if as_json or request.wants_json():
            return json_response(document, 201, (("Location", f"order/{document['id']}"),))
        return redirect(str(document["id"]))

    def _feed(self, request: Request, match: Any) -> Response:
        rows, last_change = self.store.feed_rows()
        stamp = feed.http_date(feed.last_modified(last_change, self._clock.wall()))
        headers = (("Last-Modified", stamp), ("Cache-Control", "no-cache"))
        if feed.not_modified(request.headers.get("if-modified-since"), last_change):
            return Response(304, b"", headers)
        return json_response(feed.build_feed(rows, last_change, self._link_base), 200, headers)

    def _json(self, request: Request, match: Any) -> Response:
        return record_response(self.store.get(int(match.group(1))), f"no order {match.group(1)}")

    def _detail(self, request: Request, match: Any) -> Response:
        if request.wants_json():
            return self._json(request, match)
        return record_response(self.store.get(int(match.group(1))), f"no order {match.group(1)}",
                               order_pages.order_page)

    def _delete(self, request: Request, match: Any) -> Response:
        if not self.store.delete(int(match.group(1))):
            return text(f"no order {match.group(1)}", 404)
        return Response(204)

    def _post_on_order(self, request: Request, match: Any) -> Response:
        # HTML forms cannot send DELETE; the form says so in a hidden field (as Spring does).
        if request.form().get("_method", "").upper() != "DELETE":
            return text("POST on an order needs _method=DELETE", 405)
        self.store.delete(int(match.group(1)))
        # Relative to /order/<id>, "./" is the list page /order/.
        return redirect("./")


def build(env: Mapping[str, str]) -> OrderService:
    """Return the order service configured from ``env``; raises TetherError on bad settings."""
    seed = env.get("FAILRANDOMLY_SEED", "")
    return OrderService(
        open_database("order", env),
        link_base=env.get("ORDER_LINK_BASE", "") or "http://order",
        fail_randomly=env_flag(env, "FAILRANDOMLY"),
        rng=random.Random(seed) if seed else None,
    )


def main() -> int:
    """Run the order service until SIGTERM/SIGINT; return the exit status."""
    return run(build)


if __name__ == "__main__":
    sys.exit(main())
