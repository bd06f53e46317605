"""A gentle load for the demo (``tether demo --load``): a user clicking around, so the
dashboard has traffic. About two requests a second through the gateway; an order now and
then, followed by polls of shipping and invoicing."""

from __future__ import annotations

import json
import random
import threading
import urllib.request

from tether.demo.orders import CATALOGUE, DELIVERY_SERVICES

PAGES = ("/", "/order/", "/shipping/", "/invoicing/", "/order/feed")


def sample_order(rng: random.Random) -> dict[str, object]:
    """Return a new order in the book's JSON format with one or two random lines."""
    address = {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"}
    lines = [
        {"count": rng.randint(1, 5), "item": {"itemId": item.item_id}}
        for item in rng.sample(CATALOGUE, rng.randint(1, 2))
    ]
    return {
        "customer": {"name": "Wolff", "firstname": "Eberhard", "email": "eberhard.wolff@example.com"},
        "deliveryService": rng.choice(DELIVERY_SERVICES),
        "shippingAddress": address,
        "billingAddress": address,
        "orderLine": lines,
    }


class LoadGenerator:
    """Runs the gentle load in a daemon thread until ``stop``."""

    def __init__(self, base_url: str, rate_per_s: float = 2.0, rng: random.Random | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.interval = 1.0 / rate_per_s
        self.rng = rng or random.Random()
        self.stopped = threading.Event()
        self.sent = 0
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.thread = threading.Thread(target=self._run, name="demo-load", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            if self.rng.random() < 0.1:
                self._call("POST", "/order/", sample_order(self.rng))
                self._call("POST", "/shipping/poll", None)
                self._call("POST", "/invoicing/poll", None)
            else:
                self._call("GET", self.rng.choice(PAGES), None)

    def _call(self, method: str, path: str, body: object) -> None:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=10) as reply:
                reply.read()
        except OSError:
            pass  # errors are what the dashboard is for; the load goes on
        self.sent += 1
