"""``apply_map``: map a function that builds tasks, as if each task in it were mapped.

``unmapped`` and ``flatten`` (the argument markers) live in ``task.py``, next to
``Task.map``, which reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import current_flow
from .errors import NoFlowContextError, TaskBindError
from .flow import Flow
from .task import Parameter, Task, unmapped

__all__ = ["apply_map"]


class _Placeholder(Task):
    """Stands for one element of a mapped argument while ``func`` builds its tasks."""


def apply_map(func: Callable[..., Any], *args: Any, flow: Flow | None = None,
              **kwargs: Any) -> Any:
    """Call ``func`` once to build tasks, then map all of them over the arguments.

    Arguments are mapped unless wrapped in ``unmapped``; a task built in ``func``
    that feeds another built in ``func`` feeds it child by child.  Returns what
    ``func`` returns.
    """
    flow = flow if flow is not None else current_flow()
    name = getattr(func, "__name__", repr(func))
    if flow is None:
        raise NoFlowContextError(f"apply_map({name}, ...) must be called inside `with Flow(...):`.")
    sources: dict[Task, Any] = {}
    external: set[Task] = set(flow.tasks)

    def stand_in(value: Any) -> Any:
        if isinstance(value, unmapped):
            if isinstance(value.value, Task):
                external.add(value.value)
            return value.value
        holder = _Placeholder(name=f"{name}-arg")
        sources[holder] = value
        return holder

    with Flow(f"apply_map({name})") as scratch:
        result = func(*(stand_in(a) for a in args), **{k: stand_in(v) for k, v in kwargs.items()})
    built = scratch.tasks - set(sources) - external
    if not built:
        raise TaskBindError(
            f"apply_map({name}, ...): {name} created no tasks, so there is nothing to map. "
            f"{name} must call tasks on its arguments (e.g. return inc(x))."
        )
    for t in built:
        if not isinstance(t, Parameter):
            t.slug = None  # the scratch flow's slugs may clash with the real flow's
        flow.add_task(t)
        for key, value in scratch.constants.get(t, {}).items():
            flow.constants.setdefault(t, {})[key] = value
    for e in scratch.edges:
        up = e.upstream_task
        if up in sources:  # add_edge unwraps a flatten(...) argument itself
            flow.add_edge(sources[up], e.downstream_task, key=e.key, mapped=True)
        else:
            flow.add_edge(up, e.downstream_task, key=e.key, mapped=up in built)
    return result
