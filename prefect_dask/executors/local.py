"""Executors on this machine: Dask's synchronous, threaded and multiprocessing schedulers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Executor as _PoolExecutor
from multiprocessing.pool import ThreadPool
from typing import Any

from ..errors import ExecutorError
from dask.task_spec import DataNode

from .base import NodeError, OnResult, with_held


def _callbacks(on_result: OnResult | None) -> tuple:
    """Dask local-scheduler callbacks reporting each finished node to ``on_result``."""
    if on_result is None:
        return ()
    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker: Any) -> None:
        on_result(key, result)

    return ((None, None, None, posttask, None),)  # (start, start_state, pretask, posttask, finish)

__all__ = ["LocalExecutor", "LocalDaskExecutor", "in_graph_order"]


def _here(node: Any, values: Mapping[Any, Any]) -> Any:
    return node(values)


def in_graph_order(graph: Mapping[Any, Any], keys: list, call: Callable[[Any, Mapping], Any],
                   on_result: OnResult | None = None) -> dict:
    """Compute ``graph``'s nodes one at a time, in the graph's (dict) order as far as their
    dependencies allow, with ``call(node, values of its dependencies)``; return the values
    of ``keys``.  The engine builds graphs in the order Prefect 1 runs tasks, so an executor
    that runs one thing at a time runs them in that order (Dask's own schedulers pick
    their own)."""
    values: dict[Any, Any] = {}
    todo = list(graph)
    while todo:
        later = []
        for key in todo:
            node = graph[key]
            deps = node.dependencies
            if not all(d in values for d in deps):
                later.append(key)
                continue
            values[key] = call(node, {d: values[d] for d in deps})
            if on_result is not None and not isinstance(node, DataNode):
                on_result(key, values[key])
        if len(later) == len(todo):
            raise RuntimeError(f"Graph nodes {later[:3]!r} wait for keys the graph does not "
                               "have; this is a prefect_dask bug, please report it.")
        todo = later
    return {k: values[k] for k in keys}


def _pool_pids(pool: Any) -> set[int]:
    """The process ids of a ProcessPoolExecutor's own worker processes."""
    return set(getattr(pool, "_processes", None) or {})


class LocalExecutor:
    """Run every task in the calling thread, one at a time (Dask's sync scheduler).

    The default: no threads, no processes, plain tracebacks and debuggers work.
    """

    workers = 1
    needs_pickle = False
    on_cluster = False
    dashboard_link = None

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def release(self, keep: Collection[Any] = ()) -> None:
        return None   # results live in the driver's own dict

    def semaphore(self, name: str, n: int) -> Any:
        return threading.BoundedSemaphore(n)

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any],
                on_result: OnResult | None = None) -> dict:
        return in_graph_order(with_held(graph, held), keys, _here, on_result)

    def __repr__(self) -> str:
        return "LocalExecutor()"


