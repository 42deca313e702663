"""Compile a flow into Dask graphs, one stage at a time.  Knows no executor.

Every task run is part of a graph node calling the runner; nodes pass States,
not raw values.  A mapped task whose width is known becomes batch nodes (each
runs a contiguous range of children, every child with its own State) plus a
parent node gathering them, in the same graph as its upstream, so a chain of
mapped tasks runs depth-first: batch j of a downstream task waits only for the
batches of its upstream holding the same elements.  A mapped task whose width
depends on a result not yet computed waits for the next stage: ``next_stage``
returns every task that can be compiled now, the caller runs that graph,
records the States, and asks again.

Single tasks whose inputs were all computed earlier are independent of each other; when
more of them are ready than ``BATCHES_PER_WORKER`` per worker, they run in group nodes,
several one after another, like a mapped task's batches.

The nodes are the typed values of ``nodes.py``.  Keys: a task's final State is under
its slug; batch ``j`` of a mapped task, its children's States, under ``(slug, j)``; a
group node's tuple of States under ``("~group", n)`` (n counts the run's groups), where
later nodes pick each task's State from it; a laid-out mapped task's ``Head`` under
``("~head", slug)``.

A width laid out from an upstream's layout holds only if that upstream maps: a mapped
parent can still end without mapping (Skipped, or Failed with no result), and Prefect 1
then creates no children for it, and none for a task mapping over it (the width is
bounded at 0).  So a task mapping over a task laid out in the same graph has a
``HeadNode`` (as has that task), run before its children from its upstream's Heads, and
its batches run no child unless the Head says so.  So has a mapped task with state
handlers: they see its Pending -> Mapped before any child runs, and a state they return
other than Mapped ends it without children (as in Prefect 1).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from dask.task_spec import TaskRef

from ..states import Mapped, State, Success, raw_result
from ..task import Edge, Parameter, flattens, is_sequence
from .nodes import (BatchNode, Child, Elem, GraphNode, GroupNode, HeadNode, Member, ParentNode,
                    Paths, Rule, Slice, TaskNode, Whole, member_ref, shared_ref)
from .runner import TaskPlan

__all__ = ["Stage", "Layout", "build_plans", "next_stage", "batch_size_for", "task_resources",
           "shared_slugs"]

logger = logging.getLogger("prefect_dask")

UNKNOWN = -1      # width depends on a result not computed yet
NO_WIDTH = -2     # cannot map at all: the parent's checks decide its state
BATCHES_PER_WORKER = 8
MAX_AUTO_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class Layout:
    """How a mapped task's children are cut into batches: batch j holds [j*size, (j+1)*size)."""

    width: int
    size: int

    @property
    def n_batches(self) -> int:
        return math.ceil(self.width / self.size) if self.width else 0

    def span(self, j: int) -> range:
        return range(j * self.size, min((j + 1) * self.size, self.width))


def batch_size_for(task: Any, width: int, workers: int) -> int:
    """Children per batch: the task's ``map_batch_size``, or enough to give each worker
    ``BATCHES_PER_WORKER`` batches (fewer, bigger batches cost less scheduling)."""
    if task.map_batch_size is not None:
        return task.map_batch_size
    return max(1, min(MAX_AUTO_BATCH, math.ceil(width / (max(1, workers) * BATCHES_PER_WORKER))))


@dataclass
class Stage:
    """One graph to run: ``tasks`` get their final States under their slugs."""

    nodes: dict[Any, GraphNode]
    tasks: list[Any]
    layouts: dict[Any, Layout]    # batch layouts of the mapped tasks compiled here
    annotations: dict[Any, dict]  # Dask annotations per node (priority, resources)


