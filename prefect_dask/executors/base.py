"""The executor protocol: a context manager that computes Dask graphs.

An executor knows nothing of flows or tasks; it only sees graphs.  Between
stages of one flow run it may keep computed data (a local dict, or futures on a
cluster): ``compute`` receives the keys the graph reads from earlier stages
through ``held``, which maps each such key to whatever this executor returned
for it earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from dask.task_spec import DataNode

__all__ = ["Executor", "NodeError", "with_held", "OnResult", "Started"]

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


@runtime_checkable
class Executor(Protocol):
    """What ``flow.run`` needs from an executor."""

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: Any) -> None: ...

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any],
                on_result: OnResult | None = None) -> dict:
        """Run ``graph``; return ``{key: value or NodeError}`` for ``keys``.

        ``on_result(key, value)`` is called as each node finishes.  On
        KeyboardInterrupt the executor cancels what runs and re-raises.

        An executor that sets ``on_cluster = True`` (its nodes run in other processes that
        keep their results) also receives, as keyword arguments:

        - ``annotations={key: {...}}``: Dask annotations (worker ``resources``, a
          depth-first ``priority``);
        - ``views={key: fn}``: for these keys return ``fn(value)``, computed where the
          node ran, instead of the value itself (the driver rebuilds the rest);
        - ``keep``: the keys later stages read; the others may be dropped as soon as
          this graph no longer needs them.

        Such an executor may also define ``release(keep=())``, called after each stage
        with the keys later stages still read, and with none when the run ends.
        """
        ...


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
