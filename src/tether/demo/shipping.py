"""The shipping service of the book's example: ``python -m tether.demo.shipping``.

It polls the order feed (see ``tether.demo.consumer`` for the environment) and makes a
shipment of every new order; the delivery service decides the cost.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from tether.demo.consumer import Column, RecordKind, build
from tether.demo.layout import definitions, esc, money, table, when_iso
from tether.demo.poller import RecordRejected
from tether.demo.server import run

COSTS = {"DHL": 1, "Hermes": 2}


def shipping_cost(delivery_service: str) -> int:
    """Return the cost of shipping with ``delivery_service``.

    Raises RecordRejected for a delivery service other than DHL or Hermes.
    """
    try:
        return COSTS[delivery_service]
    except KeyError:
        raise RecordRejected(f"unknown delivery service {delivery_service!r}") from None


def to_shipment(order: Mapping[str, Any]) -> dict[str, Any]:
    """Return the shipment for an order document.

    Raises RecordRejected (unknown delivery service) or KeyError/TypeError (malformed order).
    """
    return {
        "id": int(order["id"]),
        "customer": dict(order["customer"]),
        "updated": str(order["updated"]),
        "shippingAddress": dict(order["shippingAddress"]),
        "shipmentLine": [{"count": int(line["count"]), "item": dict(line["item"])} for line in order["orderLine"]],
        "deliveryService": order["deliveryService"],
        "cost": shipping_cost(order["deliveryService"]),
    }


def _customer(shipment: Mapping[str, Any]) -> str:
    c = shipment["customer"]
    return esc(f"{c.get('firstname', '')} {c.get('name', '')}")


def _details(shipment: Mapping[str, Any]) -> str:
    a = shipment["shippingAddress"]
    facts = definitions(
        [
            ("Order", str(shipment["id"])),
            ("Customer", _customer(shipment)),
            ("Ship to", esc(f"{a.get('street', '')}, {a.get('zip', '')} {a.get('city', '')}")),
            ("Delivery service", esc(shipment["deliveryService"])),
            ("Cost", money(shipment["cost"])),
            ("Order updated", esc(when_iso(shipment["updated"]))),
        ]
    )
    rows = [(esc(line["item"]["name"]), str(line["count"])) for line in shipment["shipmentLine"]]
    return facts + table(["Item", "Count"], rows, (1,))


KIND = RecordKind(
    service="shipping",
    plural="Shipments",
    singular="Shipment",
    convert=to_shipment,
    columns=(
        Column("Customer", _customer),
        Column("City", lambda s: esc(s["shippingAddress"].get("city", ""))),
        Column("Delivery", lambda s: esc(s["deliveryService"])),
        Column("Items", lambda s: str(sum(line["count"] for line in s["shipmentLine"])), True),
        Column("Cost", lambda s: money(s["cost"]), True),
    ),
    details=_details,
)


def main() -> int:
    """Run the shipping service until SIGTERM/SIGINT; return the exit status."""
    return run(lambda env: build(KIND, env))


if __name__ == "__main__":
    sys.exit(main())
