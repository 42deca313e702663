"""Control flow built from tasks: ``case``, ``merge``, ``switch``, ``ifelse``, ``filter_results``.

Branches are ordinary tasks behind a comparison task that raises SKIP when
the condition does not match; the skip then propagates downstream, as in
Prefect 1.  ``merge`` picks the first branch that was not skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import signals, triggers
from ..context import current_flow, pop_block, push_block
from ..errors import FlowValidationError, NoFlowContextError, TaskBindError, TaskDefinitionError
from ..utilities.logging import get_logger
from ..task import Task, task_or_value

__all__ = ["Block", "case", "merge", "switch", "ifelse", "filter_results", "CompareValue", "Merge",
           "FilterTask"]


class CompareValue(Task):
    """Succeeds if its input equals ``value``; otherwise raises SKIP."""

    def __init__(self, value: Any, **kwargs: Any) -> None:
        self.value = value
        kwargs.setdefault("name", f'CompareValue: "{value}"')   # Prefect 1's name
        super().__init__(**kwargs)

    def run(self, value: Any) -> None:  # type: ignore[override]
        if value != self.value:
            raise signals.SKIP(f'Provided value "{value!r}" did not match "{self.value!r}"')


def _check_value(where: str, value: Any) -> None:
    if isinstance(value, Task):
        raise TaskBindError(
            f"{where}: the value to compare against is the task {value.name!r}; it must be a "
            "constant (e.g. case(cond, True)). Compute the comparison in a task instead: "
            "case(is_equal(a, b), True)."
        )


class Block:
    """A ``with`` block whose tasks get wired on exit (``case``, a resource): every task
    added to a flow while it is the innermost open block of its kind joins it, with the
    functional API or the imperative one (``flow.add_task``), as in Prefect 1."""

    kind = "case"

    def __init__(self) -> None:
        self.tasks: dict[Task, None] = {}
        self.flow: Any = None

    def add_task(self, task: Task, flow: Any) -> None:
        if self.flow is None:
            self.flow = flow
        elif flow is not self.flow:
            raise FlowValidationError(
                f"{self!r}: tasks of two flows ({self.flow.name!r} and {flow.name!r}) were "
                "added inside this one block; open one block per flow.")
        self.tasks[task] = None

    def __enter__(self) -> Any:
        self._token = push_block(self.kind, self)
        return self

    def __exit__(self, *exc: Any) -> None:
        pop_block(self._token)
        if exc[0] is None and self.tasks:
            self.wire(self.flow, set(self.tasks))

    def wire(self, flow: Any, tasks: set[Task]) -> None:
        raise NotImplementedError


class case(Block):
    """``with case(task, value):`` — tasks created inside run only if ``task``'s result == ``value``."""

    def __init__(self, task: Task, value: Any) -> None:
        _check_value(f"case({getattr(task, 'name', task)!r}, ...)", value)
        super().__init__()
        self.task, self.value = task, value

    def __repr__(self) -> str:
        return f"case({getattr(self.task, 'name', self.task)!r}, {self.value!r})"

    def wire(self, flow: Any, tasks: set[Task]) -> None:
        gate = CompareValue(self.value, name=f"case({self.value})")
        gate.bind(value=self.task, flow=flow)
        for t in tasks:
            if not (flow.upstream_tasks(t) & tasks):
                flow.add_edge(gate, t)


class Merge(Task):
    """Returns the first of its inputs that is not None (from a branch not skipped)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("name", "Merge")
        kwargs.setdefault("trigger", triggers.not_all_skipped)
        kwargs.setdefault("skip_on_upstream_skip", False)
        super().__init__(**kwargs)

    def run(self, **task_results: Any) -> Any:  # type: ignore[override]
        ordered = sorted(task_results.items(), key=lambda kv: int(kv[0][5:]))
        return next((v for _, v in ordered if v is not None), None)


def merge(*tasks: Task, flow: Any = None, mapped: bool = False, **kwargs: Any) -> Task:
    """A task whose result is the result of the first of ``tasks`` that ran (per child with
    ``mapped=True``); ``kwargs`` go to ``Merge(...)`` (e.g. ``name=``)."""
    if not tasks:
        raise TaskBindError("merge() needs at least one task, e.g. merge(branch_a, branch_b).")
    return Merge(**kwargs).bind(**{f"task_{i + 1}": t for i, t in enumerate(tasks)}, flow=flow,
                                mapped=mapped)


def switch(condition: Task, cases: Mapping[Any, Any], flow: Any = None,
           mapped: bool = False) -> None:
    """Run ``cases[v]`` only where ``condition``'s result is ``v``; the others are skipped.

    With ``mapped=True`` the condition and the branches are mapped: child i of a branch
    runs only where child i of the condition matches."""
    flow = flow if flow is not None else current_flow()
    if flow is None:
        raise NoFlowContextError("switch(...) needs a flow: use it inside `with Flow(...):`.")
    for value, branch in cases.items():
        _check_value("switch(...)", value)
        gate = CompareValue(value, tags=["switch"])
        gate.bind(value=condition, flow=flow, mapped=mapped)
        # a list of tasks becomes one task
        flow.add_edge(gate, task_or_value(branch, flow), mapped=mapped)


def ifelse(condition: Task, true_task: Any, false_task: Any,
           flow: Any = None, mapped: bool = False) -> None:
    """Run ``true_task`` if ``condition``'s result is truthy, else ``false_task`` (each a task,
    a list of tasks, or None)."""
    cases = {v: t for v, t in ((True, true_task), (False, false_task)) if t is not None}
    if cases:
        as_bool = _Bool()
        as_bool.bind(condition, flow=flow, mapped=mapped)
        switch(as_bool, cases, flow=flow, mapped=mapped)


class _Bool(Task):
    def __init__(self) -> None:
        super().__init__(name="as_bool")

    def run(self, x: Any) -> bool:  # type: ignore[override]
        return bool(x)


class FilterTask(Task):
    """Drops items of a list (typically a mapped task's results).

    By default drops None and ``Exception`` instances (what failed children return, and
    the None of children skipped without a signal).  Signals are not ``Exception``s, so a
    child's ``SKIP`` or ``TRIGGERFAIL`` is kept, as in Prefect 1.
    ``filter_func(item) -> bool`` keeps the items it returns True for.
    ``log_func(kept) -> str``, if given, is logged at INFO with what the filter kept.
    """

    def __init__(self, filter_func: Callable[[Any], bool] | None = None,
                 log_func: Callable[[list], Any] | None = None, **kwargs: Any) -> None:
        for what, fn in (("filter_func", filter_func), ("log_func", log_func)):
            if fn is not None and not callable(fn):
                raise TaskDefinitionError(
                    f"FilterTask: {what}={fn!r} is not callable; pass a function of "
                    f"{'one item' if what == 'filter_func' else 'the kept list'}.")
        self.filter_func = filter_func
        self.log_func = log_func
        kwargs.setdefault("name", "FilterTask")
        kwargs.setdefault("trigger", triggers.all_finished)
        kwargs.setdefault("skip_on_upstream_skip", False)
        super().__init__(**kwargs)

    def run(self, task_results: list) -> list:  # type: ignore[override]
        keep = self.filter_func or (lambda r: r is not None and not isinstance(r, Exception))
        kept = [r for r in task_results if keep(r)]
        if self.log_func is not None:
            get_logger().info(self.log_func(kept))
        return kept


def filter_results(task_results: Task, filter_func: Callable[[Any], bool] | None = None) -> Task:
    """A task returning ``task_results`` without None and Exception items (or as ``filter_func`` says)."""
    return FilterTask(filter_func)(task_results)
