"""``FlowRunner``: Prefect 1's flow runner as a small facade over ``flow.run``.

Prefect 1's local-debugging docs run flows with
``FlowRunner(flow).run(parameters=..., task_states=..., return_tasks=...)``.  Here
that is ``flow.run`` (one engine), run once (a schedule is not followed), with
the returned state's ``.result`` holding only the ``return_tasks`` (none by
default), as Prefect 1's ``FlowRunner`` did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FlowRunner"]


class FlowRunner:
    """Runs one flow once: ``FlowRunner(flow).run(...)`` returns the flow's State."""

    def __init__(self, flow: Any, task_runner_cls: Any = None,
                 state_handlers: Iterable[Any] | None = None) -> None:
        if task_runner_cls is not None or state_handlers:
            what = "task_runner_cls" if task_runner_cls is not None else "state_handlers"
            raise TypeError(
                f"FlowRunner(flow {getattr(flow, 'name', flow)!r}, {what}=...): prefect_dask has "
                "one task runner and no runner-level handlers; put state handlers on the "
                "flow (Flow(state_handlers=[...])) or on tasks instead.")
        self.flow = flow

    def run(self, state: Any = None, task_states: Mapping[Any, Any] | None = None,
            return_tasks: Iterable[Any] | None = None,
            parameters: Mapping[str, Any] | None = None,
            task_runner_state_handlers: Iterable[Any] | None = None,
            executor: Any = None, context: Mapping[str, Any] | None = None,
            task_contexts: Mapping[Any, Any] | None = None) -> Any:
        """Run the flow once; the State's ``.result`` maps each of ``return_tasks`` to
        its final State."""
        name = self.flow.name
        if task_runner_state_handlers or task_contexts:
            what = "task_runner_state_handlers" if task_runner_state_handlers else "task_contexts"
            raise TypeError(
                f"FlowRunner(flow {name!r}).run({what}=...) is not supported: give tasks "
                "state_handlers=[...] when you build them, and read per-task values from "
                "prefect.context inside the task.")
        returned = list(return_tasks or ())
        missing = [t for t in returned if t not in self.flow.tasks]
        if missing:
            raise ValueError(
                f"FlowRunner(flow {name!r}).run(return_tasks=...): "
                f"{', '.join(repr(t) for t in missing)} not found in the flow; pass tasks of "
                "this flow (flow.tasks, or the tasks you built inside `with Flow(...)`).")
        options: dict[str, Any] = {"parameters": dict(parameters or {}),
                                   "task_states": dict(task_states or {}),
                                   "run_on_schedule": False}
        if executor is not None:
            options["executor"] = executor
        if context:
            options["context"] = dict(context)
        if state is not None:
            options["state"] = state
        final = self.flow.run(**options)
        results = final.result if isinstance(final.result, Mapping) else {}
        return final.with_result({t: results[t] for t in returned if t in results})
