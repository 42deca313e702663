"""The executor protocol: a context manager that computes Dask graphs.

An executor knows nothing of flows or tasks; it only sees graphs.  Between
stages of one flow run it may keep computed data (a local dict, or futures on a
cluster): ``compute`` receives the keys the graph reads from earlier stages
through ``held``, which maps each such key to whatever this executor returned
for it earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from dask.task_spec import DataNode

__all__ = ["Executor", "NodeError", "with_held", "OnResult", "Started", "missing"]

OnResult = Callable[[Any, Any], None]


@dataclass(frozen=True)
class NodeError:
    """A node that raised instead of returning its State.

    ``crashed_key`` names the node whose worker died (a dependent of a crashed
    node reports the crashed node's key), or is None for any other error.
    """

    exc: BaseException
    crashed_key: Any = None
    worker: str | None = None
    reason: str | None = None   # what to tell the user, when more than "its worker died"
    suspects: int = 1   # how many nodes the dead worker was running (each may have killed it)


@runtime_checkable
class Executor(Protocol):
    """What ``flow.run`` needs from an executor: every attribute the engine reads.

    - ``workers``: how many task runs it runs at once (mapped batches are sized from it);
      1 means one node at a time, in the graph's order (see ``compute``);
    - ``needs_pickle``: its nodes run in other processes (tasks and inputs must pickle,
      timeouts kill a forked child);
    - ``on_cluster``: its nodes run in processes that keep their results (see ``compute``);
    - ``dashboard_link``: where a browser shows what it runs, or None.
    """

    workers: int
    needs_pickle: bool
    on_cluster: bool
    dashboard_link: str | None

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: Any) -> None: ...

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any],
                on_result: OnResult | None = None) -> dict:
        """Run ``graph``; return ``{key: value or NodeError}`` for ``keys``.

        ``on_result(key, value)`` is called as each node finishes.  A node whose worker
        died is a NodeError naming it (``crashed_key``); the nodes that then could not run
        are NodeErrors naming it too.  On KeyboardInterrupt the executor cancels what runs
        and re-raises.  An executor with ``workers == 1`` runs the nodes one at a time in
        the graph's (dict) order wherever their dependencies allow.

        An executor with ``on_cluster = True`` also receives, as keyword arguments:

        - ``annotations={key: {...}}``: Dask annotations (worker ``resources``, a
          depth-first ``priority``);
        - ``views={key: fn}``: for these keys return ``fn(value)``, computed where the
          node ran, instead of the value itself (the driver rebuilds the rest);
        - ``keep``: the keys later stages read; the others may be dropped as soon as
          this graph no longer needs them.
        """
        ...

    def release(self, keep: Collection[Any] = ()) -> None:
        """Called after each stage with the keys later stages still read (the executor may
        drop what it holds for others), and with none when the run ends."""
        ...

    def semaphore(self, name: str, n: int) -> Any:
        """A semaphore (``acquire``/``release``) of ``n`` leases shared by every worker."""
        ...


def missing(executor: Any) -> list[str]:
    """The attributes of the Executor protocol ``executor`` lacks."""
    names = ("workers", "needs_pickle", "on_cluster", "dashboard_link", "__enter__", "__exit__", "compute",
             "release", "semaphore")
    return [n for n in names if not hasattr(executor, n)]


def with_held(graph: dict, held: Mapping[Any, Any]) -> dict:
    """``graph`` plus data nodes for keys it reads from earlier stages."""
    if not held:
        return graph
    return {**{k: DataNode(k, v) for k, v in held.items()}, **graph}


class Started:
    """An executor already entered, lent to several flow runs (its start-up timed apart).

    Entering and leaving it does nothing; everything else is the wrapped executor's.
    """

    def __init__(self, executor: Any) -> None:
        self.executor = executor

    @property
    def workers(self) -> int:
        return self.executor.workers

    @property
    def needs_pickle(self) -> bool:
        return self.executor.needs_pickle

    @property
    def on_cluster(self) -> bool:
        return self.executor.on_cluster

    @property
    def dashboard_link(self) -> str | None:
        return self.executor.dashboard_link

    def release(self, keep: Collection[Any] = ()) -> None:
        self.executor.release(keep)

    def semaphore(self, name: str, n: int) -> Any:
        return self.executor.semaphore(name, n)

    def __enter__(self) -> "Started":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.executor, name)

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any],
                on_result: OnResult | None = None, **kwargs: Any) -> dict:
        return self.executor.compute(graph, keys, held, on_result=on_result, **kwargs)

    def __repr__(self) -> str:
        return repr(self.executor)
