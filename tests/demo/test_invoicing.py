from __future__ import annotations

import pytest

from tether.demo.invoicing import KIND, invoice_total, to_invoice
from tether.demo.orders import order_document, parse_order_form
from tether.demo.poller import RecordRejected

from .support import order_form


def test_total_is_the_sum_of_count_times_price() -> None:
    lines = [{"count": 42, "item": {"price": 23}}, {"count": 2, "item": {"price": 349.0}}]
    assert invoice_total(lines) == 42 * 23 + 2 * 349
    assert invoice_total([]) == 0
    assert invoice_total([{"count": 3, "item": {"price": 0.1}}]) == 0.3


def test_negative_amounts_are_rejected() -> None:
    with pytest.raises(RecordRejected):
        invoice_total([{"count": -1, "item": {"price": 1}}])


def test_invoice_from_an_order() -> None:
    order = order_document(
        9, 1, parse_order_form(order_form(billing_street="B 1", billing_zip="2", billing_city="C")), "t"
    )
    invoice = to_invoice(order)
    assert invoice["id"] == 9
    assert invoice["total"] == 1664.0
    assert invoice["billingAddress"] == {"street": "B 1", "zip": "2", "city": "C"}
    assert len(invoice["invoiceLine"]) == 2


def test_pages_render_an_invoice() -> None:
    invoice = to_invoice(order_document(9, 1, parse_order_form(order_form()), "t"))
    cells = [column.cell(invoice) for column in KIND.columns]
    assert cells == ["Eberhard Wolff", "Monheim am Rhein", "2", "1,664.00"]
    assert "<strong>1,664.00</strong>" in KIND.details(invoice)


def test_malformed_order_raises_key_error() -> None:
    with pytest.raises(KeyError):
        to_invoice({"id": 1})
