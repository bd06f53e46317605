"""``tether token create``: flags, and the admin credential it needs (the e2e tests mint for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.cli.main import main


def test_create_without_the_admin_credential_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TETHER_TOKEN_FILE", raising=False)
    assert main(["token", "create", "--name", "order", "--control", "http://127.0.0.1:1"]) == 1
    assert "needs the admin credential" in capsys.readouterr().err


def test_token_without_an_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token"]) == 2
    assert "create" in capsys.readouterr().err


def test_a_missing_named_token_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--name", "x", "--token-file", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
