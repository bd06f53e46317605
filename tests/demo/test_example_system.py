"""The three services of the book's example as real processes talking straight to each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from .support import Service, call, order_form, start

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def system(tmp_path: Path) -> Iterator[dict[str, Service]]:
    started: dict[str, Service] = {}
    try:
        # Links relative to the feed ("/order/1") lead back to this very process.
        order = started["order"] = start("order", tmp_path, ORDER_LINK_BASE="/")
        env = {"ORDER_URL": f"{order.url}/feed", "POLL_INTERVAL": "0", "FETCH_TIMEOUT": "5"}
        started["shipping"] = start("shipping", tmp_path, **env)
        started["invoicing"] = start("invoicing", tmp_path, **env)
        yield started
    finally:
        for service in started.values():
            service.stop()


def poll(service: Service) -> dict[str, object]:
    answer = call(f"{service.url}/poll", "POST", b"", JSON)
    assert answer.status == 200
    result: dict[str, object] = answer.json()
    return result


def test_an_order_becomes_a_shipment_and_an_invoice(system: dict[str, Service]) -> None:
    order, shipping, invoicing = system["order"], system["shipping"], system["invoicing"]
    body = urlencode(order_form(deliveryService="DHL")).encode()
    assert call(f"{order.url}/", "POST", body, FORM).status == 303
    assert poll(shipping) == {"ok": True, "new": 1, "error": ""}
    assert poll(invoicing) == {"ok": True, "new": 1, "error": ""}
    assert poll(invoicing)["new"] == 0  # idempotent
    shipment = call(f"{shipping.url}/1.json").json()
    invoice = call(f"{invoicing.url}/1", headers=JSON).json()
    assert (shipment["cost"], shipment["deliveryService"]) == (1, "DHL")
    assert invoice["total"] == 42 * 23 + 2 * 349
    page = call(f"{invoicing.url}/").body.decode()
    assert "ok, 0 new" in page
    assert "1,664.00" in page
    redirect = call(f"{shipping.url}/poll", "POST", b"", FORM)
    assert (redirect.status, redirect.headers["Location"]) == (303, "./")


def test_a_dead_order_service_shows_as_an_error_and_the_rest_keeps_working(
    system: dict[str, Service],
) -> None:
    order, shipping = system["order"], system["shipping"]
    assert call(f"{order.url}/", "POST", urlencode(order_form()).encode(), FORM).status == 303
    assert poll(shipping)["new"] == 1
    assert order.stop() == 0
    result = poll(shipping)
    assert result["ok"] is False
    assert "Connection refused" in str(result["error"])
    page = call(f"{shipping.url}/")
    assert page.status == 200
    assert '<p class="error">Last poll at' in page.body.decode()
    assert "Connection refused" in page.body.decode()
    assert call(f"{shipping.url}/1.json").json()["cost"] == 2
