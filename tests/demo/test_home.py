from __future__ import annotations

from pathlib import Path

import pytest

from tether.demo.home import HomeService, build, home_page
from tether.demo.web import Request

from .support import call, start


def test_home_links_to_the_gateway_prefixes() -> None:
    page = home_page()
    for prefix in ("/order/", "/shipping/", "/invoicing/"):
        assert f'href="{prefix}"' in page


def test_home_serves_root_and_index_only() -> None:
    service = build({})
    assert isinstance(service, HomeService)
    assert service.handle(Request("GET", "/")).status == 200
    assert service.handle(Request("GET", "/index.html")).status == 200
    assert service.handle(Request("GET", "/other")).status == 404


@pytest.mark.e2e
def test_home_process(tmp_path: Path) -> None:
    home = start("home", tmp_path, ACCESS_LOG="false")
    try:
        answer = call(f"{home.url}/")
        assert answer.status == 200
        assert "The book&#x27;s example system" in answer.body.decode()
    finally:
        assert home.stop() == 0
    assert (tmp_path / "home.stderr").read_text() == ""  # ACCESS_LOG=false: no request lines
