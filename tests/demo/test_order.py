from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tether.demo.database import open_database
from tether.demo.feed import http_date
from tether.demo.order import OrderService, build
from tether.demo.orders import NO_LINES
from tether.demo.web import Request, Response

from .support import FakeClock, call, order_form, start

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.25)


@pytest.fixture
def service(tmp_path: Path, clock: FakeClock) -> Iterator[OrderService]:
    db = open_database("order", {"DB_PATH": str(tmp_path / "order.db")})
    svc = OrderService(db, clock=clock)
    yield svc
    svc.close()


def post_form(service: OrderService, path: str, fields: dict[str, str]) -> Response:
    return service.handle(Request("POST", path, headers=FORM, body=urlencode(fields).encode()))


def get(service: OrderService, path: str, **headers: str) -> Response:
    return service.handle(Request("GET", path, headers=headers))


def header(response: Response, name: str) -> str:
    return dict(response.headers)[name]


def test_form_post_creates_an_order_and_redirects_to_it(service: OrderService) -> None:
    response = post_form(service, "/", order_form())
    assert (response.status, header(response, "Location")) == (303, "1")
    document = json.loads(get(service, "/order/1").body)
    assert document["numberOfLines"] == 2
    assert document["updated"] == "2023-11-14T22:13:20.250+00:00"
    assert "Eberhard Wolff" in get(service, "/1").body.decode()
    assert "Monheim am Rhein" in get(service, "/").body.decode()


def test_order_without_lines_gets_the_form_back_with_the_reason(service: OrderService) -> None:
    response = post_form(service, "/", order_form(count0="", count1=""))
    assert response.status == 400
    page = response.body.decode()
    assert NO_LINES in page
    assert 'value="Wolff"' in page  # what was typed is kept
    assert service.store.all() == []


def test_json_api_creates_and_refuses(service: OrderService) -> None:
    post_form(service, "/", order_form())
    document = json.loads(get(service, "/order/1").body)
    created = service.handle(
        Request("POST", "/", headers={"content-type": "application/json"}, body=json.dumps(document).encode())
    )
    assert created.status == 201
    assert json.loads(created.body)["id"] == 2
    document["orderLine"] = []
    refused = service.handle(
        Request("POST", "/", headers={"content-type": "application/json"}, body=json.dumps(document).encode())
    )
    assert (refused.status, json.loads(refused.body)["problems"]) == (400, [NO_LINES])
    garbage = service.handle(Request("POST", "/", headers={"content-type": "application/json"}, body=b"{"))
    assert garbage.status == 400


def test_delete_by_method_and_by_form(service: OrderService) -> None:
    for _ in range(3):
        post_form(service, "/", order_form())
    assert service.handle(Request("DELETE", "/1")).status == 204
    assert service.handle(Request("DELETE", "/1")).status == 404
    response = post_form(service, "/2", {"_method": "DELETE"})
    assert (response.status, header(response, "Location")) == (303, "./")
    assert post_form(service, "/3", {}).status == 405
    assert [o["id"] for o in service.store.all()] == [3]
    assert get(service, "/order/1").status == 404
    assert get(service, "/1").status == 404


def test_ids_are_not_reused_after_a_delete(service: OrderService) -> None:
    post_form(service, "/", order_form())
    service.handle(Request("DELETE", "/1"))
    post_form(service, "/", order_form())
    assert [o["id"] for o in service.store.all()] == [2]


def test_customers_are_recognised_by_email(service: OrderService) -> None:
    post_form(service, "/", order_form())
    post_form(service, "/", order_form(email="someone@else.org"))
    post_form(service, "/", order_form(email="Eberhard.Wolff@example.org"))
    ids = [json.loads(get(service, f"/order/{i}").body)["customer"]["customerId"] for i in (1, 2, 3)]
    assert ids == [1, 2, 1]


def test_feed_lists_links_and_honours_if_modified_since(service: OrderService, clock: FakeClock) -> None:
    post_form(service, "/", order_form())
    clock.advance(5)
    first = get(service, "/feed")
    assert first.status == 200
    feed = json.loads(first.body)
    assert feed["orders"] == [{"id": 1, "link": "http://order/order/1", "updated": "2023-11-14T22:13:20.250+00:00"}]
    stamp = header(first, "Last-Modified")
    assert stamp == http_date(1_700_000_000)
    again = get(service, "/feed", **{"if-modified-since": stamp})
    assert (again.status, again.body) == (304, b"")
    post_form(service, "/", order_form())
    assert get(service, "/feed", **{"if-modified-since": stamp}).status == 200


def test_add_line_renders_one_more_row(service: OrderService) -> None:
    page = post_form(service, "/line", order_form()).body.decode()
    assert 'name="count3"' in page
    assert 'value="42"' in page


def test_form_and_unknown_pages(service: OrderService) -> None:
    assert 'action="./"' in get(service, "/form.html").body.decode()
    assert get(service, "/nope").status == 404
    assert service.handle(Request("PUT", "/feed")).status == 405


def test_fail_randomly_fails_about_half(tmp_path: Path) -> None:
    db = open_database("order", {"DB_PATH": str(tmp_path / "f.db")})
    service = OrderService(db, fail_randomly=True, rng=random.Random(7))
    try:
        statuses = [get(service, "/feed").status for _ in range(200)]
    finally:
        service.close()
    assert set(statuses) == {200, 500}
    assert 60 < statuses.count(500) < 140


def test_build_reads_link_base_and_seed(tmp_path: Path) -> None:
    env = {"DB_PATH": str(tmp_path / "o.db"), "ORDER_LINK_BASE": "http://x:1/", "FAILRANDOMLY": "true"}
    one = build({**env, "FAILRANDOMLY_SEED": "3"})
    try:
        first = [get(one, "/feed").status for _ in range(20)]
    finally:
        one.close()
    two = build({**env, "FAILRANDOMLY_SEED": "3"})
    try:
        second = [get(two, "/feed").status for _ in range(20)]
        feed = next(r for r in (get(two, "/feed") for _ in range(50)) if r.status == 200)
    finally:
        two.close()
    assert first == second
    assert json.loads(feed.body)["orders"] == []


@pytest.mark.e2e
def test_order_process_serves_feed_conditionally(tmp_path: Path) -> None:
    order = start("order", tmp_path, ORDER_LINK_BASE="http://127.0.0.1:9")
    try:
        created = call(f"{order.url}/", "POST", urlencode(order_form()).encode(), dict(FORM))
        assert (created.status, created.headers["Location"]) == (303, "1")
        feed = call(f"{order.url}/feed")
        assert feed.json()["orders"][0]["link"] == "http://127.0.0.1:9/order/1"
        assert "Last-Modified" in feed.headers
        future = http_date(time.time() + 3600)
        assert call(f"{order.url}/feed", headers={"If-Modified-Since": future}).status == 304
        past = "Thu, 01 Jan 1970 00:00:00 GMT"
        assert call(f"{order.url}/feed", headers={"If-Modified-Since": past}).status == 200
    finally:
        assert order.stop() == 0


@pytest.mark.e2e
def test_order_process_fails_randomly(tmp_path: Path) -> None:
    order = start("order", tmp_path, FAILRANDOMLY="true", FAILRANDOMLY_SEED="42")
    try:
        statuses = [call(f"{order.url}/feed").status for _ in range(40)]
    finally:
        order.stop()
    assert set(statuses) == {200, 500}
