"""``TaskRunner``: Prefect 1's task runner as a small facade over ``flow.run``.

Prefect 1's task guide tests one task with ``TaskRunner(task).run(upstream_states=
{edge: state})``.  Here that runs a flow made of the task and the upstream tasks of
the given edges, those started from the given states (one engine), and returns the
task's final State.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["TaskRunner"]


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
        from ..flow import Flow

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