def task_resources(task: Any) -> dict[str, float]:
    """Dask worker resources a task needs: ``resources=`` plus Prefect 1's
    ``tags=["dask-resource:GPU=1"]``.

    >>> from prefect_dask import Task
    >>> task_resources(Task(tags=["dask-resource:GPU=1"], resources={"MEM": 2}))
    {'GPU': 1.0, 'MEM': 2}
    """
    out: dict[str, float] = {}
    for tag in sorted(task.tags):
        if tag.startswith("dask-resource:"):
            name, _, amount = tag[len("dask-resource:"):].partition("=")
            try:
                out[name] = float(amount)
            except ValueError:
                raise ValueError(f"Task {task.name!r}: tag {tag!r} must look like "
                                 "'dask-resource:NAME=AMOUNT', e.g. 'dask-resource:GPU=1'.") from None
    out.update(task.resources)
    return out


def build_plans(flow: Any) -> dict[Any, TaskPlan]:
    """One TaskPlan per task of ``flow`` (inputs in a stable order)."""
    from .runner import Input

    inputs: dict[Any, list[Input]] = {t: [] for t in flow.tasks}
    for e in sorted(flow.edges, key=lambda e: (e.key is None, e.key or "", e.upstream_task.slug)):
        inputs[e.downstream_task].append(Input(e, e.key, e.mapped, e.flattened))
    return {t: TaskPlan(t, t.slug, tuple(ins), dict(flow.constants.get(t, {})),
                        any(i.mapped for i in ins),
                        constant_states=_constant_states(t, flow.constants.get(t, {})))
            for t, ins in inputs.items()}


class ConstantInput:
    """The upstream "task" of a constant argument, as a trigger sees it (cheap to make)."""

    __slots__ = ("value", "name", "slug")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.name = self.slug = f"Constant[{type(value).__name__}]"

    def __repr__(self) -> str:
        return f"<Constant: {self.value!r:.40}>"


def _constant_states(task: Any, constants: Mapping[str, Any]) -> dict[Any, State]:
    """Prefect 1 shows a trigger each constant argument as a successful upstream task."""
    return {Edge(ConstantInput(v), task, key): Success(result=v)
            for key, v in constants.items()}


WHOLE = -1   # a flatten piece passed on whole: a child that failed or was skipped


def _flat_pieces(state: State) -> list[int] | None:
    """For ``flatten``: how many elements each piece (mapped child, or list item) gives;
    WHOLE for a piece that goes on as one element: a failed or skipped child, a child whose
    result is not a sequence (see ``unflattened_children``), or every item of a list that
    is not a list of lists (Prefect 1's rules).  None if ``state`` cannot be mapped over."""
    if isinstance(state, Mapped):
        return [len(c.result) if _flattens_child(c) else WHOLE for c in state.map_states]
    if not state.is_successful() or not is_sequence(state.result):
        return None
    if not flattens(state.result):
        return [WHOLE] * len(state.result)
    return [len(v) for v in state.result]


def _flattens_child(child: State) -> bool:
    return child.is_successful() and not child.is_skipped() and is_sequence(child.result)


def unflattened_children(state: State) -> list[int]:
    """Map indices of the successful children of ``state`` that ``flatten`` passes on
    whole because their results are not sequences (Prefect 1 warns of each)."""
    if not isinstance(state, Mapped):
        return []
    return [i for i, c in enumerate(state.map_states)
            if c.is_successful() and not c.is_skipped() and not is_sequence(c.result)]


def _warn_unflattened(plan: TaskPlan, done: Mapping[Any, State]) -> None:
    """Warn (as Prefect 1 does) of mapped children ``flatten`` passes on whole."""
    for inp in plan.inputs:
        up = inp.edge.upstream_task
        bad = unflattened_children(done[up]) if inp.flattened and up in done else []
        if bad:
            logger.warning(
                "Task %r: flatten(%s) got children %s of %r that did not return a list; each is "
                "passed on as one element. Return a list from %r to have it unnested.",
                plan.task.name, inp.key or "an upstream task", bad[:10], up.name, up.name)


