"""``tether proxy-status`` and ``tether check``: rows, checks and the live commands."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.cli.main import main
from tether.cli.status import checks, proxy_rows
from tether.client.http import ControlClient, ControlUnreachable
from tether.client.types import Health, NackView, ProxyList, ProxyView
from tether.core.identity import ProxyNode

NOW = 1_700_000_000.0


def proxy(name: str, status: str, **kw: Any) -> ProxyView:
    return ProxyView(
        id=name, node=ProxyNode(name=name), address="127.0.0.1", port=1, registered_at=NOW - 60,
        connected=True, status=status, **kw,
    )


PROXIES = ProxyList(time=NOW, proxies=(
    proxy("order", "SYNCED", desired_version="v1", sent_version="v1", acked_version="v1",
          acked_at=NOW - 42),
    proxy("shipping", "STALE", desired_version="v2", sent_version="v2", acked_version="v1",
          acked_at=NOW - 300,
          last_nack=NackView(version="v2", at=NOW - 1, reason="route r names unknown cluster x")),
    proxy("invoicing", "NOT SENT"),
))


def test_proxy_rows() -> None:
    rows = proxy_rows(PROXIES)
    assert rows[0] == ["order", "default", "SYNCED", "v1", "42s", "-"]
    assert rows[1][:5] == ["shipping", "default", "STALE", "v1", "5m"]
    assert rows[1][5] == "v2: route r names unknown cluster x"
    assert rows[2] == ["invoicing", "default", "NOT SENT", "-", "-", "-"]


class FakeClient(ControlClient):
    def __init__(self, health: Health | None, proxies: ProxyList) -> None:
        super().__init__("http://127.0.0.1:1")
        self._health = health
        self._proxies = proxies

    def health(self) -> Health:
        if self._health is None:
            raise ControlUnreachable("cannot reach the control plane at http://127.0.0.1:1")
        return self._health

    def proxies(self) -> ProxyList:
        return self._proxies


def test_checks_pass_fail_and_hints() -> None:
    healthy = Health(status="ok", store="ok", revision=3, time=NOW)
    results = checks(FakeClient(healthy, ProxyList(time=NOW, proxies=PROXIES.proxies[:1])),
                     now=lambda: NOW)
    assert [r.ok for r in results] == [True, True, True, True]
    broken = Health(status="ok", store="failing", revision=3, time=NOW + 60)
    results = checks(FakeClient(broken, PROXIES), now=lambda: NOW)
    by_name = {r.name.split(" (")[0]: r for r in results}
    assert not by_name["store is healthy"].ok
    assert not by_name["clock skew is sane"].ok and "+60.0s" in by_name["clock skew is sane"].detail
    synced = by_name["all proxies are synced"]
    assert not synced.ok and "unknown cluster x" in synced.detail and synced.hint
    down = checks(FakeClient(None, PROXIES))
    assert len(down) == 1 and not down[0].ok and "tether control" in down[0].hint


def test_check_against_nothing_fails_with_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TETHER_CONTROL", "http://127.0.0.1:9")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "\u00d7 control plane is reachable"
    assert "hint: start it with `tether control`" in out
    assert main(["check", "-o", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
