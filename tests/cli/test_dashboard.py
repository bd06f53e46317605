from __future__ import annotations

import argparse

import pytest

from tether.cli.dashboard import dashboard_url, run_dashboard
from tether.core.errors import UsageError


def test_url_is_the_control_url_with_a_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_CONTROL", raising=False)
    assert dashboard_url(None) == "http://127.0.0.1:15010/"
    assert dashboard_url("http://127.0.0.1:9000") == "http://127.0.0.1:9000/"
    monkeypatch.setenv("TETHER_CONTROL", "http://localhost:7000")
    assert dashboard_url(None) == "http://localhost:7000/"
    with pytest.raises(UsageError):
        dashboard_url("ftp://x")


def test_open_uses_the_browser_and_survives_without_one(capsys: pytest.CaptureFixture[str]) -> None:
    opened: list[str] = []

    def browser(url: str) -> bool:
        opened.append(url)
        return True

    args = argparse.Namespace(control="http://127.0.0.1:9000", open=True)
    assert run_dashboard(args, browser) == 0
    assert opened == ["http://127.0.0.1:9000/"]
    assert run_dashboard(args, lambda url: False) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "http://127.0.0.1:9000/"
    assert "no web browser" in out[-1]


def test_without_open_only_prints(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(url: str) -> bool:
        raise AssertionError("must not open")

    assert run_dashboard(argparse.Namespace(control="http://127.0.0.1:9000", open=False), fail) == 0
    assert capsys.readouterr().out == "http://127.0.0.1:9000/\n"
