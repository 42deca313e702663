"""The executor protocol: a context manager that computes Dask graphs.

An executor knows nothing of flows or tasks; it only sees graphs.  Between
stages of one flow run it may keep computed data (a local dict, or futures on a
cluster): ``compute`` receives the keys the graph reads from earlier stages
through ``held``, which maps each such key to whatever this executor returned
for it earlier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from dask.task_spec import DataNode

__all__ = ["Executor", "with_held"]


@runtime_checkable
class Executor(Protocol):
    """What ``flow.run`` needs from an executor."""

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: Any) -> None: ...

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any]) -> dict:
        """Run ``graph`` and return ``{key: value}`` for ``keys``."""
        ...


def with_held(graph: dict, held: Mapping[Any, Any]) -> dict:
    """``graph`` plus data nodes for keys it reads from earlier stages."""
    if not held:
        return graph
    return {**{k: DataNode(k, v) for k, v in held.items()}, **graph}
