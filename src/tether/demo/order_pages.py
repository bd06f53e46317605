"""HTML pages of the order service: the list, the order form, one order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tether.demo.layout import definitions, esc, money, page, table, when_iso
from tether.demo.orders import CATALOGUE, DELIVERY_SERVICES, form_line_count

SERVICE = "Order"
NAV = (("./", "Orders"), ("form.html", "New order"), ("../", "Home"))


def list_page(orders: Sequence[Mapping[str, Any]]) -> str:
    """Return the order list with a link and a delete button per order."""
    rows = [
        (
            f'<a href="{order["id"]}">{order["id"]}</a>',
            esc(f"{order['customer']['firstname']} {order['customer']['name']}"),
            esc(order["shippingAddress"]["city"]),
            esc(order["deliveryService"]),
            str(order["numberOfLines"]),
            esc(when_iso(order["updated"])),
            f'<form class="inline" method="post" action="{order["id"]}">'
            '<input type="hidden" name="_method" value="DELETE">'
            '<button class="danger" type="submit">Delete</button></form>',
        )
        for order in orders
    ]
    body = (
        '<p><a class="button" href="form.html">Enter a new order</a></p>'
        + (
            table(["Id", "Customer", "City", "Delivery", "Lines", "Updated", ""], rows, (4,))
            if rows
            else '<p class="note">No orders yet.</p>'
        )
        + '<p class="note">Shipping and invoicing fetch new orders from this service\'s '
        '<a href="feed">feed</a>.</p>'
    )
    return page(SERVICE, "Orders", body, NAV)


def form_page(values: Mapping[str, str], problems: Sequence[str] = ()) -> str:
    """Return the order form filled with ``values`` and, when given, the problems to fix."""

    def field(name: str, label: str, kind: str = "text") -> str:
        return (
            f'<label for="{name}">{esc(label)}</label> '
            f'<input id="{name}" name="{name}" type="{kind}" value="{esc(values.get(name, ""))}">'
            "<br>"
        )

    def address(prefix: str, legend: str, note: str = "") -> str:
        fields = "".join(
            field(f"{prefix}_{key}", label) for key, label in (("street", "Street"), ("zip", "Zip"), ("city", "City"))
        )
        return f"<fieldset><legend>{esc(legend)}</legend>{note}{fields}</fieldset>"

    chosen = values.get("deliveryService", DELIVERY_SERVICES[0])
    delivery = "".join(
        f'<label><input type="radio" name="deliveryService" value="{esc(name)}"'
        f"{' checked' if name == chosen else ''}> {esc(name)}</label> "
        for name in DELIVERY_SERVICES
    )
    count = form_line_count(values)
    lines = []
    for index in range(count):
        selected = values.get(f"item{index}", "")
        options = "".join(
            f'<option value="{item.item_id}"'
            f"{' selected' if str(item.item_id) == selected else ''}>"
            f"{esc(item.name)} ({money(item.price)})</option>"
            for item in CATALOGUE
        )
        lines.append(
            (
                str(index + 1),
                f'<select name="item{index}" aria-label="item of line {index + 1}">{options}</select>',
                f'<input name="count{index}" type="number" min="0" max="10000" '
                f'aria-label="count of line {index + 1}" '
                f'value="{esc(values.get(f"count{index}", ""))}">',
            )
        )
    errors = (
        '<div class="error"><ul>' + "".join(f"<li>{esc(p)}</li>" for p in problems) + "</ul></div>" if problems else ""
    )
    body = (
        f'{errors}<form method="post" action="./">'
        f'<input type="hidden" name="lines" value="{count}">'
        "<fieldset><legend>Customer</legend>"
        + field("name", "Name")
        + field("firstname", "First name")
        + field("email", "Email", "email")
        + "</fieldset>"
        + f"<fieldset><legend>Delivery service</legend>{delivery}</fieldset>"
        + address("shipping", "Shipping address")
        + address(
            "billing",
            "Billing address",
            '<p class="note">Leave empty to bill to the shipping address.</p>',
        )
        + "<fieldset><legend>Order lines</legend>"
        + table(["#", "Item", "Count"], lines)
        + '<p class="note">Lines with no count are left out.</p>'
        '<button class="secondary" type="submit" formaction="line">Add a line</button>'
        "</fieldset>"
        '<button type="submit">Place order</button></form>'
    )
    return page(SERVICE, "New order", body, NAV)


def order_page(order: Mapping[str, Any]) -> str:
    """Return one order's details with its lines and a delete button."""
    customer = order["customer"]

    def address(a: Mapping[str, str]) -> str:
        return f"{esc(a['street'])}, {esc(a['zip'])} {esc(a['city'])}"

    facts = definitions(
        [
            ("Id", str(order["id"])),
            ("Customer", esc(f"{customer['firstname']} {customer['name']} <{customer['email']}>")),
            ("Delivery service", esc(order["deliveryService"])),
            ("Shipping address", address(order["shippingAddress"])),
            ("Billing address", address(order["billingAddress"])),
            ("Updated", esc(when_iso(order["updated"]))),
            ("JSON", f'<a href="order/{order["id"]}">order/{order["id"]}</a>'),
        ]
    )
    rows = [
        (
            esc(line["item"]["name"]),
            str(line["count"]),
            money(line["item"]["price"]),
            money(line["count"] * line["item"]["price"]),
        )
        for line in order["orderLine"]
    ]
    body = (
        facts
        + table(["Item", "Count", "Price", "Amount"], rows, (1, 2, 3))
        + f'<form method="post" action="{order["id"]}">'
        '<input type="hidden" name="_method" value="DELETE">'
        '<button class="danger" type="submit">Delete this order</button></form>'
    )
    return page(SERVICE, f"Order {order['id']}", body, NAV)
