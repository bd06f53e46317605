from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tether.core.errors import TetherError
from tether.demo import invoicing, shipping
from tether.demo.consumer import ConsumerService, RecordStore, build
from tether.demo.database import open_database
from tether.demo.orders import order_document, parse_order_form
from tether.demo.poller import FetchError, FetchResult
from tether.demo.web import Request

from .support import FakeClock, order_form

FEED = "http://order/feed"


class Orders:
    """A fake order service behind the fetch."""

    def __init__(self) -> None:
        self.documents: dict[int, dict[str, object]] = {}
        self.down = False

    def add(self, order_id: int, **form: str) -> None:
        self.documents[order_id] = order_document(
            order_id, 1, parse_order_form(order_form(**form)), "2026-01-01T00:00:00.000+00:00"
        )

    def __call__(self, url: str, headers: Mapping[str, str]) -> FetchResult:
        if self.down:
            raise FetchError("Connection refused")
        if url == FEED:
            entries = [{"id": i, "link": f"http://order/order/{i}", "updated": "t"} for i in self.documents]
            return FetchResult(200, {}, json.dumps({"updated": "t", "orders": entries}).encode())
        document = self.documents[int(url.rsplit("/", 1)[1])]
        return FetchResult(200, {}, json.dumps(document).encode())


@pytest.fixture
def orders() -> Orders:
    return Orders()


@pytest.fixture
def service(orders: Orders, tmp_path: Path) -> Iterator[ConsumerService]:
    db = open_database("shipping", {"DB_PATH": str(tmp_path / "s.db")})
    svc = ConsumerService(shipping.KIND, db, fetch=orders, feed_url=FEED, clock=FakeClock())
    yield svc
    svc.close()


def poll(service: ConsumerService) -> dict[str, object]:
    response = service.handle(Request("POST", "/poll", headers={"accept": "application/json"}))
    assert response.status == 200
    result: dict[str, object] = json.loads(response.body)
    return result


def test_poll_stores_new_orders_once(service: ConsumerService, orders: Orders) -> None:
    orders.add(1)
    orders.add(2, deliveryService="DHL")
    assert poll(service) == {"ok": True, "new": 2, "error": ""}
    assert poll(service) == {"ok": True, "new": 0, "error": ""}
    listing = service.handle(Request("GET", "/", headers={"accept": "application/json"}))
    assert [(s["id"], s["cost"]) for s in json.loads(listing.body)] == [(2, 1), (1, 2)]


def test_browser_poll_redirects_to_the_list(service: ConsumerService) -> None:
    response = service.handle(Request("POST", "/poll"))
    assert (response.status, dict(response.headers)["Location"]) == (303, "./")


def test_failed_poll_shows_on_the_page_and_service_keeps_answering(service: ConsumerService, orders: Orders) -> None:
    orders.add(1)
    poll(service)
    orders.down = True
    assert poll(service) == {"ok": False, "new": 0, "error": "feed http://order/feed: Connection refused"}
    page = service.handle(Request("GET", "/")).body.decode()
    assert '<p class="error">Last poll at' in page
    assert "Connection refused" in page
    assert '<a href="1">1</a>' in page
    assert service.handle(Request("GET", "/1")).status == 200


def test_rejected_order_is_reported_and_others_kept(service: ConsumerService, orders: Orders) -> None:
    orders.add(1)
    orders.add(2)
    orders.documents[2]["deliveryService"] = "UPS"
    orders.documents[3] = {"id": 3}
    result = poll(service)
    assert (result["ok"], result["new"]) == (False, 1)
    assert result["error"] == ("order 2 (http://order/order/2): unknown delivery service 'UPS' (and 1 more)")


def test_detail_as_html_and_json(service: ConsumerService, orders: Orders) -> None:
    orders.add(7)
    poll(service)
    as_json = service.handle(Request("GET", "/7.json"))
    assert json.loads(as_json.body)["cost"] == 2
    accepted = service.handle(Request("GET", "/7", headers={"accept": "application/json"}))
    assert accepted.body == as_json.body
    page = service.handle(Request("GET", "/7"))
    assert "Shipment 7" in page.body.decode()
    assert service.handle(Request("GET", "/8")).status == 404
    assert service.handle(Request("GET", "/8.json")).status == 404


def test_first_page_says_no_poll_yet(service: ConsumerService) -> None:
    page = service.handle(Request("GET", "/")).body.decode()
    assert "No poll yet." in page
    assert "No shipments yet." in page
    assert 'action="poll"' in page


def test_record_store_ignores_known_ids(tmp_path: Path) -> None:
    store = RecordStore(open_database("x", {"DB_PATH": str(tmp_path / "x.db")}))
    assert store.add(1, {"id": 1, "v": "first"})
    assert not store.add(1, {"id": 1, "v": "second"})
    assert store.get(1) == {"id": 1, "v": "first"}
    assert store.known(1) and not store.known(2)


def test_build_reads_the_environment(tmp_path: Path) -> None:
    env = {"DB_PATH": str(tmp_path / "i.db"), "ORDER_URL": "http://o/feed", "POLL_INTERVAL": "0"}
    service = build(invoicing.KIND, env)
    assert isinstance(service, ConsumerService)
    try:
        assert (service.poller.feed_url, service.poll_interval) == ("http://o/feed", 0)
    finally:
        service.close()


@pytest.mark.parametrize("setting", [{"POLL_INTERVAL": "soon"}, {"FETCH_TIMEOUT": "-1"}])
def test_build_refuses_bad_numbers(setting: dict[str, str]) -> None:
    with pytest.raises(TetherError, match=next(iter(setting))):
        build(shipping.KIND, setting)
