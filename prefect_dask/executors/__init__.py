"""Executors: plugins that run compiled graphs.  Only this package imports ``distributed``.

Built in: ``LocalExecutor`` (sync, the default), ``LocalDaskExecutor``
(threads or processes) and ``DaskExecutor`` (a Dask cluster).  ``get_executor(name, **kwargs)`` resolves the names
"local", "sync", "threads", "processes" and "dask".
"""

from __future__ import annotations

from typing import Any

from ..errors import ExecutorError
from .base import Executor
from .dask import DaskExecutor
from .local import LocalDaskExecutor, LocalExecutor

__all__ = ["Executor", "LocalExecutor", "LocalDaskExecutor", "DaskExecutor", "get_executor", "resolve"]

BUILTIN = {
    "local": lambda **kw: LocalExecutor(**kw),
    "sync": lambda **kw: LocalDaskExecutor(scheduler="sync", **kw),
    "threads": lambda **kw: LocalDaskExecutor(scheduler="threads", **kw),
    "processes": lambda **kw: LocalDaskExecutor(scheduler="processes", **kw),
    "dask": lambda **kw: DaskExecutor(**kw),
}


def get_executor(name: str, **kwargs: Any) -> Executor:
    """A new executor by name (see module docstring)."""
    try:
        factory = BUILTIN[name]
    except KeyError:
        raise ExecutorError(
            f"Unknown executor {name!r}; known executors: {', '.join(sorted(BUILTIN))}. "
            "Pass one of these names or an executor object."
        ) from None
    return factory(**kwargs)


def resolve(executor: Any) -> Executor:
    """An executor object from ``None`` (the default), a name, or an executor."""
    if executor is None:
        return LocalExecutor()
    if isinstance(executor, str):
        return get_executor(executor)
    if not isinstance(executor, Executor):
        raise ExecutorError(
            f"{executor!r} is not an executor: it needs __enter__, __exit__ and "
            "compute(graph, keys, held). Pass LocalExecutor(), LocalDaskExecutor() or a name."
        )
    return executor
