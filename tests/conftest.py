"""Shared fixtures: every local executor, and a fake clock for retry delays."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from prefect_dask.executors import LocalDaskExecutor, LocalExecutor

# One place to extend: later issues add processes and a Dask cluster here.
# Each entry builds a fresh executor, so no test sees another test's pool.
EXECUTORS: dict[str, Callable[[], object]] = {
    "local": lambda: LocalExecutor(),
    "threads": lambda: LocalDaskExecutor(scheduler="threads", num_workers=4),
}


@pytest.fixture(params=sorted(EXECUTORS), ids=sorted(EXECUTORS))
def executor(request: pytest.FixtureRequest) -> object:
    """A new executor object of each local kind."""
    return EXECUTORS[request.param]()


class FakeClock:
    """A clock for ``flow.run(clock=...)`` that never sleeps.

    ``now()`` returns a counter; ``sleep(s)`` records ``s`` and advances the
    counter by it.  Safe to share between threads.  (An executor that runs tasks
    in other processes gets a pickled copy, so ``sleeps`` would stay empty in the
    test process; such executors will need a file- or manager-backed clock.)
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Recorder:
    """A thread-safe list of things tasks did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list = []

    def add(self, item: object) -> None:
        with self._lock:
            self._items.append(item)

    @property
    def items(self) -> list:
        with self._lock:
            return list(self._items)

    def count(self, item: object) -> int:
        return self.items.count(item)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()
