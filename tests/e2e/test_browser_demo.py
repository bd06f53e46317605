"""``tether demo`` in a real browser (issue 7, with the dashboard of issue 6): from the home
page to the order form, an order placed, "Poll now" on shipping shows its shipment; the
dashboard shows the four services and the gateway with their edges.

Debian's Chromium driven by Playwright; skips without them (fails under CI=true).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.testing.browser import chromium_page, need_browser
from tether.testing.procs import RunningProcess, start_demo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("home", "order", "shipping", "invoicing")
EDGES = ("ingressgateway->default/home", "ingressgateway->default/order", "ingressgateway->default/shipping",
         "ingressgateway->default/invoicing", "shipping->default/order", "invoicing->default/order")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningProcess]:
    """``tether demo`` on free ports with the gentle load, polls only on demand; stopped at teardown."""
    need_browser()
    proc = start_demo(tmp_path, tmp_path / "data", ["--load"])
    try:
        yield proc
    finally:
        proc.stop(15)


@pytest.fixture
def tab(tmp_path: Path) -> Iterator[Any]:
    with chromium_page(30_000) as page:
        yield page


def test_order_to_shipment_and_the_dashboard(demo: RunningProcess, tab: Any, tmp_path: Path) -> None:
    gateway = f"http://127.0.0.1:{demo.ports['gateway']}"
    control = f"http://127.0.0.1:{demo.ports['control']}"
    customer = f"Tester{uuid.uuid4().hex[:8]}"

    tab.goto(gateway + "/")
    tab.click('a[href="/order/"]')
    tab.wait_for_url("**/order/")
    tab.click("text=Enter a new order")
    tab.wait_for_url("**/order/form.html")
    for field, value in (("name", customer), ("firstname", "Eberhard"), ("email", "e@example.com"),
                         ("shipping_street", "Krischerstr. 100"), ("shipping_zip", "40789"),
                         ("shipping_city", "Monheim am Rhein")):
        tab.fill(f"#{field}", value)
    tab.fill('input[name="count0"]', "2")
    tab.click("button:has-text('Place order')")
    tab.wait_for_selector(f"text=Eberhard {customer}")
    tab.screenshot(path=str(tmp_path / "demo-order.png"), full_page=True)

    tab.goto(gateway + "/shipping/")
    tab.click("button:has-text('Poll now')")
    tab.wait_for_selector(f"td:has-text('{customer}')")  # the shipment made of the new order
    tab.screenshot(path=str(tmp_path / "demo-shipping.png"), full_page=True)

    tab.goto(control + "/")
    for name in SERVICES:
        tab.wait_for_selector(f'[data-node="default/{name}"]')
    tab.wait_for_selector('[data-node="default/ingressgateway"].gateway')
    for edge in EDGES:  # the page refreshes itself as pushes arrive
        tab.wait_for_selector(f'[data-edge="default/{edge}"]')
    shot = tmp_path / "demo-dashboard.png"
    tab.screenshot(path=str(shot))
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    shutil.copy(shot, out / shot.name)
