"""Compile a flow into Dask graphs, one stage at a time.  Knows no executor.

Every task run is one graph node calling the runner; nodes pass States, not raw
values.  A mapped task whose width is known becomes one node per child plus a
parent node gathering them, in the same graph as its upstream, so a chain of
mapped tasks runs depth-first.  A mapped task whose width depends on a result
not yet computed waits for the next stage: ``next_stage`` returns the largest
set of tasks that can be compiled now, and the caller runs it, records the
States, and asks again.

Keys: a task's final State is under its slug; mapped child ``i`` under
``(slug, i)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dask.task_spec import Task as Node
from dask.task_spec import TaskRef

from ..states import Mapped, State
from .runner import Input, RunInfo, TaskPlan, pick, run_parent, run_task

__all__ = ["Stage", "build_plans", "next_stage", "child_key"]

UNKNOWN = -1      # width depends on a result not computed yet
NO_WIDTH = -2     # cannot map at all: the parent's checks decide its state


def child_key(slug: str, i: int) -> tuple[str, int]:
    return (slug, i)


@dataclass
class Stage:
    """One graph to run: ``tasks`` get their final States under ``task_keys``."""

    graph: dict[Any, Node]
    tasks: list[Any]
    task_keys: list[Any]
    refs: set[Any]     # keys the graph reads that earlier stages computed


def build_plans(flow: Any) -> dict[Any, TaskPlan]:
    """One TaskPlan per task of ``flow`` (inputs in a stable order)."""
    inputs: dict[Any, list[Input]] = {t: [] for t in flow.tasks}
    for e in sorted(flow.edges, key=lambda e: (e.key is None, e.key or "", e.upstream_task.slug)):
        inputs[e.downstream_task].append(Input(e, e.key, e.mapped, e.flattened))
    return {t: TaskPlan(t, t.slug, tuple(ins), dict(flow.constants.get(t, {})),
                        any(i.mapped for i in ins))
            for t, ins in inputs.items()}


def _node_run(plan: TaskPlan, info: RunInfo, map_index: int | None,
              picks: tuple, *upstream: State) -> State:
    return run_task(plan, info, map_index, tuple(pick(s, p) for s, p in zip(upstream, picks)))


def _node_parent(plan: TaskPlan, info: RunInfo, n_up: int, *states: State) -> State:
    return run_parent(plan, info, states[:n_up], list(states[n_up:]))


def _lengths(state: State, flattened: bool) -> list[int] | None:
    """Lengths of the pieces a mapped input splits into, or None if it cannot be mapped."""
    try:
        if isinstance(state, Mapped):
            if not flattened:
                return [1] * len(state.map_states)
            return [len(c.result) for c in state.map_states]
        if not state.is_successful() or isinstance(state.result, (str, bytes, dict)):
            return None
        if flattened:
            return [len(v) for v in state.result]
        return [1] * len(state.result)
    except TypeError:
        return None


class _Compiler:
    def __init__(self, plans: Mapping[Any, TaskPlan], info: RunInfo,
                 done: Mapping[Any, State]) -> None:
        self.plans, self.info, self.done = plans, info, done
        self.width: dict[Any, int] = {}
        self.graph: dict[Any, Node] = {}
        self.refs: set[Any] = set()

    def ref(self, key: Any) -> TaskRef:
        if key not in self.graph:
            self.refs.add(key)
        return TaskRef(key)

    def width_of(self, plan: TaskPlan) -> int:
        """How many children ``plan``'s task has, UNKNOWN, or NO_WIDTH."""
        widths = []
        for inp in plan.inputs:
            if not inp.mapped:
                continue
            up = inp.edge.upstream_task
            if up in self.done:
                lengths = _lengths(self.done[up], inp.flattened)
                if lengths is None:
                    if self.done[up].is_successful():
                        return NO_WIDTH     # unmappable result: the parent fails
                    continue
                widths.append(sum(lengths))
            elif self.width.get(up, UNKNOWN) >= 0 and not inp.flattened:
                widths.append(self.width[up])
            else:
                return UNKNOWN
        return min(widths) if widths else NO_WIDTH

    def source(self, inp: Input, i: int) -> tuple[TaskRef, tuple]:
        """The key child ``i`` reads for mapped input ``inp``, and its pick path."""
        up = inp.edge.upstream_task
        slug = up.slug
        state = self.done.get(up)
        up_is_mapped = isinstance(state, Mapped) if state is not None else self.width.get(up, -1) >= 0
        if not inp.flattened:
            return (self.ref(child_key(slug, i)), ()) if up_is_mapped else (self.ref(slug), (i,))
        j = 0
        for j, n in enumerate(_lengths(state, True) or []):
            if i < n:
                break
            i -= n
        return (self.ref(child_key(slug, j)), (i,)) if up_is_mapped else (self.ref(slug), (j, i))

    def add(self, task: Any) -> None:
        plan = self.plans[task]
        whole = tuple(self.ref(i.edge.upstream_task.slug) for i in plan.inputs)
        if not plan.is_mapped:
            self.graph[plan.slug] = Node(plan.slug, _node_run, plan, self.info, None,
                                         ((),) * len(whole), *whole)
            return
        width = self.width_of(plan)
        if width == NO_WIDTH:
            self.graph[plan.slug] = Node(plan.slug, _node_run, plan, self.info, None,
                                         ((),) * len(whole), *whole)
            return
        self.width[task] = width
        children = []
        for i in range(width):
            refs, picks = [], []
            for inp, w in zip(plan.inputs, whole):
                r, p = self.source(inp, i) if inp.mapped else (w, ())
                refs.append(r)
                picks.append(p)
            key = child_key(plan.slug, i)
            self.graph[key] = Node(key, _node_run, plan, self.info, i, tuple(picks), *refs)
            children.append(TaskRef(key))
        self.graph[plan.slug] = Node(plan.slug, _node_parent, plan, self.info, len(whole),
                                     *whole, *children)


def next_stage(plans: Mapping[Any, TaskPlan], order: tuple, info: RunInfo,
               done: Mapping[Any, State]) -> Stage:
    """The tasks (in ``order``, not in ``done``) that can be compiled now, as one graph."""
    c = _Compiler(plans, info, done)
    tasks: list[Any] = []
    in_stage: set[Any] = set()
    for task in order:
        if task in done:
            continue
        plan = plans[task]
        ups = [i.edge.upstream_task for i in plan.inputs]
        if any(u not in done and u not in in_stage for u in ups):
            continue
        if plan.is_mapped and c.width_of(plan) == UNKNOWN:
            continue
        c.add(task)
        tasks.append(task)
        in_stage.add(task)
    return Stage(c.graph, tasks, [plans[t].slug for t in tasks], c.refs - set(c.graph))
