"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a live mesh:
a control plane and the sidecars of ``order`` (the caller) and ``shipping``, with traffic
between them. The graph shows both workloads and their edge, a service page shows its
metrics and live tap lines (filterable, with their headers), and a trace opens as a
waterfall. Screenshots land in the test's tmp_path, and one in test-output/ at the root.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.testing.browser import chromium_page, need_browser
from tether.testing.mesh import Mesh
from tether.testing.procs import wait_until
from tether.testing.rawhttp import http_request
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MAX_CALLS = 3000  # the traffic loop's bound; at 20 calls a second a test module never gets near


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A Chromium page at 1280x800 in a new empty profile; closed at teardown."""
    with chromium_page(20_000) as tab:
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        assert errors == [], errors  # no script error on any page


def keep(tab: Any, tmp_path: Path, name: str, *, publish: bool = False) -> Path:
    """Screenshot ``tab`` into tmp_path (and test-output/ when ``publish``); return the file."""
    shot = tmp_path / f"{name}.png"
    tab.screenshot(path=str(shot), full_page=True)
    if publish:
        out = ROOT / "test-output"
        out.mkdir(exist_ok=True)
        shutil.copy(shot, out / shot.name)
    return shot


class LiveMesh:
    """A control plane, order's and shipping's sidecars before one app, and a traffic thread."""

    def __init__(self, mesh: Mesh, app: ScriptableUpstream) -> None:
        self.mesh, self.app = mesh, app
        for name in ("shipping", "order"):
            mesh.start_proxy(name, app.port, extra=["--trace-sampling", "100", "--telemetry-interval", "0.5"])
        assert wait_until(lambda: mesh.all_synced(2), 15), mesh.status()
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._traffic, name="traffic", daemon=True)
        self.thread.start()

    def _traffic(self) -> None:
        port = self.mesh.proxies["order"].port("outbound")
        while self.sent < MAX_CALLS and not self.stop.wait(0.05):
            path = "/status/500" if self.sent % 10 == 9 else f"/shipments/{self.sent % 7}"
            with contextlib.suppress(OSError):  # a sidecar going away at teardown
                http_request(port, "GET", path, [("Host", "shipping")], timeout=5)
            self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMesh]:
    need_browser()
    mesh = Mesh(tmp_path_factory.mktemp("dashboard-mesh"))
    running: LiveMesh | None = None
    try:
        with ScriptableUpstream() as app:
            mesh.start_control()
            running = LiveMesh(mesh, app)
            yield running
    finally:
        if running is not None:
            running.close()
        mesh.close()


def test_graph_service_page_tap_and_trace(live: LiveMesh, page: Any, tmp_path: Path) -> None:
    tab = page
    tab.goto(live.mesh.url + "/")
    assert tab.title() == "Overview · Tether"
    for node in ("default/order", "default/shipping"):
        tab.wait_for_selector(f'[data-node="{node}"]')
    # The edge appears once a push has arrived; the page refreshes itself.
    edge = tab.wait_for_selector('[data-edge="default/order->default/shipping"]')
    assert "rps" in edge.text_content() and edge.get_attribute("data-mtls") == "false"
    assert tab.get_attribute('[data-node="default/shipping"]', "data-health") in ("ok", "warn", "bad")
    assert tab.locator('table.golden a[data-service="shipping"]').count() == 1
    keep(tab, tmp_path, "dashboard-overview", publish=True)

    tab.click('[data-node="default/shipping"]')
    tab.wait_for_url("**/service/default/shipping?window=1m")
    assert tab.locator("h1").text_content() == "shipping.default"
    assert tab.locator('[data-metric="success"] .value').text_content().endswith("%")
    tab.locator("table.tap-lines tr.tap-line").nth(2).wait_for()
    assert tab.get_attribute("#tap", "data-state") == "live"
    first = tab.locator("table.tap-lines tr.tap-line").first
    assert "order → shipping" in first.text_content()
    first.click()
    detail = tab.locator("table.tap-lines tr.detail:not([hidden])").first
    assert "x-request-id" in detail.text_content() and "authority: shipping" in detail.text_content()
    keep(tab, tmp_path, "dashboard-service", publish=True)

    tab.fill('#tap input[name="status"]', "5xx")
    tab.click('#tap button[type="submit"]')
    tab.locator("table.tap-lines tr.tap-line").nth(1).wait_for()
    statuses = tab.eval_on_selector_all("table.tap-lines tr.tap-line", "rows => rows.map(r => r.dataset.status)")
    assert statuses and all(s == "500" for s in statuses), statuses

    tab.wait_for_selector("#traces a.trace-link")
    tab.click("#traces a.trace-link >> nth=0")
    tab.wait_for_selector(".waterfall .span-row")
    assert tab.locator(".waterfall .span-row").count() == 2  # order's client span, shipping's server span
    keep(tab, tmp_path, "dashboard-trace")


def test_config_and_proxy_pages(live: LiveMesh, page: Any, tmp_path: Path) -> None:
    tab = page
    tab.goto(live.mesh.url + "/proxies")
    assert sorted(tab.eval_on_selector_all("[data-status]", "xs => xs.map(x => x.dataset.status)")) == [
        "SYNCED", "SYNCED"]
    tab.click("header nav >> text=Config")
    tab.wait_for_url("**/config")
    assert "no findings" in tab.locator("#findings").text_content()
    tab.click("header nav >> text=Live tap")
    tab.fill('#tap input[name="service"]', "order")
    tab.click('#tap button[type="submit"]')
    tab.locator("table.tap-lines tr.tap-line").first.wait_for()
    keep(tab, tmp_path, "dashboard-tap")
