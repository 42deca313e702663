"""``apply_map``: map a function that builds tasks, as if each task in it were mapped.

``unmapped`` and ``flatten`` (the argument markers) live in ``task.py``, next to
``Task.map``, which reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import current_flow, no_blocks, pop_block, push_block
from .errors import ApplyMapError, MapError, NoFlowContextError, TaskBindError
from .flow import Flow
from .task import Constant, Parameter, Task, flatten, is_sequence, task_or_value, unmapped

__all__ = ["apply_map"]


class _Scope:
    """Open while an ``apply_map`` function builds its tasks (``Task.bind`` refuses ``.map``
    there: every task is mapped already)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def add_task(self, task: Task, flow: Any) -> None:
        pass


def apply_map(func: Callable[..., Any], *args: Any, flow: Flow | None = None,
              **kwargs: Any) -> Any:
    """Call ``func`` once to build tasks, then map all of them over the arguments.

    Arguments are mapped unless wrapped in ``unmapped`` (``flatten`` unnests one first).
    Every task ``func`` builds is mapped, as in Prefect 1: one that reads no mapped
    argument runs once per element too, and ``case`` blocks inside ``func`` gate each
    element on its own.  With ``flow=``, ``func`` must take a ``flow`` keyword argument
    (it gets the flow to build in).  A Parameter ``func`` reads must be in the flow already
    or be passed in (Prefect 1 raised too).  Returns what ``func`` returns.
    """
    given_flow = flow is not None
    flow = flow if given_flow else current_flow()
    name = getattr(func, "__name__", repr(func))
    if flow is None:
        raise NoFlowContextError(
            f"apply_map({name}, ...) needs a flow: call it inside `with Flow(...):` or pass "
            f"flow=... (then {name} must take a flow keyword argument).")
    scratch = Flow(f"apply_map({name})")
    arg_info: dict[Task, tuple[bool, bool]] = {}   # argument task -> (mapped, flattened)

    def argument(where: str, value: Any) -> Any:
        mapped = not isinstance(value, unmapped)
        inner = value.value if not mapped else value
        flattened = isinstance(inner, flatten)
        inner = inner.value if flattened else inner
        task = task_or_value(inner, flow)   # a list of tasks: a task in the flow
        if not isinstance(task, Task):
            if not mapped:
                return inner            # an unmapped constant: passed on as it is
            if not is_sequence(inner):
                raise MapError(
                    f"apply_map({name}, ...): {where} = {inner!r:.60} is a "
                    f"{type(inner).__name__}, not a sequence, so it cannot be mapped over. "
                    "Pass a list or tuple, or wrap it in unmapped(...) to pass it whole.")
            task = Constant(inner)
        arg_info[task] = (mapped, flattened)
        flow.add_task(task)             # first: the flow picks its slug
        with no_blocks():
            scratch.add_task(task)
        return task

    args2 = [argument(f"argument {i + 1}", a) for i, a in enumerate(args)]
    kwargs2 = {k: argument(f"argument {k!r}", v) for k, v in kwargs.items()}
    before = flow.tasks
    with no_blocks():
        token = push_block("apply_map", _Scope(name))
        try:
            with scratch:
                result = func(*args2, **kwargs2, **({"flow": scratch} if given_flow else {}))
        finally:
            pop_block(token)
    built = scratch.tasks - set(arg_info) - before
    if not built:
        raise TaskBindError(
            f"apply_map({name}, ...): {name} created no tasks, so there is nothing to map. "
            f"{name} must call tasks on its arguments (e.g. return inc(x)).")
    for p in built:
        if isinstance(p, Parameter) and arg_info:   # Prefect 1 raised a ValueError too
            raise ApplyMapError(
                f"apply_map({name}, ...) in flow {flow.name!r}: {name} uses Parameter "
                f"{p.name!r}, which is not in the flow yet, so apply_map would make it read the "
                f"mapped arguments, but a Parameter takes no upstream tasks. Pass it as an "
                f"argument: apply_map({name}, ..., {p.name}=unmapped({p.name})).")
    for t in scratch.tasks:
        if t in built and getattr(t, "auto_slug", False):
            t.slug = None   # the scratch flow's slugs may clash with the flow's
        flow.add_task(t)
    for e in scratch.edges:
        up, down = e.upstream_task, e.downstream_task   # mapped, but from an unmapped argument
        mapped, flattened = arg_info.get(up, (True, e.flattened))
        flow.add_edge(up, down, key=e.key, mapped=mapped, flattened=flattened)
    for t, consts in scratch.constants.items():
        flow.constants.setdefault(t, {}).update(consts)
    # Every task built with no upstream among the built ones reads every argument (those not
    # already upstream as ordering edges): it runs once per element, as in Prefect 1.
    for t in built:
        ups = flow.upstream_tasks(t)
        if ups & built:
            continue
        for arg, (mapped, flattened) in arg_info.items():
            if arg not in ups:
                flow.add_edge(arg, t, mapped=mapped, flattened=flattened)
    return result
