"""The demo services behind a real static-mode sidecar: the app only sees ``HTTP_PROXY``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from tether.testing.sidecar import start_sidecar

from .support import call, free_port, order_form, start

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_shipping_reaches_order_by_name_through_its_sidecar(tmp_path: Path) -> None:
    order = start("order", tmp_path)  # feed links stay http://order/order/<id>
    sidecar = None
    shipping = None
    try:
        sidecar = start_sidecar(tmp_path, "shipping", {"order": order.port}, app_port=free_port())
        shipping = start("shipping", tmp_path, POLL_INTERVAL="0", HTTP_PROXY=f"http://127.0.0.1:{sidecar.outbound}")
        assert call(f"{order.url}/", "POST", urlencode(order_form()).encode(), FORM).status == 303
        assert call(f"{shipping.url}/poll", "POST", b"", JSON).json() == {"ok": True, "new": 1, "error": ""}
        assert call(f"{shipping.url}/1.json").json()["cost"] == 2
        paths = {e["path"] for e in sidecar.log_entries(2, lambda e: e["direction"] == "outbound")}
        assert {"/feed", "/order/1"} <= paths

        order.stop()
        failed = call(f"{shipping.url}/poll", "POST", b"", JSON).json()
        assert failed["ok"] is False
        assert "feed http://order/feed answered HTTP 503" in failed["error"]
        assert call(f"{shipping.url}/").status == 200
    finally:
        if shipping is not None:
            shipping.stop()
        if sidecar is not None:
            sidecar.proc.stop()
        order.stop()
