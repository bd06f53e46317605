"""The embedded resource store: SQLite in WAL mode, one global revision.

Every change set (an apply of many documents, a delete of many keys) runs in one
transaction and bumps the revision once, so readers see all of it or none of it.
Bodies keep the user's key order; "unchanged" compares canonical JSON (sorted keys):
same content, no write, no revision bump.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from tether.core.errors import TetherError

Key = tuple[str, str, str]  # (kind, namespace, name)


class StoreError(TetherError):
    """The store cannot be opened or written (disk, permissions, corruption)."""


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    """One resource as stored: its key, its body (the user's mapping) and its last revision."""

    kind: str
    namespace: str
    name: str
    body: dict[str, Any]
    revision: int

    @property
    def key(self) -> Key:
        """Return ``(kind, namespace, name)``."""
        return (self.kind, self.namespace, self.name)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """What one document of a change set did: ``created``, ``configured``, ``unchanged``,
    ``deleted`` or ``not found``."""

    kind: str
    namespace: str
    name: str
    outcome: str


class ChangeSet(msgspec.Struct, frozen=True, kw_only=True):
    """The result of one transaction: the revision after it and one Change per input."""

    revision: int
    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        """Return True when anything was written."""
        return any(c.outcome in ("created", "configured", "deleted") for c in self.changes)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    body TEXT NOT NULL, revision INTEGER NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
INSERT OR IGNORE INTO meta (k, v) VALUES ('revision', 0);
"""


def canonical(body: dict[str, Any]) -> str:
    """Return the canonical JSON text of ``body`` (sorted keys, no spaces)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class Store:
    """Resources in ``<data>/tether.db``; ``":memory:"`` for tests that need no file."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        self.path = path

    @classmethod
    def in_dir(cls, data_dir: str) -> Store:
        """Return the store kept in ``data_dir`` (created if missing); raises StoreError."""
        return cls(os.path.join(data_dir, "tether.db"))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @property
    def revision(self) -> int:
        """Return the current global revision (0 for an empty, never-written store)."""
        row = self._db.execute("SELECT v FROM meta WHERE k = 'revision'").fetchone()
        return int(row[0])

    def apply(self, items: Sequence[tuple[Key, dict[str, Any]]]) -> ChangeSet:
        """Create or replace every item in one transaction; return what each one did.

        Raises StoreError (and writes nothing) if the database refuses the transaction.
        """
        return self._transact(lambda rev: [self._put(key, body, rev) for key, body in items])

    def delete(self, keys: Sequence[Key]) -> ChangeSet:
        """Delete every key in one transaction; missing keys report ``not found``."""
        return self._transact(lambda rev: [self._remove(key) for key in keys])

    def get(self, key: Key) -> StoredObject | None:
        """Return the stored object for ``key``, or None."""
        row = self._db.execute(
            "SELECT kind, namespace, name, body, revision FROM resources"
            " WHERE kind = ? AND namespace = ? AND name = ?",
            key,
        ).fetchone()
        return _row(row) if row else None

    def list(self, kind: str | None = None, namespace: str | None = None) -> list[StoredObject]:
        """Return stored objects, optionally of one kind and/or namespace, sorted by key."""
        sql = "SELECT kind, namespace, name, body, revision FROM resources"
        where, args = [], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if namespace is not None:
            where.append("namespace = ?")
            args.append(namespace)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY kind, namespace, name"
        return [_row(r) for r in self._db.execute(sql, args)]

    def healthy(self) -> bool:
        """Return True when SQLite's quick integrity check passes."""
        try:
            row = self._db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.Error:
            return False
        return bool(row and row[0] == "ok")

    def _transact(self, work: Any) -> ChangeSet:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                next_rev = self.revision + 1
                changes: list[Change] = work(next_rev)
                if any(c.outcome in ("created", "configured", "deleted") for c in changes):
                    db.execute("UPDATE meta SET v = ? WHERE k = 'revision'", (next_rev,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"store write failed: {exc}") from exc
        return ChangeSet(revision=self.revision, changes=tuple(changes))

    def _put(self, key: Key, body: dict[str, Any], rev: int) -> Change:
        old = self._db.execute(
            "SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name = ?", key
        ).fetchone()
        text = json.dumps(body, separators=(",", ":"))  # the user's key order, for display
        if old is not None and canonical(json.loads(old[0])) == canonical(body):
            outcome = "unchanged"
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO resources (kind, namespace, name, body, revision)"
                " VALUES (?, ?, ?, ?, ?)",
                (*key, text, rev),
            )
            outcome = "created" if old is None else "configured"
        return Change(kind=key[0], namespace=key[1], name=key[2], outcome=outcome)

    def _remove(self, key: Key) -> Change:
        cur = self._db.execute(
            "DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?", key
        )
        outcome = "deleted" if cur.rowcount else "not found"
        return Change(kind=key[0], namespace=key[1], name=key[2], outcome=outcome)


def _row(row: Iterable[Any]) -> StoredObject:
    kind, namespace, name, body, revision = row
    return StoredObject(
        kind=kind, namespace=namespace, name=name, body=json.loads(body), revision=int(revision)
    )
