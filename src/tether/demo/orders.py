"""The order data of the book's example: catalogue, validation of a new order, JSON format.

Pure functions only; the order service (``tether.demo.order``) stores and serves them.
The JSON shape follows the example's contract (``numberOfLines``, ``deliveryService``,
``customer``, ``shippingAddress``, ``billingAddress``, ``orderLine[].item``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.core.errors import TetherError


@dataclass(frozen=True)
class Item:
    """A catalogue entry."""

    item_id: int
    name: str
    price: float


CATALOGUE: tuple[Item, ...] = (
    Item(1, "iPod", 23.0),
    Item(2, "iPod touch", 21.0),
    Item(3, "iPod nano", 1.0),
    Item(4, "Apple TV", 100.0),
    Item(5, "iPad", 349.0),
    Item(6, "MacBook Air", 999.0),
)
ITEMS_BY_ID = {item.item_id: item for item in CATALOGUE}
DELIVERY_SERVICES = ("DHL", "Hermes")
MAX_LINES = 20
MAX_COUNT = 10_000


@dataclass(frozen=True)
class Address:
    street: str
    zip: str
    city: str


@dataclass(frozen=True)
class Customer:
    name: str
    firstname: str
    email: str


@dataclass(frozen=True)
class OrderLine:
    count: int
    item: Item


@dataclass(frozen=True)
class OrderDraft:
    """A validated order that has no id yet."""

    customer: Customer
    delivery_service: str
    shipping_address: Address
    billing_address: Address
    lines: tuple[OrderLine, ...]


class OrderInvalid(TetherError):
    """An order cannot be accepted; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


NO_LINES = "An order needs at least one line: choose an item and a count of 1 or more."


def form_line_count(form: Mapping[str, str]) -> int:
    """Return how many line rows the order form shows (hidden field ``lines``, 1..MAX_LINES)."""
    try:
        return max(1, min(MAX_LINES, int(form.get("lines", "3"))))
    except ValueError:
        return 3


def parse_order_form(form: Mapping[str, str]) -> OrderDraft:
    """Return the order described by the HTML form's fields.

    Line ``i`` is ``item<i>`` (catalogue id) and ``count<i>``; rows with an empty or zero
    count are skipped. Empty billing fields mean "same as the shipping address".
    Raises OrderInvalid listing every problem (missing fields, bad counts, no lines).
    """
    problems: list[str] = []
    lines: list[OrderLine] = []
    for index in range(form_line_count(form)):
        raw = form.get(f"count{index}", "").strip()
        if raw in ("", "0"):
            continue
        item = _catalogue_item(form.get(f"item{index}", ""), index, problems)
        count = _count(raw, index, problems)
        if item is not None and count is not None:
            lines.append(OrderLine(count, item))
    shipping = Address(*(form.get(f"shipping_{k}", "").strip() for k in ("street", "zip", "city")))
    billing = Address(*(form.get(f"billing_{k}", "").strip() for k in ("street", "zip", "city")))
    if billing == Address("", "", ""):
        billing = shipping
    return _checked(
        Customer(*(form.get(k, "").strip() for k in ("name", "firstname", "email"))),
        form.get("deliveryService", ""),
        shipping,
        billing,
        lines,
        problems,
    )


def parse_order_json(document: Any) -> OrderDraft:
    """Return the order in a JSON document of the book's format (ids and prices are ignored;
    items are looked up by ``itemId`` in the catalogue). Raises OrderInvalid.
    """
    if not isinstance(document, dict):
        raise OrderInvalid(["The order must be a JSON object."])
    problems: list[str] = []
    lines: list[OrderLine] = []
    raw_lines = document.get("orderLine", [])
    for index, raw in enumerate(raw_lines if isinstance(raw_lines, list) else []):
        raw = raw if isinstance(raw, dict) else {}
        item_ref = raw.get("item", {})
        item = _catalogue_item(str(item_ref.get("itemId", "") if isinstance(item_ref, dict) else ""), index, problems)
        count = _count(str(raw.get("count", "")), index, problems)
        if item is not None and count is not None:
            lines.append(OrderLine(count, item))

    def text(obj: Any, key: str) -> str:
        value = obj.get(key, "") if isinstance(obj, dict) else ""
        return value.strip() if isinstance(value, str) else ""

    def address(key: str) -> Address:
        raw = document.get(key)
        return Address(text(raw, "street"), text(raw, "zip"), text(raw, "city"))

    shipping = address("shippingAddress")
    billing = address("billingAddress") if document.get("billingAddress") else shipping
    customer = document.get("customer")
    return _checked(
        Customer(text(customer, "name"), text(customer, "firstname"), text(customer, "email")),
        str(document.get("deliveryService", "")),
        shipping,
        billing,
        lines,
        problems,
    )


def order_document(order_id: int, customer_id: int, draft: OrderDraft, updated: str) -> dict[str, Any]:
    """Return the order as the JSON document ``GET /order/{id}`` serves."""

    def address(a: Address) -> dict[str, str]:
        return {"street": a.street, "zip": a.zip, "city": a.city}

    return {
        "id": order_id,
        "numberOfLines": len(draft.lines),
        "deliveryService": draft.delivery_service,
        "customer": {
            "customerId": customer_id,
            "name": draft.customer.name,
            "firstname": draft.customer.firstname,
            "email": draft.customer.email,
        },
        "shippingAddress": address(draft.shipping_address),
        "billingAddress": address(draft.billing_address),
        "orderLine": [
            {
                "count": line.count,
                "item": {
                    "itemId": line.item.item_id,
                    "name": line.item.name,
                    "price": line.item.price,
                },
            }
            for line in draft.lines
        ],
        "updated": updated,
    }


def _catalogue_item(raw: str, index: int, problems: list[str]) -> Item | None:
    try:
        return ITEMS_BY_ID[int(raw)]
    except (ValueError, KeyError):
        problems.append(f"Line {index + 1}: choose an item from the catalogue.")
        return None


def _count(raw: str, index: int, problems: list[str]) -> int | None:
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 1 <= count <= MAX_COUNT:
        problems.append(f"Line {index + 1}: the count must be a whole number from 1 to {MAX_COUNT}.")
        return None
    return count


def _checked(
    customer: Customer,
    delivery_service: str,
    shipping: Address,
    billing: Address,
    lines: list[OrderLine],
    problems: list[str],
) -> OrderDraft:
    for label, value in (
        ("name", customer.name),
        ("first name", customer.firstname),
        ("email", customer.email),
    ):
        if not value:
            problems.append(f"The customer's {label} is missing.")
    if customer.email and "@" not in customer.email:
        problems.append("The email address needs an @.")
    if delivery_service not in DELIVERY_SERVICES:
        problems.append(f"Choose a delivery service: {' or '.join(DELIVERY_SERVICES)}.")
    if not (shipping.street and shipping.zip and shipping.city):
        problems.append("The shipping address needs street, zip and city.")
    if billing != shipping and not (billing.street and billing.zip and billing.city):
        problems.append("The billing address needs street, zip and city (or leave it all empty).")
    if not lines and not any(p.startswith("Line ") for p in problems):
        problems.append(NO_LINES)
    if problems:
        raise OrderInvalid(problems)
    return OrderDraft(customer, delivery_service, shipping, billing, tuple(lines))
