"""Unit tests of the SQLite resource store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tether.control.store import Key, Store, StoreError

VS: Key = ("VirtualService", "default", "order-retry")
DR: Key = ("DestinationRule", "default", "order-cb")


def body(name: str, value: Any = 1) -> dict[str, Any]:
    return {"kind": "X", "metadata": {"name": name}, "spec": {"v": value}}


def test_empty_store_has_revision_zero(tmp_path: Path) -> None:
    store = Store.in_dir(str(tmp_path))
    assert store.revision == 0
    assert store.list() == []
    assert store.healthy()


def test_apply_reports_created_configured_unchanged_and_bumps_revision_once(
    tmp_path: Path,
) -> None:
    store = Store.in_dir(str(tmp_path))
    first = store.apply([(VS, body("a")), (DR, body("b"))])
    assert first.revision == 1
    assert [c.outcome for c in first.changes] == ["created", "created"]
    second = store.apply([(VS, body("a")), (DR, body("b", 2))])
    assert second.revision == 2
    assert [c.outcome for c in second.changes] == ["unchanged", "configured"]
    third = store.apply([(VS, body("a"))])
    assert third.revision == 2 and not third.changed
    got = store.get(DR)
    assert got is not None and got.body["spec"] == {"v": 2} and got.revision == 2


def test_unchanged_ignores_key_order(tmp_path: Path) -> None:
    store = Store.in_dir(str(tmp_path))
    store.apply([(VS, {"a": 1, "b": 2})])
    assert store.apply([(VS, {"b": 2, "a": 1})]).changes[0].outcome == "unchanged"


def test_delete_bumps_revision_and_reports_missing(tmp_path: Path) -> None:
    store = Store.in_dir(str(tmp_path))
    store.apply([(VS, body("a"))])
    result = store.delete([VS, DR])
    assert [c.outcome for c in result.changes] == ["deleted", "not found"]
    assert result.revision == 2
    assert store.get(VS) is None
    assert not store.delete([VS]).changed


def test_list_filters_by_kind_and_namespace(tmp_path: Path) -> None:
    store = Store.in_dir(str(tmp_path))
    other: Key = ("VirtualService", "prod", "x")
    store.apply([(VS, body("a")), (DR, body("b")), (other, body("c"))])
    assert [o.key for o in store.list()] == [DR, VS, other]
    assert [o.key for o in store.list(kind="VirtualService")] == [VS, other]
    assert [o.key for o in store.list(namespace="prod")] == [other]


def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    store = Store.in_dir(str(tmp_path))
    store.apply([(VS, body("a"))])
    bad: dict[str, Any] = {"x": object()}  # not JSON-serialisable: fails mid-transaction
    with pytest.raises(TypeError):
        store.apply([(DR, body("b")), (VS, bad)])
    assert store.revision == 1
    assert store.get(DR) is None


def test_resources_survive_restart_in_wal_mode(tmp_path: Path) -> None:
    store = Store.in_dir(str(tmp_path))
    store.apply([(VS, body("a")), (DR, body("b"))])
    store.close()
    again = Store.in_dir(str(tmp_path))
    assert again.revision == 1
    assert [o.key for o in again.list()] == [DR, VS]
    mode = again._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((StoreError, OSError)):
        Store(os.path.join(str(blocker), "sub", "tether.db"))
