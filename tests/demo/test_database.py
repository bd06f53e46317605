from __future__ import annotations

import builtins
import sqlite3
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tether.demo.database import DatabaseConfigError, open_database


def test_default_is_a_temporary_sqlite_file_removed_on_close() -> None:
    db = open_database("svc", {})
    assert db.describe.startswith("sqlite:") and db.describe.endswith("svc.db")
    folder = Path(db.describe.removeprefix("sqlite:")).parent
    assert folder.is_dir()
    db.close()
    assert not folder.exists()


def test_db_path_and_sqlite_url_keep_their_file(tmp_path: Path) -> None:
    for env in ({"DB_PATH": str(tmp_path / "a" / "x.db")}, {"DATABASE_URL": f"sqlite:///{tmp_path}/y.db"}):
        db = open_database("svc", env)
        with db.session() as s:
            s.query("CREATE TABLE t (v INTEGER)")
            s.query("INSERT INTO t VALUES (?)", (1,))
        db.close()
    assert (tmp_path / "a" / "x.db").exists() and (tmp_path / "y.db").exists()


def test_session_rolls_back_on_error(tmp_path: Path) -> None:
    db = open_database("svc", {"DB_PATH": str(tmp_path / "x.db")})
    try:
        with db.session() as s:
            s.query("CREATE TABLE t (v INTEGER)")
        with pytest.raises(RuntimeError), db.session() as s:
            s.query("INSERT INTO t VALUES (1)")
            raise RuntimeError("stop")
        with db.session() as s:
            assert s.query("SELECT COUNT(*) FROM t") == [(0,)]
    finally:
        db.close()


def test_unsupported_url_and_unopenable_path(tmp_path: Path) -> None:
    with pytest.raises(DatabaseConfigError, match="is not supported"):
        open_database("svc", {"DATABASE_URL": "mysql://db/x"})
    (tmp_path / "file").write_text("")
    with pytest.raises(DatabaseConfigError, match="cannot open SQLite database"):
        open_database("svc", {"DB_PATH": str(tmp_path / "file" / "x.db")})


def test_postgres_without_psycopg_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "psycopg":
            raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(DatabaseConfigError, match="psycopg package is not installed"):
        open_database("svc", {"DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db"})


def test_postgres_url_uses_psycopg_with_its_placeholders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    executed: list[str] = []

    class Cursor:
        def __init__(self, inner: sqlite3.Cursor) -> None:
            self._inner = inner
            self.description: Any = None

        def execute(self, sql: str, params: tuple[Any, ...]) -> None:
            executed.append(sql)
            self._inner.execute(sql.replace("%s", "?"), params)
            self.description = self._inner.description

        def fetchall(self) -> list[tuple[Any, ...]]:
            return self._inner.fetchall()

        def close(self) -> None:
            self._inner.close()

    class Connection:
        def __init__(self, url: str) -> None:
            self.url = url
            self._inner = sqlite3.connect(tmp_path / "pg.db")

        def cursor(self) -> Cursor:
            return Cursor(self._inner.cursor())

        def commit(self) -> None:
            self._inner.commit()

        def rollback(self) -> None:
            self._inner.rollback()

        def close(self) -> None:
            self._inner.close()

    monkeypatch.setitem(sys.modules, "psycopg", types.SimpleNamespace(connect=Connection))
    db = open_database("svc", {"DATABASE_URL": "postgresql://user:secret@db.example:5432/order"})
    try:
        assert db.describe == "postgresql://…@db.example:5432/order"  # no password in messages
        with db.session() as s:
            s.query("CREATE TABLE t (v INTEGER)")
            s.query("INSERT INTO t VALUES (?)", (5,))
            assert s.query("SELECT v FROM t WHERE v = ?", (5,)) == [(5,)]
    finally:
        db.close()
    assert executed[1] == "INSERT INTO t VALUES (%s)"