def _width(state: State, flattened: bool) -> int | None:
    """How many children mapping over ``state`` gives, or None if it cannot be mapped."""
    if flattened:
        pieces = _flat_pieces(state)
        return None if pieces is None else sum(1 if n == WHOLE else n for n in pieces)
    if isinstance(state, Mapped):
        return len(state.map_states)
    if state.is_successful() and is_sequence(state.result):
        return len(state.result)
    return None


def _part(state: State | None, span: range) -> State | None:
    """``state`` with only elements ``span`` of its result, if it is a finished upstream
    whose list or tuple the driver holds (each batch then carries its own elements);
    else None (the batch reads the whole State and indexes it)."""
    if state is None or isinstance(state, Mapped) or not state.is_successful() \
            or state.is_skipped():
        return None
    value = raw_result(state)
    if type(value) not in (list, tuple):
        return None
    return state.with_result(value[span.start:span.stop])


def ref(key: Any, member_of: Mapping[str, tuple], shared: Collection[str] = ()) -> Any:
    """What a node passes to read ``key``: a TaskRef; for a task that ran in a group node
    (``member_of[slug] = (group key, index)``) its State picked from the group's; for a
    Parameter (in ``shared``) its State in the run-wide SHARED node."""
    if key in shared:
        return shared_ref(key)
    if key in member_of:
        return member_ref(*member_of[key])
    return TaskRef(key)


class _Deps:
    """The keys one batch node reads, each once; calling it gives a key's argument index."""

    def __init__(self, member_of: Mapping[str, tuple], shared: Collection[str]) -> None:
        self.member_of = member_of
        self.shared = shared
        self.index: dict[Any, int] = {}
        self.refs: list[Any] = []

    def __call__(self, key: Any) -> int:
        if key not in self.index:
            self.index[key] = len(self.refs)
            self.refs.append(ref(key, self.member_of, self.shared))
        return self.index[key]


