"""The persistent task cache: ``Cached`` states on disk, shared by processes and runs.

Entries live under ``<root>/<digest of cache key>/<map index or "task">/`` as
files written by ``results.write_value`` (atomic, checksummed).  A task's cache
key is its ``cache_key`` or ``"<flow name>/<task name>"``; each mapped child has
its own entries.  Lookups only consider entries written before the current flow
run started, oldest first, as Prefect 1 did with its in-memory cache.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from dask.base import tokenize

from .results import CorruptResultError, read_value, write_value
from .states import Cached

__all__ = ["CacheStore", "cache_key"]

logger = logging.getLogger("prefect_dask.cache")


def cache_key(task: Any, flow_name: str) -> str:
    """The key a task's cached states are stored under."""
    return task.cache_key or f"{flow_name}/{task.name}"


class CacheStore:
    """Cached states of tasks under one root directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _dir(self, key: str, map_index: int | None) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return self.root / digest / ("task" if map_index is None else str(map_index))

    def candidates(self, key: str, map_index: int | None, before: float) -> list[Cached]:
        """Unexpired entries written before ``before`` (a timestamp), oldest first."""
        folder = self._dir(key, map_index)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".pkl"))
        except FileNotFoundError:
            return []
        now = datetime.datetime.now(datetime.timezone.utc)
        out = []
        for name in names:
            if int(name.split("-", 1)[0]) / 1e9 >= before:
                continue
            path = folder / name
            try:
                state = read_value(path)
            except FileNotFoundError:
                continue
            except CorruptResultError as exc:
                logger.warning("Ignoring cache entry of %r: %s", key, exc)
                continue
            expires = state.cached_result_expiration
            if expires is not None and expires <= now:
                path.unlink(missing_ok=True)
                continue
            out.append(state)
        return out

    def put(self, key: str, map_index: int | None, state: Cached) -> None:
        """Store ``state``, replacing an entry for the same inputs and parameters."""
        folder = self._dir(key, map_index)
        token = tokenize(state.hashed_inputs, state.cached_parameters)
        if folder.exists():
            for old in folder.glob(f"*-{token}.pkl"):
                old.unlink(missing_ok=True)
        write_value(folder / f"{time.time_ns()}-{token}.pkl", state)
