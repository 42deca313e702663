"""Prefect 1's ``FlowRunner`` and ``TaskRunner``: small facades over ``flow.run``.

Prefect 1's local-debugging docs run flows with
``FlowRunner(flow).run(parameters=..., task_states=..., return_tasks=...)``.  Here
that is ``flow.run`` (one engine), run once (a schedule is not followed), with
the returned state's ``.result`` holding only the ``return_tasks`` (none by
default), as Prefect 1's ``FlowRunner`` did.

Prefect 1's task guide tests one task with ``TaskRunner(task).run(upstream_states=
{edge: state})``.  Here that runs a flow made of the task and the upstream tasks of
the given edges, those started from the given states (one engine), and returns the
task's final State.

They live with the compatibility layer (served at Prefect's ``prefect.engine.flow_runner``
and ``prefect.engine.task_runner``): they build flows, and the engine never imports
``flow``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..flow import Flow

__all__ = ["FlowRunner", "TaskRunner"]


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


class TaskRunner:
    """Runs one task once: ``TaskRunner(task).run(...)`` returns its State."""

    def __init__(self, task: Any, state_handlers: Iterable[Any] | None = None,
                 flow_result: Any = None) -> None:
        if state_handlers:
            raise TypeError(
                f"TaskRunner(task {task.name!r}, state_handlers=...): prefect_dask has no "
                "runner-level handlers; give the task state_handlers=[...] instead.")
        self.task = task
        self.flow_result = flow_result

    def run(self, state: Any = None, upstream_states: Mapping[Any, Any] | None = None,
            context: Mapping[str, Any] | None = None, is_mapped_parent: bool = False,
            executor: Any = None) -> Any:
        """Run the task after upstream tasks that ended in the given states
        (``{Edge(upstream, task, key=...): state}``); returns the task's State."""
        flow = Flow(f"TaskRunner({self.task.name})", result=self.flow_result)
        flow.add_task(self.task)
        given: dict[Any, Any] = {}
        for edge, upstream_state in (upstream_states or {}).items():
            if edge.downstream_task is not self.task:
                raise ValueError(
                    f"TaskRunner(task {self.task.name!r}).run(upstream_states=...): the edge "
                    f"{edge!r} does not lead to this task; build it as Edge(upstream, task, "
                    "key='argument').")
            flow.add_edge(edge.upstream_task, self.task, key=edge.key, mapped=edge.mapped,
                          flattened=edge.flattened)
            given[edge.upstream_task] = upstream_state
        if state is not None:
            given[self.task] = state
        options: dict[str, Any] = {"task_states": given, "run_on_schedule": False}
        if context:
            options["context"] = dict(context)
        if executor is not None:
            options["executor"] = executor
        return flow.run(**options).result[self.task]
