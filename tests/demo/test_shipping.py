from __future__ import annotations

import pytest

from tether.demo.orders import order_document, parse_order_form
from tether.demo.poller import RecordRejected
from tether.demo.shipping import KIND, shipping_cost, to_shipment

from .support import order_form


def test_cost_depends_on_the_delivery_service() -> None:
    assert shipping_cost("DHL") == 1
    assert shipping_cost("Hermes") == 2
    with pytest.raises(RecordRejected, match="unknown delivery service 'UPS'"):
        shipping_cost("UPS")


def test_shipment_from_an_order() -> None:
    order = order_document(4, 1, parse_order_form(order_form(deliveryService="DHL")), "t")
    shipment = to_shipment(order)
    assert shipment["id"] == 4
    assert shipment["cost"] == 1
    assert shipment["deliveryService"] == "DHL"
    assert shipment["shippingAddress"]["city"] == "Monheim am Rhein"
    assert [line["count"] for line in shipment["shipmentLine"]] == [42, 2]


def test_pages_render_a_shipment() -> None:
    shipment = to_shipment(order_document(4, 1, parse_order_form(order_form()), "t"))
    cells = [column.cell(shipment) for column in KIND.columns]
    assert cells == ["Eberhard Wolff", "Monheim am Rhein", "Hermes", "44", "2.00"]
    assert "Krischerstr. 100, 40789 Monheim am Rhein" in KIND.details(shipment)
