from __future__ import annotations

import pytest

from tether.demo.orders import (
    ITEMS_BY_ID,
    MAX_LINES,
    NO_LINES,
    Address,
    OrderInvalid,
    form_line_count,
    order_document,
    parse_order_form,
    parse_order_json,
)

from .support import order_form


def test_form_gives_an_order_with_the_filled_lines_only() -> None:
    draft = parse_order_form(order_form())
    assert draft.customer.name == "Wolff"
    assert draft.delivery_service == "Hermes"
    assert [(line.count, line.item.name) for line in draft.lines] == [(42, "iPod"), (2, "iPad")]


def test_empty_billing_address_means_the_shipping_address() -> None:
    draft = parse_order_form(order_form())
    assert draft.billing_address == draft.shipping_address
    other = parse_order_form(order_form(billing_street="Main 1", billing_zip="1", billing_city="Bonn"))
    assert other.billing_address == Address("Main 1", "1", "Bonn")


def test_order_without_lines_is_refused_with_a_clear_message() -> None:
    with pytest.raises(OrderInvalid) as caught:
        parse_order_form(order_form(count0="", count1="0"))
    assert caught.value.problems == (NO_LINES,)


@pytest.mark.parametrize("count", ["-1", "x", "10001", "1.5"])
def test_bad_counts_are_named_by_line(count: str) -> None:
    with pytest.raises(OrderInvalid) as caught:
        parse_order_form(order_form(count1=count))
    assert caught.value.problems == ("Line 2: the count must be a whole number from 1 to 10000.",)


def test_every_problem_is_listed() -> None:
    with pytest.raises(OrderInvalid) as caught:
        parse_order_form(order_form(name="", email="nope", deliveryService="UPS", shipping_city="", item0="99"))
    problems = caught.value.problems
    assert "The customer's name is missing." in problems
    assert "The email address needs an @." in problems
    assert "Choose a delivery service: DHL or Hermes." in problems
    assert "The shipping address needs street, zip and city." in problems
    assert "Line 1: choose an item from the catalogue." in problems
    assert NO_LINES not in problems  # a bad line is reported as itself


def test_line_count_is_bounded() -> None:
    assert form_line_count({}) == 3
    assert form_line_count({"lines": "0"}) == 1
    assert form_line_count({"lines": "999"}) == MAX_LINES
    assert form_line_count({"lines": "many"}) == 3


def test_document_has_the_books_json_shape() -> None:
    document = order_document(7, 3, parse_order_form(order_form()), "2019-05-20T11:49:22.111+00:00")
    assert document == {
        "id": 7,
        "numberOfLines": 2,
        "deliveryService": "Hermes",
        "customer": {
            "customerId": 3,
            "name": "Wolff",
            "firstname": "Eberhard",
            "email": "eberhard.wolff@example.org",
        },
        "shippingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
        "billingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
        "orderLine": [
            {"count": 42, "item": {"itemId": 1, "name": "iPod", "price": 23.0}},
            {"count": 2, "item": {"itemId": 5, "name": "iPad", "price": 349.0}},
        ],
        "updated": "2019-05-20T11:49:22.111+00:00",
    }


def test_json_round_trip_uses_catalogue_prices() -> None:
    document = order_document(1, 1, parse_order_form(order_form()), "t")
    document["orderLine"][0]["item"]["price"] = 0.01  # a client cannot set its own price
    draft = parse_order_json(document)
    assert draft.lines[0].item == ITEMS_BY_ID[1]
    assert draft.billing_address == draft.shipping_address


@pytest.mark.parametrize("document", [[], "x", {}, {"orderLine": "x"}])
def test_bad_json_orders_are_refused(document: object) -> None:
    with pytest.raises(OrderInvalid):
        parse_order_json(document)


def test_missing_shipping_address_is_reported_once() -> None:
    with pytest.raises(OrderInvalid) as caught:
        parse_order_form(order_form(shipping_street=""))
    assert caught.value.problems == ("The shipping address needs street, zip and city.",)


def test_partial_billing_address_is_reported() -> None:
    with pytest.raises(OrderInvalid) as caught:
        parse_order_form(order_form(billing_city="Bonn"))
    assert caught.value.problems == ("The billing address needs street, zip and city (or leave it all empty).",)
