from __future__ import annotations

import re

from tether.demo.order_pages import form_page, list_page, order_page
from tether.demo.orders import order_document, parse_order_form

from .support import order_form


def document(**overrides: str) -> dict[str, object]:
    return order_document(3, 1, parse_order_form(order_form(**overrides)), "t")


def test_every_link_and_form_target_is_relative() -> None:
    pages = [list_page([document()]), form_page({}), order_page(document())]
    for page in pages:
        targets = re.findall(r'(?:href|action|formaction)="([^"]*)"', page)
        assert targets
        assert all(not t.startswith(("/", "http")) for t in targets), targets


def test_list_has_delete_buttons_posting_method_delete() -> None:
    page = list_page([document()])
    assert '<form class="inline" method="post" action="3">' in page
    assert 'name="_method" value="DELETE"' in page
    assert "No orders yet." in list_page([])


def test_user_text_is_escaped() -> None:
    page = order_page(document(name="<script>alert(1)</script>"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_form_keeps_values_and_shows_problems() -> None:
    page = form_page(order_form(deliveryService="DHL", lines="2"), ["Fix <this>."])
    assert '<div class="error"><ul><li>Fix &lt;this&gt;.</li></ul></div>' in page
    assert 'value="DHL" checked' in page
    assert '<option value="5" selected>' in page
    assert 'name="count1"' in page and 'name="count2"' not in page


def test_order_page_shows_amounts() -> None:
    page = order_page(document())
    assert "966.00" in page  # 42 x 23
    assert 'href="order/3"' in page
