"""The invoicing service of the book's example: ``python -m tether.demo.invoicing``.

It polls the order feed (see ``tether.demo.consumer`` for the environment) and writes an
invoice for every new order: the total is the sum of count * price over its lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from tether.demo.consumer import Column, RecordKind, build
from tether.demo.layout import definitions, esc, money, table, when_iso
from tether.demo.poller import RecordRejected
from tether.demo.server import run


def invoice_total(lines: Iterable[Mapping[str, Any]]) -> float:
    """Return the sum of ``count * item.price`` over order lines, rounded to cents.

    Raises RecordRejected for a negative count or price, KeyError/TypeError for a bad line.
    """
    total = 0.0
    for line in lines:
        count, price = int(line["count"]), float(line["item"]["price"])
        if count < 0 or price < 0:
            raise RecordRejected(f"negative count or price in line {dict(line)}")
        total += count * price
    return round(total, 2)


def to_invoice(order: Mapping[str, Any]) -> dict[str, Any]:
    """Return the invoice for an order document.

    Raises RecordRejected or KeyError/TypeError/ValueError for a malformed order.
    """
    lines = [{"count": int(line["count"]), "item": dict(line["item"])} for line in order["orderLine"]]
    return {
        "id": int(order["id"]),
        "customer": dict(order["customer"]),
        "updated": str(order["updated"]),
        "billingAddress": dict(order["billingAddress"]),
        "invoiceLine": lines,
        "total": invoice_total(lines),
    }


def _customer(invoice: Mapping[str, Any]) -> str:
    c = invoice["customer"]
    return esc(f"{c.get('firstname', '')} {c.get('name', '')}")


def _details(invoice: Mapping[str, Any]) -> str:
    a = invoice["billingAddress"]
    facts = definitions(
        [
            ("Order", str(invoice["id"])),
            ("Customer", _customer(invoice)),
            ("Email", esc(invoice["customer"].get("email", ""))),
            ("Bill to", esc(f"{a.get('street', '')}, {a.get('zip', '')} {a.get('city', '')}")),
            ("Order updated", esc(when_iso(invoice["updated"]))),
        ]
    )
    rows = [
        (
            esc(line["item"]["name"]),
            str(line["count"]),
            money(line["item"]["price"]),
            money(line["count"] * line["item"]["price"]),
        )
        for line in invoice["invoiceLine"]
    ]
    rows.append(("<strong>Total</strong>", "", "", f"<strong>{money(invoice['total'])}</strong>"))
    return facts + table(["Item", "Count", "Price", "Amount"], rows, (1, 2, 3))


KIND = RecordKind(
    service="invoicing",
    plural="Invoices",
    singular="Invoice",
    convert=to_invoice,
    columns=(
        Column("Customer", _customer),
        Column("City", lambda i: esc(i["billingAddress"].get("city", ""))),
        Column("Lines", lambda i: str(len(i["invoiceLine"])), True),
        Column("Total", lambda i: money(i["total"]), True),
    ),
    details=_details,
)


def main() -> int:
    """Run the invoicing service until SIGTERM/SIGINT; return the exit status."""
    return run(lambda env: build(KIND, env))


if __name__ == "__main__":
    sys.exit(main())
