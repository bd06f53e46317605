"""Each demo service owns its database: SQLite by default, Postgres when asked and possible.

The SQL the services write is the common subset of both (``?`` placeholders are turned into
``%s`` for psycopg; ``INSERT ... ON CONFLICT DO NOTHING`` works in both).
"""

from __future__ import annotations

import importlib
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tether.core.errors import TetherError


class DatabaseConfigError(TetherError):
    """The database settings in the environment cannot be used; the message says why."""


class Session:
    """Runs statements inside one transaction of a :class:`Database`."""

    def __init__(self, connection: Any, placeholder: str) -> None:
        self._connection = connection
        self._placeholder = placeholder

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` with ``params`` and return all rows (empty for statements without rows)."""
        if self._placeholder != "?":
            sql = sql.replace("?", self._placeholder)
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description is not None else []
        finally:
            cursor.close()


class Database:
    """One connection shared by the request threads, serialised by a lock.

    The demo's load is tiny; one connection keeps SQLite free of "database is locked".
    """

    def __init__(self, connection: Any, placeholder: str, describe: str, cleanup: Path | None) -> None:
        self._connection = connection
        self._placeholder = placeholder
        self._lock = threading.Lock()
        self._cleanup = cleanup
        self.describe = describe

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session; commit when the block ends, roll back if it raises."""
        with self._lock:
            try:
                yield Session(self._connection, self._placeholder)
            except BaseException:
                self._connection.rollback()
                raise
            self._connection.commit()

    def close(self) -> None:
        """Close the connection and remove the temporary directory this class created."""
        with self._lock:
            self._connection.close()
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)


def open_database(service: str, env: Mapping[str, str]) -> Database:
    """Return the database named by ``DATABASE_URL`` or ``DB_PATH``, or a temporary SQLite file.

    Raises DatabaseConfigError for an unsupported URL, a missing psycopg, or a path that
    cannot be opened.
    """
    url = env.get("DATABASE_URL", "")
    if url:
        if url.startswith(("postgresql://", "postgres://")):
            return _open_postgres(url)
        if url.startswith("sqlite:///"):
            return _open_sqlite(Path(url.removeprefix("sqlite:///")), None)
        raise DatabaseConfigError(
            f"DATABASE_URL={url!r} is not supported: use postgresql://... or sqlite:///PATH, "
            "or unset it and set DB_PATH"
        )
    path = env.get("DB_PATH", "")
    if path:
        return _open_sqlite(Path(path), None)
    tmp = Path(tempfile.mkdtemp(prefix=f"tether-demo-{service}-"))
    return _open_sqlite(tmp / f"{service}.db", tmp)


def _open_sqlite(path: Path, cleanup: Path | None) -> Database:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseConfigError(f"cannot open SQLite database {path}: {exc}") from exc
    return Database(connection, "?", f"sqlite:{path}", cleanup)


def _open_postgres(url: str) -> Database:
    try:
        psycopg = importlib.import_module("psycopg")
    except ModuleNotFoundError as exc:
        raise DatabaseConfigError(
            "DATABASE_URL names Postgres but the psycopg package is not installed: "
            "pip install 'psycopg[binary]', or unset DATABASE_URL to use SQLite"
        ) from exc
    try:
        connection = psycopg.connect(url)
    except Exception as exc:  # psycopg.Error is not importable statically
        raise DatabaseConfigError(f"cannot connect to Postgres: {exc}") from exc
    host = url.split("@")[-1]
    return Database(connection, "%s", f"postgresql://…@{host}", None)