class LocalDaskExecutor:
    """Run tasks in parallel on a local pool of threads or processes.

    ``scheduler``: "threads" (default), "processes" or "sync".  ``num_workers``:
    pool size (default: the number of CPUs).  Processes need every task and
    input to pickle (with cloudpickle).
    """

    SCHEDULERS = ("threads", "processes", "sync")
    on_cluster = False
    dashboard_link = None

    def __init__(self, scheduler: str = "threads", num_workers: int | None = None,
                 **kwargs: Any) -> None:
        if scheduler not in self.SCHEDULERS:
            raise ExecutorError(
                f"LocalDaskExecutor(scheduler={scheduler!r}) is not a scheduler; use one of "
                f"{', '.join(map(repr, self.SCHEDULERS))}."
            )
        if num_workers is not None and (not isinstance(num_workers, int) or num_workers < 1):
            raise ExecutorError(f"LocalDaskExecutor(num_workers={num_workers!r}) must be an int >= 1.")
        self.scheduler = scheduler
        self.needs_pickle = scheduler == "processes"
        self.num_workers = num_workers or os.cpu_count() or 1
        self.kwargs = kwargs
        self._pool: _PoolExecutor | ThreadPool | None = None
        self._manager: Any = None
        self._pids: set[int] = set()

    @property
    def workers(self) -> int:
        """How many tasks run at once (the compiler sizes mapped batches from it)."""
        return 1 if self.scheduler == "sync" else self.num_workers

    def __enter__(self) -> "LocalDaskExecutor":
        if self.scheduler == "threads":
            # daemon threads: after Ctrl-C the program exits without waiting for running tasks
            self._pool = ThreadPool(self.num_workers)
        elif self.scheduler == "processes":
            from dask.multiprocessing import get_context
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.num_workers, mp_context=get_context())
        return self

    def release(self, keep: Collection[Any] = ()) -> None:
        return None   # results live in the driver's own dict

    def semaphore(self, name: str, n: int) -> Any:
        """A semaphore all workers share: a Manager's for processes, a local one otherwise."""
        if self.scheduler != "processes":
            return threading.BoundedSemaphore(n)
        if self._manager is None:
            self._manager = multiprocessing.get_context("spawn").Manager()
        return self._manager.BoundedSemaphore(n)

    def __exit__(self, *exc: Any) -> None:
        interrupted = exc and exc[0] is not None and issubclass(exc[0], KeyboardInterrupt)
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            if isinstance(pool, ThreadPool):
                pool.terminate() if interrupted else pool.close()
                return
            if interrupted:  # Ctrl-C: do not wait for running tasks; stop the pool's processes
                pids = self._pids | _pool_pids(pool)
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                for pid in pids:  # reap them, so none is left when KeyboardInterrupt surfaces
                    try:
                        os.waitpid(pid, 0)
                    except OSError:
                        pass
            pool.shutdown(wait=not interrupted, cancel_futures=True)
            self._pids = set()

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any],
                on_result: OnResult | None = None) -> dict:
        graph = with_held(graph, held)
        callbacks = _callbacks(on_result)
        if self.scheduler == "sync":
            return in_graph_order(graph, keys, _here, on_result)
        if self._pool is None:
            raise ExecutorError(
                f"{self!r} was used outside `with executor:`; pass it to flow.run(executor=...), "
                "which starts and stops it."
            )
        pool = self._pool
        if self.scheduler == "threads" and self.num_workers == 1:   # one at a time, in order
            return in_graph_order(graph, keys, lambda node, values: pool.apply(node, (values,)),
                                  on_result)
        if self.scheduler == "threads":
            from dask.threaded import get

            return dict(zip(keys, get(graph, keys, pool=self._pool, callbacks=callbacks,
                                      **self.kwargs)))
        return self._in_processes(graph, keys, on_result)

    def _in_processes(self, graph: dict, keys: list, on_result: OnResult | None) -> dict:
        """``graph`` on the process pool.  A pool process that dies breaks the whole pool:
        the nodes that finished keep their values, the ones that were running are reported
        as crashed (each a suspect, see ``NodeError.suspects``), the others as not run, and
        a new pool takes the next graph."""
        from concurrent.futures.process import BrokenProcessPool
        from dask.multiprocessing import get

        done: dict[Any, Any] = {}
        running: set[Any] = set()

        def pretask(key: Any, dsk: Any, state: Any) -> None:
            running.add(key)
            self._pids.update(_pool_pids(self._pool))   # to stop them on Ctrl-C

        def posttask(key: Any, result: Any, dsk: Any, state: Any, worker: Any) -> None:
            running.discard(key)
            done[key] = result
            if on_result is not None:
                on_result(key, result)

        # chunksize=1: each ready node goes to a free process at once (batches are big already)
        kwargs = {"chunksize": 1, **self.kwargs}
        try:
            return dict(zip(keys, get(graph, keys, pool=self._pool,
                                      callbacks=((None, None, pretask, posttask, None),),
                                      **kwargs)))
        except BrokenProcessPool as exc:
            self._new_pool()
            return self._after_death(keys, done, running, exc)

    def _new_pool(self) -> None:
        from concurrent.futures import ProcessPoolExecutor
        from dask.multiprocessing import get_context

        broken, self._pool = self._pool, None
        broken.shutdown(wait=True, cancel_futures=True)   # its processes are gone already
        self._pids = set()
        self._pool = ProcessPoolExecutor(self.num_workers, mp_context=get_context())

    def _after_death(self, keys: list, done: Mapping[Any, Any], running: set[Any],
                     exc: BaseException) -> dict:
        suspects = [k for k in keys if k in running]
        reason = (f"a worker process of {self!r} died while it ran, so its outcome is unknown. "
                  "A task that kills its process (os._exit, a crash in C code, running out of "
                  "memory) does this; fix it, or run the flow again.")
        out: dict[Any, Any] = {k: done[k] for k in keys if k in done}
        for k in suspects:
            out[k] = NodeError(exc, crashed_key=k, worker=None, reason=reason,
                               suspects=len(suspects))
        blamed = suspects[0] if suspects else None
        for k in keys:
            if k not in out:   # it did not run: it runs again (see engine.recovery)
                out[k] = NodeError(exc, crashed_key=blamed)
        return out

    def __repr__(self) -> str:
        return f"LocalDaskExecutor(scheduler={self.scheduler!r}, num_workers={self.num_workers})"
