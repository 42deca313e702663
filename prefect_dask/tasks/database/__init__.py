"""Database tasks (Prefect 1's ``prefect.tasks.database``): SQLite, from the standard library."""

from .sqlite import SQLiteQuery, SQLiteScript

__all__ = ["SQLiteQuery", "SQLiteScript"]
