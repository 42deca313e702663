"""``SQLiteQuery`` and ``SQLiteScript`` (Prefect 1's ``prefect.tasks.database.sqlite``),
on the standard library's ``sqlite3``.

Each run opens the database file, runs, commits and closes it.  Unlike Prefect 1.4.1,
whose ``SQLiteQuery`` closed the connection without committing (so an ``INSERT`` it
ran was lost), a query's changes are committed.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from ...task import Task
from ...utilities.tasks import defaults_from_attrs

__all__ = ["SQLiteQuery", "SQLiteScript"]


def _need(task: Task, what: str, value: Any, example: str) -> None:
    if value is None:
        raise ValueError(f"Task {task.name!r}: the {what} must be specified; pass "
                         f"{type(task).__name__}({example}) or call it in the flow with {example}.")


def _connect(db: str) -> Any:
    return closing(sqlite3.connect(db))


class SQLiteQuery(Task):
    """Run one SQL statement on the database file ``db`` with ``data`` for its ``?``
    placeholders; returns ``cursor.fetchall()`` (a list of row tuples)."""

    def __init__(self, db: str | None = None, query: str | None = None, data: tuple = (),
                 **kwargs: Any) -> None:
        self.db = db
        self.query = query
        self.data = data
        super().__init__(**kwargs)

    @defaults_from_attrs("db", "query", "data")
    def run(self, db: str | None = None, query: str | None = None,  # type: ignore[override]
            data: tuple = ()) -> list:
        _need(self, "db", db, "db='path/to/file.db'")
        _need(self, "query string", query, "query='SELECT ...'")
        if "?" in query and not data:  # type: ignore[operator]
            raise ValueError(
                f"Task {self.name!r}: the query has '?' placeholders but no data; pass their "
                "values as a tuple: data=(value, ...)."
            )
        with _connect(db) as conn:  # type: ignore[arg-type]
            with conn, closing(conn.cursor()) as cursor:   # commits on success
                cursor.execute(query, data)
                return cursor.fetchall()


class SQLiteScript(Task):
    """Run a script of SQL statements (``executescript``) on the database file ``db``."""

    def __init__(self, db: str | None = None, script: str | None = None, **kwargs: Any) -> None:
        self.db = db
        self.script = script
        super().__init__(**kwargs)

    @defaults_from_attrs("db", "script")
    def run(self, db: str | None = None, script: str | None = None) -> None:  # type: ignore[override]
        _need(self, "db", db, "db='path/to/file.db'")
        _need(self, "query script string", script, "script='CREATE TABLE ...; INSERT ...;'")
        with _connect(db) as conn:  # type: ignore[arg-type]
            with conn, closing(conn.cursor()) as cursor:
                cursor.executescript(script)
