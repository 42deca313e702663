"""The persistent task cache: ``Cached`` states on disk, shared by processes and runs.

Entries live under ``<root>/<digest of cache key>/`` as files written by
``results.write_value`` (atomic, checksummed).  A task's cache key is its
``cache_key`` or ``"<flow name>/<task name>"``.  As in Prefect 1, all runs of a
key — a plain task and every child of a mapped one — share one list of
candidates, oldest first, and a run takes the first one its validator accepts;
so with ``all_inputs`` a child finds an entry by its inputs whatever its map
index.  Lookups only see entries written before the current flow run started,
and each process reads a key's entries once per flow run.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import inspect
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from dask.base import tokenize

from ..results import CorruptResultError, read_value, write_value
from ..states import Cached

__all__ = ["CacheStore", "cache_key", "entry_token", "source_digest", "prune_cache"]

logger = logging.getLogger("prefect_dask.cache")


def cache_key(task: Any, flow_name: str) -> str:
    """The key a task's cached states are stored under; with ``cache_source=True`` it also
    covers the task's source code, so editing the function starts a fresh cache."""
    key = task.cache_key or f"{flow_name}/{task.name}"
    return f"{key}@{source_digest(task.run)}" if getattr(task, "cache_source", False) else key


@functools.lru_cache(maxsize=1024)
def source_digest(fn: Any) -> str:
    """A short digest of a function's source (or, without source, of its code object)."""
    try:
        text = inspect.getsource(fn).encode()
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = repr((code.co_code, code.co_consts) if code else fn).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def entry_token(hashed_inputs: Any, parameters: Any) -> str:
    """What tells two entries of one key apart: their inputs and parameters."""
    return tokenize(hashed_inputs, parameters)


class CacheStore:
    """Cached states of tasks under one root directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, float], tuple[list[Cached], dict[Any, Cached]]] = {}

    def __reduce__(self) -> tuple:
        return (CacheStore, (self.root,))   # a new store (lock, memo) where it is unpickled

    def _dir(self, key: str) -> Path:
        return self.root / hashlib.sha256(key.encode()).hexdigest()[:32]

    def candidates(self, key: str, before: float, now: datetime.datetime | None = None
                   ) -> tuple[list[Cached], dict[Any, Cached]]:
        """Unexpired entries (at ``now``, default the wall clock) of ``key`` written before
        ``before``, oldest first, and the same entries by their hashed inputs (for
        ``all_inputs``' direct lookup).  One store reads a key's folder once for each
        ``before``: a run's children share what it found."""
        with self._lock:
            if (key, before) not in self._seen:
                self._seen[key, before] = self._read(
                    key, before, now or datetime.datetime.now(datetime.timezone.utc))
            return self._seen[key, before]

    def _read(self, key: str, before: float, now: datetime.datetime
              ) -> tuple[list[Cached], dict[Any, Cached]]:
        folder = self._dir(key)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".pkl"))
        except FileNotFoundError:
            return [], {}
        out: list[Cached] = []
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
        by_inputs: dict[Any, Cached] = {}
        for state in out:
            by_inputs.setdefault(tokenize(state.hashed_inputs), state)
        return out, by_inputs

    def put(self, key: str, state: Cached, run_started: float | None = None) -> None:
        """Store ``state`` from the flow run started at ``run_started``, replacing an entry
        for the same inputs and parameters.  Entries sort as Prefect 1 listed them: by run,
        then by map index."""
        folder = self._dir(key)
        token = entry_token(state.hashed_inputs, state.cached_parameters)
        if folder.exists():
            for old in folder.glob(f"*-{token}.pkl"):
                old.unlink(missing_ok=True)
        index = -1 if state.map_index is None else state.map_index
        run_started = time.time() if run_started is None else run_started
        write_value(folder / f"{int(run_started * 1e9)}-{index + 1:012d}-{token}.pkl", state)


def prune_cache(older_than: float, root: str | os.PathLike | None = None,
                dry_run: bool = False) -> int:
    """Delete cache entries written more than ``older_than`` seconds ago (under ``root``,
    default ``$PREFECT_DASK_HOME/cache``); returns how many.  A run that looks one up
    meanwhile finds it gone and runs the task (entries are read tolerating that)."""
    from ..results import home

    folder = Path(root) if root is not None else home() / "cache"
    cutoff = (time.time() - older_than) * 1e9
    count = 0
    for sub in (folder.iterdir() if folder.is_dir() else ()):
        if not sub.is_dir():
            continue
        for path in sub.glob("*.pkl"):
            written = path.name.split("-", 1)[0]
            if written.isdigit() and int(written) < cutoff:
                count += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
        if not dry_run and not any(sub.iterdir()):
            try:
                sub.rmdir()
            except OSError:   # an entry was written meanwhile
                pass
    return count
