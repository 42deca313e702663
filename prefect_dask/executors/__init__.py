"""Executors: plugins that run compiled graphs.  Only this package imports ``distributed``.

Built in: ``LocalExecutor`` (sync, the default), ``LocalDaskExecutor``
(threads or processes) and ``DaskExecutor`` (a Dask cluster).  ``get_executor(name, **kwargs)`` resolves the names
"local", "sync", "threads", "processes" and "dask".
"""

from __future__ import annotations

import importlib
from typing import Any

from ..configuration import config
from ..errors import ExecutorError
from .base import Executor, missing
from .dask import DaskExecutor
from .local import LocalDaskExecutor, LocalExecutor

__all__ = ["Executor", "LocalExecutor", "LocalDaskExecutor", "DaskExecutor", "get_executor",
           "known_executors", "resolve", "canonical_name", "default_executor"]

BUILTIN = {
    "local": lambda **kw: LocalExecutor(**kw),
    "sync": lambda **kw: LocalDaskExecutor(scheduler="sync", **kw),
    "threads": lambda **kw: LocalDaskExecutor(scheduler="threads", **kw),
    "processes": lambda **kw: LocalDaskExecutor(scheduler="processes", **kw),
    "dask": lambda **kw: DaskExecutor(**kw),
}


ENTRY_POINT_GROUP = "prefect_dask.executors"


def _plugins() -> dict[str, Any]:
    """Executors other packages register under the ``prefect_dask.executors`` entry point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_executors() -> list[str]:
    """Every name ``get_executor`` accepts."""
    return sorted({*BUILTIN, *_plugins()})


def canonical_name(name: str) -> str:
    """A known executor's name as registered, from any case (``"Threads"`` -> ``"threads"``);
    an unknown name is returned as given."""
    if name in BUILTIN:
        return name
    return next((known for known in known_executors() if known.lower() == name.lower()), name)


def get_executor(name: str, **kwargs: Any) -> Executor:
    """A new executor by name (any case): a built-in one or a plugin's (see module
    docstring)."""
    name = canonical_name(name)
    if name in BUILTIN:
        return BUILTIN[name](**kwargs)
    plugin = _plugins().get(name)
    if plugin is None:
        raise ExecutorError(
            f"Unknown executor {name!r}; known executors: {', '.join(known_executors())}. "
            "Pass one of these names or an executor object; a package can add names "
            f"under the {ENTRY_POINT_GROUP!r} entry point group."
        )
    try:
        factory = plugin.load()
    except Exception as exc:
        raise ExecutorError(f"Executor plugin {name!r} ({plugin.value}) failed to load: "
                            f"{exc!r}") from exc
    return factory(**kwargs)


def default_executor(path: str | None = None) -> Executor:
    """The executor ``flow.run()`` uses when given none: Prefect 1's setting
    ``PREFECT__ENGINE__EXECUTOR__DEFAULT_CLASS`` (a class path; ``prefect.`` paths are
    ours), ``LocalExecutor`` by default.

    >>> type(default_executor("prefect.executors.LocalDaskExecutor")).__name__
    'LocalDaskExecutor'
    """
    path = path or config.engine.executor.default_class
    module, _, name = str(path).rpartition(".")
    if module == "prefect" or module.startswith("prefect."):
        module = "prefect_dask" + module[len("prefect"):]
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ExecutorError(
            f"The default executor class {path!r} (PREFECT__ENGINE__EXECUTOR__DEFAULT_CLASS) "
            f"cannot be imported: {exc}. Give a class path such as "
            "'prefect.executors.LocalDaskExecutor', or unset the variable.") from None
    return cls()


def resolve(executor: Any) -> Executor:
    """An executor object from ``None`` (the default), a name, or an executor."""
    if executor is None:
        return default_executor()
    if isinstance(executor, str):
        return get_executor(executor)
    lacks = missing(executor)
    if lacks:
        raise ExecutorError(
            f"{executor!r} is not an executor: it lacks {', '.join(lacks)} (see "
            "prefect_dask.executors.Executor for what each must do). Pass LocalExecutor(), "
            "LocalDaskExecutor(), DaskExecutor() or a name."
        )
    return executor