class _Compiler:
    def __init__(self, plans: Mapping[Any, TaskPlan], done: Mapping[Any, State],
                 layouts: Mapping[Any, Layout], workers: int,
                 member_of: Mapping[str, tuple]) -> None:
        self.plans, self.done, self.workers = plans, done, workers
        self.layouts: dict[Any, Layout] = dict(layouts)
        self.new_layouts: dict[Any, Layout] = {}
        self.member_of: dict[str, tuple] = dict(member_of)
        self.n_groups = len({group for group, _ in member_of.values()})
        self.shared = shared_slugs(plans)
        self.graph: dict[Any, GraphNode] = {}
        self.annotations: dict[Any, dict] = {}
        self.tasks: list[Any] = []      # compiled so far, in flow order

    def width_of(self, plan: TaskPlan) -> int:
        """How many children ``plan``'s task has, UNKNOWN, or NO_WIDTH."""
        widths = []
        for inp in plan.inputs:
            if not inp.mapped:
                continue
            up = inp.edge.upstream_task
            if up in self.done:
                state = self.done[up]
                if self.plans[up].is_mapped and not isinstance(state, Mapped):
                    widths.append(0)        # a mapped task that could not map: no children
                    continue
                width = _width(state, inp.flattened)
                if width is None:
                    if state.is_successful():
                        return NO_WIDTH     # an unmappable result: the parent fails
                    continue
                widths.append(width)
            elif up in self.layouts and not inp.flattened:
                widths.append(self.layouts[up].width)
            else:
                return UNKNOWN
        return min(widths) if widths else NO_WIDTH

    def rule(self, inp: Any, span: range, dep: "_Deps") -> Rule:
        """Where each child in ``span`` finds its upstream State for mapped input ``inp``."""
        up = inp.edge.upstream_task
        layout = self.layouts.get(up)
        if not inp.flattened:
            if layout is None:
                part = _part(self.done.get(up), span)
                return Elem(dep(up.slug)) if part is None else Slice(part, span.start)
            first, last = span.start // layout.size, (span.stop - 1) // layout.size
            idx = [dep((up.slug, j)) for j in range(first, last + 1)]
            if idx == list(range(idx[0], idx[0] + len(idx))):
                return Child(idx[0], first * layout.size, layout.size)
            return Paths({i: (idx[i // layout.size - first], i % layout.size, ())
                          for i in span})
        locs = {}
        pieces = _flat_pieces(self.done[up]) or []
        starts = [0]
        for n in pieces:
            starts.append(starts[-1] + (1 if n == WHOLE else n))
        j = 0
        for i in span:
            while starts[j + 1] <= i:
                j += 1
            path = () if pieces[j] == WHOLE else (i - starts[j],)
            if layout is None:
                locs[i] = (dep(up.slug), None, (j, *path))
            else:
                b, o = divmod(j, layout.size)
                locs[i] = (dep((up.slug, b)), o, path)
        return Paths(locs)

    def annotate(self, plan: TaskPlan, key: Any, batch: int = 0) -> None:
        """Worker resources, and a depth-first priority: among ready nodes a worker takes
        the earliest batch first and, within it, the task furthest down the flow, so a
        chain of mapped tasks finishes its first elements before starting new ones."""
        ann: dict[str, Any] = {"priority": len(self.tasks) - batch * (len(self.plans) + 1)}
        resources = task_resources(plan.task)
        if resources:
            ann["resources"] = resources
        self.annotations[key] = ann

    def add_group(self, tasks: list[Any]) -> None:
        """Independent single tasks, their inputs all computed earlier, as one node that
        runs them one after another (fewer nodes: less scheduling per task)."""
        key = ("~group", self.n_groups)
        self.n_groups += 1
        dep = _Deps(self.member_of, self.shared)
        members = tuple(Member(self.plans[t], tuple(dep(i.edge.upstream_task.slug)
                                                    for i in self.plans[t].inputs))
                        for t in tasks)
        self.graph[key] = GroupNode(key, members, tuple(dep.refs))
        self.annotations[key] = {"priority": len(self.tasks) + 1}
        for i, t in enumerate(tasks):
            self.member_of[self.plans[t].slug] = (key, i)
        self.tasks.extend(tasks)

    def beside(self, inp: Any) -> bool:
        """Does ``inp`` map over a mapped task laid out in this graph (which may not map)?"""
        return inp.mapped and inp.edge.upstream_task in self.new_layouts

    def head(self, task: Any) -> Any:
        """The key of ``task``'s HeadNode, made now if need be with those of the tasks it
        maps over in this graph.  Only tasks mapping over such a task need one for their
        batches: elsewhere the upstream is known when compiling (see ``width_of``)."""
        plan = self.plans[task]
        key = ("~head", plan.slug)
        if key not in self.graph:
            self.graph[key] = HeadNode(key, plan, tuple(
                TaskRef(self.head(i.edge.upstream_task)) if self.beside(i)
                else ref(i.edge.upstream_task.slug, self.member_of, self.shared)
                for i in plan.inputs))
            self.annotations[key] = {"priority": len(self.tasks) + 1}   # no task code
        return key

    def add(self, task: Any) -> None:
        self.tasks.append(task)
        plan = self.plans[task]
        whole = tuple(ref(i.edge.upstream_task.slug, self.member_of, self.shared)
                      for i in plan.inputs)
        width = self.width_of(plan) if plan.is_mapped else NO_WIDTH
        _warn_unflattened(plan, self.done)
        if width == NO_WIDTH:
            self.graph[plan.slug] = TaskNode(plan.slug, plan, whole)
            self.annotate(plan, plan.slug)
            return
        layout = Layout(width, batch_size_for(task, width, self.workers))
        # a parent with state handlers decides in its Head whether it maps (they may end it)
        head = self.head(task) if plan.task.state_handlers \
            or any(map(self.beside, plan.inputs)) else None
        self.layouts[task] = self.new_layouts[task] = layout
        batches = []
        for j in range(layout.n_batches):
            span = layout.span(j)
            dep = _Deps(self.member_of, self.shared)
            rules = tuple(self.rule(inp, span, dep) if inp.mapped
                          else Whole(dep(inp.edge.upstream_task.slug)) for inp in plan.inputs)
            key = (plan.slug, j)
            self.graph[key] = BatchNode(key, plan, span, rules, tuple(dep.refs), head=head)
            self.annotate(plan, key, j)
            batches.append(key)
        self.graph[plan.slug] = ParentNode(plan.slug, plan, whole, tuple(batches), head)
        self.annotate(plan, plan.slug)


def next_stage(plans: Mapping[Any, TaskPlan], order: tuple,
               done: Mapping[Any, State], layouts: Mapping[Any, Layout],
               workers: int = 1, member_of: Mapping[str, tuple] | None = None) -> Stage:
    """The tasks (in ``order``, not in ``done``) that can be compiled now, as one graph.

    Ready single tasks beyond ``BATCHES_PER_WORKER`` per worker run in group nodes (see the
    module's docstring); ``member_of`` says which group node earlier stages put each in."""
    c = _Compiler(plans, done, layouts, workers, member_of or {})
    ready = [t for t in order if t not in done and not plans[t].is_mapped
             and not task_resources(t) and not _waits_to_retry(t)
             and all(i.edge.upstream_task in done for i in plans[t].inputs)]
    size = math.ceil(len(ready) / (max(1, workers) * BATCHES_PER_WORKER))
    grouped = ready if size > 1 else []
    if workers == 1:
        _in_order(c, plans, order, done, set(grouped), size)
        return Stage(c.graph, c.tasks, c.new_layouts, c.annotations)
    for g in range(0, len(grouped), max(1, size)):
        c.add_group(grouped[g:g + size])
    in_stage: set[Any] = set(grouped)
    for task in order:
        if task in done or task in in_stage:
            continue
        if _compilable(c, plans[task], done, in_stage):
            c.add(task)
            in_stage.add(task)
    return Stage(c.graph, c.tasks, c.new_layouts, c.annotations)


def _compilable(c: _Compiler, plan: TaskPlan, done: Mapping[Any, State],
                in_stage: set[Any]) -> bool:
    """Whether ``plan``'s task can join the stage: its inputs are computed or in the stage,
    and if it is mapped, its width is known."""
    if any(i.edge.upstream_task not in done and i.edge.upstream_task not in in_stage
           for i in plan.inputs):
        return False
    return not plan.is_mapped or c.width_of(plan) != UNKNOWN


def _in_order(c: _Compiler, plans: Mapping[Any, TaskPlan], order: tuple,
              done: Mapping[Any, State], groupable: set[Any], size: int) -> None:
    """For an executor that runs one node at a time, in the graph's order: the nodes of the
    longest run of ``order`` that can be compiled now, in that order (so tasks run in
    ``flow.sorted_tasks()`` order, Prefect 1's, and children in map-index order);
    consecutive ``groupable`` tasks share group nodes of ``size``."""
    run: list[Any] = []
    in_stage: set[Any] = set()

    def flush() -> None:
        for g in range(0, len(run), max(1, size)):
            c.add_group(run[g:g + size])
        run.clear()

    for task in order:
        if task in done:
            continue
        if task in groupable:
            run.append(task)
        elif _compilable(c, plans[task], done, in_stage):
            flush()
            c.add(task)
        else:
            break
        in_stage.add(task)
    flush()


def shared_slugs(plans: Mapping[Any, TaskPlan]) -> frozenset[str]:
    """The tasks whose States every graph carries in its SHARED node: the Parameters (their
    values are in the run's info already; one pickle holds both)."""
    return frozenset(p.slug for t, p in plans.items() if isinstance(t, Parameter))


def _waits_to_retry(task: Any) -> bool:
    """A task that sleeps between retries keeps its own node: in a group it would hold
    back the tasks after it."""
    return bool(task.max_retries) and (callable(task.retry_delay) or bool(task.retry_delay))
