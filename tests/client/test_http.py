"""Where the CLI finds the control plane and the admin token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.client.http import ControlClient
from tether.client.settings import control_url, load_token
from tether.core.errors import UsageError


def test_control_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_CONTROL", raising=False)
    assert control_url(None) == "http://127.0.0.1:15010"
    monkeypatch.setenv("TETHER_CONTROL", "http://127.0.0.1:1")
    assert control_url(None) == "http://127.0.0.1:1"
    assert control_url("http://127.0.0.1:2") == "http://127.0.0.1:2"


def test_token_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TETHER_TOKEN_FILE", raising=False)
    assert load_token(None) is None
    (tmp_path / ".tether").mkdir()
    (tmp_path / ".tether" / "admin.token").write_text("default\n")
    assert load_token(None) == "default"
    (tmp_path / "env.token").write_text("from-env")
    monkeypatch.setenv("TETHER_TOKEN_FILE", str(tmp_path / "env.token"))
    assert load_token(None) == "from-env"
    (tmp_path / "flag.token").write_text("from-flag")
    assert load_token(str(tmp_path / "flag.token")) == "from-flag"
    with pytest.raises(UsageError, match="does not exist"):
        load_token(str(tmp_path / "missing"))


def test_bad_url_is_a_usage_error() -> None:
    for bad in ("ftp://127.0.0.1:1", "http://", "http://127.0.0.1:notaport"):
        with pytest.raises(UsageError):
            ControlClient(bad)
    assert ControlClient("127.0.0.1:5").url == "http://127.0.0.1:5"
    assert ControlClient("https://127.0.0.1").url == "https://127.0.0.1:443"
