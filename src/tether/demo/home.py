"""The home page of the book's example (the book serves it with Apache httpd):
``python -m tether.demo.home``. It links to the three services under the ingress
gateway's prefixes.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from tether.demo.layout import page
from tether.demo.server import run
from tether.demo.web import Request, Response, Router, html

LINKS = (
    ("/order/", "Order", "Enter new orders, list and delete them. Its feed lists every order."),
    ("/shipping/", "Shipping", "Polls the order feed and makes a shipment of each new order."),
    ("/invoicing/", "Invoicing", "Polls the order feed and writes an invoice for each new order."),
)

EXPLANATION = (
    "<p>Three small services make up this example. Order takes orders; shipping and "
    "invoicing fetch them over plain HTTP and JSON by polling order's feed. None of them "
    "contains any mesh code: each one runs next to a Tether sidecar, which gives the "
    "traffic between them metrics, traces, retries, timeouts, circuit breaking, fault "
    "injection and mutual TLS.</p>"
    '<p class="note">Try it: enter an order, then press "Poll now" on the shipping or '
    "invoicing page. Inject a fault into order with <code>tether apply</code> and poll "
    "again: the poll fails and says so, yet every page keeps working, because polling "
    "decouples the services.</p>"
)


def home_page() -> str:
    """Return the home page HTML."""
    items = "".join(f'<li><a href="{href}"><strong>{label}</strong></a> — {about}</li>' for href, label, about in LINKS)
    return page("Tether example", "The book's example system", f"{EXPLANATION}<ul>{items}</ul>")


class HomeService:
    """Serves the home page at ``/`` and ``/index.html``."""

    name = "home"

    def __init__(self) -> None:
        self._router = Router()
        self._router.add("GET", r"/(?:index\.html)?", lambda request, match: html(home_page()))

    def handle(self, request: Request) -> Response:
        """Return the home page, or 404/405."""
        return self._router(request)

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to close."""


def build(env: Mapping[str, str]) -> HomeService:
    """Return the home service (it has no settings besides PORT)."""
    return HomeService()


def main() -> int:
    """Run the home page service until SIGTERM/SIGINT; return the exit status."""
    return run(build)


if __name__ == "__main__":
    sys.exit(main())
