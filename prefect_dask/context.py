"""The run context, read at the API edge only.

The engine passes run information explicitly.  Two ``ContextVar``s exist for
users: the flow being built inside ``with Flow(...)``, and the values a task
reads while it runs (``context.map_index``, ``context.parameters``,
``context.task_loop_result``...).  ``context`` reads the current values like
Prefect 1's ``prefect.context``: attribute or item access, ``.get()``, and
``with context(key=value):`` to add values for a block.

>>> context.get("map_index") is None
True
>>> context.get("logger").name      # outside a run: the package logger (Prefect 1's too)
'prefect_dask'

>>> with context(answer=42):
...     context.answer
42
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

from .configuration import config

__all__ = ["context", "current_flow", "push_flow", "pop_flow", "enter_task_context",
           "exit_task_context", "open_blocks", "push_block", "pop_block", "no_blocks",
           "raise_on_exception"]

# Prefect 1's PREFECT__CONTEXT__KEY=value variables (secrets included) start the context
_values: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "prefect_dask_context", default={k: v for k, v in config.to_dict()["context"].items() if v}
)
_building: contextvars.ContextVar[Any] = contextvars.ContextVar("prefect_dask_flow", default=None)
# The innermost open ``case`` and resource blocks ({"case": block, "resource": block}): a
# task added to any flow while one is open joins it (``Flow.add_task`` calls its add_task).
_blocks: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "prefect_dask_blocks", default={})


class _Context(Mapping):
    """A read-only view of the current run context (see module docstring)."""

    def __getitem__(self, key: str) -> Any:
        values = _values.get()
        return values[key] if key in values else _outside_runs(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_values.get())

    def __len__(self) -> int:
        return len(_values.get())

    def __bool__(self) -> bool:
        return True  # the context object itself, even when empty (as prefect.context)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"context has no {name!r}. Task-run values such as map_index or "
                "task_loop_result exist only while a task runs; use "
                f"context.get({name!r}) to get None instead of this error."
            ) from None

    @contextlib.contextmanager
    def __call__(self, **values: Any) -> Iterator["_Context"]:
        token = _values.set({**_values.get(), **values})
        try:
            yield self
        finally:
            _values.reset(token)

    def to_dict(self) -> dict[str, Any]:
        """A plain copy of the current values."""
        return dict(_values.get())

    def __repr__(self) -> str:
        return f"<context {dict(_values.get())!r}>"


context = _Context()


def _outside_runs(key: str) -> Any:
    """What the context holds when no value is set: ``logger``, the package logger, as
    Prefect 1's context held its ``prefect`` logger.  Programs keep ``LOGGER =
    prefect.context.get("logger")`` at module level and use it in tasks too: its records
    then travel with the task's State like those of ``get_logger()``."""
    if key != "logger":
        raise KeyError(key)
    from .utilities.logging import package_logger   # utilities.logging imports this module

    return package_logger


def enter_task_context(values: Mapping[str, Any]) -> contextvars.Token:
    """Make ``values`` the whole context a task function sees (the runner's fast path)."""
    return _values.set(values)


def exit_task_context(token: contextvars.Token) -> None:
    """Undo the matching ``enter_task_context``."""
    _values.reset(token)


def current_flow() -> Any:
    """The flow whose ``with`` block is open in this thread, or None."""
    return _building.get()


def push_flow(flow: Any) -> contextvars.Token:
    """Make ``flow`` the one that tasks called from now on are added to."""
    return _building.set(flow)


def pop_flow(token: contextvars.Token) -> None:
    """Undo the matching ``push_flow``."""
    _building.reset(token)


def open_blocks() -> Mapping[str, Any]:
    """The innermost open ``case`` and resource blocks, by kind."""
    return _blocks.get()


def push_block(kind: str, block: Any) -> contextvars.Token:
    """Open ``block`` (of ``kind``, "case" or "resource") until the matching ``pop_block``."""
    return _blocks.set({**_blocks.get(), kind: block})


def pop_block(token: contextvars.Token) -> None:
    """Close the block the matching ``push_block`` opened."""
    _blocks.reset(token)


@contextlib.contextmanager
def no_blocks() -> Iterator[None]:
    """No block is open inside (tasks built in a scratch flow join none)."""
    token = _blocks.set({})
    try:
        yield
    finally:
        _blocks.reset(token)


@contextlib.contextmanager
def raise_on_exception() -> Iterator[None]:
    """Inside this block, an exception raised by a task (not a signal) is raised again by
    ``flow.run``, which stops the run at once: a debugging aid (Prefect 1's
    ``prefect.utilities.debug.raise_on_exception``).  Outside it, a task's exception only
    makes its State ``Failed``."""
    with context(raise_on_exception=True):
        yield
