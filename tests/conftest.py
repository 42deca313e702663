"""Shared fixtures: every executor, a session Dask cluster, and a fake clock for retry delays.

Executor fixtures: ``executor`` runs over the in-process executors only
("local", "threads"), because the tests using it record events in memory and
use the FakeClock, neither of which can cross processes; ``any_executor`` runs
over every entry of ``EXECUTORS``, including "processes" and "dask" (a
DaskExecutor connected by address to one LocalCluster with worker processes,
started the first time it is needed and closed when the session ends);
``pickling_executor`` over those two only.  Tests on ``any_executor`` define their
tasks in picklable places (see ``cluster_helpers.pickle_by_value``) and record events
in files.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from collections.abc import Callable

import pytest

from prefect_dask.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

_SESSION_CLUSTER: list = []     # the one LocalCluster of the session, once started


def session_cluster():  # -> distributed.LocalCluster
    """The session's LocalCluster (2 worker processes x 2 threads), started on first use."""
    if not _SESSION_CLUSTER:
        from distributed import LocalCluster

        # dashboard_address=None still binds the scheduler's HTTP server to port 8787;
        # scheduler_kwargs moves it to a random port, so no other cluster here can clash.
        _SESSION_CLUSTER.append(LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.ERROR))
    return _SESSION_CLUSTER[0]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    while _SESSION_CLUSTER:
        _SESSION_CLUSTER.pop().close()


# One place to extend.  Each entry builds a fresh executor, so no test sees
# another test's pool; "dask" connects a fresh client to the session cluster.
EXECUTORS: dict[str, Callable[[], object]] = {
    "local": lambda: LocalExecutor(),
    "threads": lambda: LocalDaskExecutor(scheduler="threads", num_workers=4),
    "processes": lambda: LocalDaskExecutor(scheduler="processes", num_workers=2),
    "dask": lambda: DaskExecutor(address=session_cluster().scheduler_address),
}

# The executors whose tasks run in this process: the ``executor`` fixture's.
IN_PROCESS = ("local", "threads")


@pytest.fixture(params=IN_PROCESS, ids=IN_PROCESS)
def executor(request: pytest.FixtureRequest) -> object:
    """A new executor object of each in-process kind (in-memory recorders work)."""
    return EXECUTORS[request.param]()


@pytest.fixture(params=sorted(EXECUTORS), ids=sorted(EXECUTORS))
def any_executor(request: pytest.FixtureRequest) -> object:
    """A new executor object of every kind, processes and a Dask cluster included."""
    return EXECUTORS[request.param]()


# The executors whose tasks and inputs are pickled to other processes.
OTHER_PROCESSES = tuple(sorted(set(EXECUTORS) - set(IN_PROCESS)))


@pytest.fixture(params=OTHER_PROCESSES, ids=OTHER_PROCESSES)
def pickling_executor(request: pytest.FixtureRequest) -> object:
    """A new executor object of each kind that runs tasks in other processes."""
    return EXECUTORS[request.param]()


@pytest.fixture(scope="session")
def dask_cluster():  # -> distributed.LocalCluster
    """The session's LocalCluster (see ``session_cluster``)."""
    return session_cluster()


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


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes run records, caches and results under its own PREFECT_DASK_HOME,
    never into the user's ~/.prefect_dask; the path, for tests that look inside it."""
    path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PREFECT_DASK_HOME", str(path))
    monkeypatch.delenv("PREFECT_DASK_RESULT_KEY", raising=False)
    return path
