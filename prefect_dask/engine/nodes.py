"""The graph nodes ``compile`` builds and ``run`` reads: small frozen values, read by field.

Each kind of node says what it runs and becomes a Dask task with ``task()``:

- ``TaskNode``: one task run (a single task, or a mapped task that could not map);
- ``BatchNode``: a contiguous range of a mapped task's children, each with its own State;
- ``GroupNode``: several independent single tasks, one after another;
- ``HeadNode``: whether a mapped task's children run (a ``Head``), before they run;
- ``ParentNode``: a mapped task's final State, gathered from its batches;
- ``CollectNode``: a split group's States, collected from its tasks' own nodes.

Run-wide data (the ``RunInfo`` with the parameters, the Parameters' States, and the
plans of mapped tasks, which many batch nodes share) is not carried by the nodes: it is
one data node, ``SHARED``, that every node of a graph reads, so a cluster ships it once
per worker (a Parameter's value and its State's result are one object: pickled once).

Values a node's Dask task returns: a task's State (``TaskNode``, ``ParentNode``), a
``MapStates`` of children (``BatchNode``), a tuple of States (``GroupNode``,
``CollectNode``), a ``Head`` (``HeadNode``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dask.task_spec import DataNode
from dask.task_spec import Task as DaskTask
from dask.task_spec import TaskRef

from ..states import Mapped, MapStates, State
from .runner import RunInfo, TaskPlan, parent_before, pick, run_parent, run_task, worker_id

__all__ = ["SHARED", "Shared", "shared_node", "TaskNode", "BatchNode", "GroupNode", "Member",
           "Head", "HeadNode", "head_of", "ParentNode", "CollectNode", "GraphNode", "Whole",
           "Elem", "Slice", "Child", "Paths", "member_ref", "shared_ref", "parent_shell"]

SHARED = "~shared"   # the key of the run-wide data node in every graph


@dataclass(frozen=True, slots=True)
class Shared:
    """What every node of one graph reads: the run's info and the plans of its mapped tasks."""

    info: RunInfo
    plans: Mapping[str, TaskPlan] = field(default_factory=dict)   # slug -> plan
    # slug -> a Parameter's State, and its name in ``info.parameters`` when the State's
    # result was taken out because it is that value (see ``shared_node``)
    states: Mapping[str, tuple[State, str | None]] = field(default_factory=dict)


def shared_node(info: RunInfo, nodes: Mapping[Any, "GraphNode"],
                states: Mapping[str, State]) -> DataNode:
    """The ``SHARED`` data node for a graph of ``nodes``: only the plans they read there,
    and the Parameters' ``states`` (nodes read them with ``shared_ref``)."""
    plans = {n.plan.slug: n.plan for n in nodes.values()
             if isinstance(n, (BatchNode, HeadNode, ParentNode))}
    return DataNode(SHARED, Shared(info, plans, {k: _light(s, info) for k, s in states.items()}))


def _light(state: State, info: RunInfo) -> tuple[State, str | None]:
    """A Parameter's State without the value ``info.parameters`` holds already (a big value
    would otherwise travel twice), and the name to put it back from."""
    name = state.task_name
    if name in info.parameters and state.result is info.parameters[name]:
        return state.with_result(None), name
    return state, None


def shared_ref(slug: str) -> DaskTask:
    """Reads the State of Parameter ``slug`` from ``SHARED``."""
    return DaskTask(None, _shared_state, TaskRef(SHARED), slug)


# -- where a child finds its upstream state among a batch node's dependencies --------

@dataclass(frozen=True, slots=True)
class Whole:
    """An unmapped edge: ``deps[dep]`` as it is."""

    dep: int

    def locate(self, deps: tuple, i: int) -> State:
        return deps[self.dep]


@dataclass(frozen=True, slots=True)
class Elem:
    """Mapped over one State's list result: its element ``i``."""

    dep: int

    def locate(self, deps: tuple, i: int) -> State:
        return pick(deps[self.dep], (i,))


@dataclass(frozen=True, slots=True)
class Slice:
    """Mapped over a list the driver holds: the batch carries its own part of it,
    ``state`` (the upstream State with only elements ``base:`` of its result), so no
    worker receives the whole list."""

    state: State
    base: int

    def locate(self, deps: tuple, i: int) -> State:
        return self.state.with_result(self.state.result[i - self.base])


@dataclass(frozen=True, slots=True)
class Child:
    """Child ``i`` of a batched mapped upstream whose batches start at ``deps[dep]``:
    ``deps[dep + b][o]`` where ``b, o = divmod(i - base, size)``."""

    dep: int
    base: int
    size: int

    def locate(self, deps: tuple, i: int) -> State:
        b, o = divmod(i - self.base, self.size)
        return deps[self.dep + b][o]


@dataclass(frozen=True, slots=True)
class Paths:
    """Anything else (``flatten``), per child: ``{i: (dep, member or None, index path)}``."""

    where: Mapping[int, tuple[int, int | None, tuple[int, ...]]]

    def locate(self, deps: tuple, i: int) -> State:
        d, sel, path = self.where[i]
        state = deps[d] if sel is None else deps[d][sel]
        return pick(state, path)


Rule = Whole | Elem | Slice | Child | Paths


# -- the nodes ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TaskNode:
    """One task run.  ``upstream``: what it reads, aligned with ``plan.inputs``."""

    kind: ClassVar[str] = "run"
    key: Any
    plan: TaskPlan
    upstream: tuple
    crashes: int = 0     # attempts already lost to dead workers (they count as attempts)
    alone: bool = False  # run with nothing beside it: a worker death is then its own

    @property
    def map_indices(self) -> tuple[int | None, ...]:
        return (None,)

    def task(self) -> DaskTask:
        return DaskTask(self.key, _run_single, TaskRef(SHARED), self.plan, self.crashes,
                        *self.upstream)


@dataclass(frozen=True, slots=True)
class BatchNode:
    """Children ``span`` of a mapped task; child ``i`` reads ``rule.locate(deps, i)`` for
    each of the task's inputs.  Its plan comes from ``SHARED``.  None runs unless the
    task's ``HeadNode`` (key ``head``) says its children run."""

    kind: ClassVar[str] = "run"
    key: Any
    plan: TaskPlan
    span: range
    rules: tuple[Rule, ...]
    deps: tuple
    crashes: int = 0
    alone: bool = False
    head: Any = None

    @property
    def map_indices(self) -> range:
        return self.span

    def task(self) -> DaskTask:
        head = None if self.head is None else TaskRef(self.head)
        return DaskTask(self.key, _run_batch, TaskRef(SHARED), self.plan.slug, self.span,
                        self.rules, self.crashes, head, *self.deps)


@dataclass(frozen=True, slots=True)
class Member:
    """One task of a group node: its plan, and which of the group's deps are its inputs."""

    plan: TaskPlan
    inputs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GroupNode:
    """Independent single tasks run one after another; its value is their States in order."""

    kind: ClassVar[str] = "group"
    alone: ClassVar[bool] = False
    key: Any
    members: tuple[Member, ...]
    deps: tuple

    @property
    def slugs(self) -> list[str]:
        return [m.plan.slug for m in self.members]

    def task(self) -> DaskTask:
        return DaskTask(self.key, _run_group, TaskRef(SHARED), self.members, *self.deps)

    def split(self) -> dict[Any, "GraphNode"]:
        """Each member as a node of its own, and a node collecting their States."""
        out: dict[Any, GraphNode] = {
            m.plan.slug: TaskNode(m.plan.slug, m.plan, tuple(self.deps[d] for d in m.inputs))
            for m in self.members}
        out[self.key] = CollectNode(self.key, tuple(self.slugs))
        return out


@dataclass(frozen=True, slots=True)
class Head:
    """What a mapped task knows before its children run: its parent's state then
    (``parent_before``: Mapped, with no children yet, if it maps), and whether its
    children run, which they do only if it maps and every task it maps over in the same
    graph ran its children.  A mapped upstream that did not map bounds the width at 0
    (Prefect 1: no children), so then no child runs, nor any child downstream."""

    state: State
    runs: bool

    def as_upstream(self) -> State:
        """The parent State a downstream parent's checks see (no children yet)."""
        return self.state


@dataclass(frozen=True, slots=True)
class HeadNode:
    """A mapped task's ``Head``.  ``upstream`` is aligned with its inputs: the Head of
    a task it maps over that has one in the graph, else what its ``ParentNode`` reads.
    It waits for no mapped child, so the children of a chain of mapped tasks still run
    depth-first.  No task code runs in it; the parent's state handlers do (once: its
    ``ParentNode`` reads the Head)."""

    kind: ClassVar[str] = "gather"
    alone: ClassVar[bool] = False
    key: Any
    plan: TaskPlan
    upstream: tuple

    def task(self) -> DaskTask:
        return DaskTask(self.key, _run_head, TaskRef(SHARED), self.plan.slug, *self.upstream)

    def gather(self, held: Mapping[Any, Any], info: RunInfo) -> "Head":
        return head_of(self.plan, info, tuple(_value(r, held) for r in self.upstream))


def head_of(plan: TaskPlan, info: RunInfo, upstream: tuple) -> Head:
    """The Head of ``plan``'s task from its upstream States and Heads."""
    state = parent_before(plan, info, tuple(
        u.as_upstream() if isinstance(u, Head) else u for u in upstream))
    return Head(state, isinstance(state, Mapped) and all(u.runs for u in upstream
                                                          if isinstance(u, Head)))


@dataclass(frozen=True, slots=True)
class ParentNode:
    """A mapped task's final State from its ``upstream`` (aligned with its inputs) and its
    ``batches`` (keys of its BatchNodes), and its ``head`` (the key of its HeadNode, if it
    has one: its state before its children ran).  No task code runs in it.  On a cluster it
    runs there only if a task reads it; else the driver ``gather``s it (see
    ``run.run_stage``)."""

    kind: ClassVar[str] = "gather"
    alone: ClassVar[bool] = False
    key: Any
    plan: TaskPlan
    upstream: tuple
    batches: tuple
    head: Any = None

    def task(self) -> DaskTask:
        return DaskTask(self.key, _run_parent, TaskRef(SHARED), self.plan.slug,
                        None if self.head is None else TaskRef(self.head),
                        len(self.upstream), *self.upstream, *(TaskRef(b) for b in self.batches))

    def gather(self, held: Mapping[Any, Any], info: RunInfo) -> State:
        """Its value from values the driver holds (its batches may hold Crashed states);
        its result as on a cluster (``whole``): results left there stay there."""
        return self.whole(parent_shell(run_parent(
            self.plan, info, tuple(_value(r, held) for r in self.upstream),
            MapStates.concat(self.plan.task.name, [held[b] for b in self.batches]),
            None if self.head is None else held[self.head].state)), held)

    def whole(self, state: State, held: Mapping[Any, Any]) -> State:
        """``state`` fetched as a shell (see ``compile.parent_shell``) made whole again from
        the batches the driver holds."""
        if not isinstance(state, Mapped) or state.map_states is not None:
            return state
        children = MapStates.concat(self.plan.task.name, [held[b] for b in self.batches])
        return dataclasses.replace(state, map_states=children, result=children.result_list())


@dataclass(frozen=True, slots=True)
class CollectNode:
    """A split group's States, collected from its tasks' own nodes (``slugs``)."""

    kind: ClassVar[str] = "gather"
    alone: ClassVar[bool] = False
    key: Any
    slugs: tuple[str, ...]

    def task(self) -> DaskTask:
        return DaskTask(self.key, _collect, *(TaskRef(s) for s in self.slugs))

    def gather(self, held: Mapping[Any, Any], info: RunInfo) -> tuple[State, ...]:
        return tuple(held[s] for s in self.slugs)


GraphNode = TaskNode | BatchNode | GroupNode | HeadNode | ParentNode | CollectNode


def parent_shell(state: State) -> State:
    """What the driver fetches of a mapped parent's State from a cluster: all but its
    children, which it already has from the batches (see ``ParentNode.whole``)."""
    if isinstance(state, Mapped):
        return dataclasses.replace(state, map_states=None, result=None)
    return state


def _value(ref: Any, held: Mapping[Any, Any]) -> Any:
    """What ``ref`` (a TaskRef, or a member of a group, see ``member_ref``) reads in ``held``."""
    if isinstance(ref, TaskRef):
        return held[ref.key]
    # on the driver, ``held`` holds the Parameters' States that SHARED carries to workers
    return ref({d: Shared(None, {}, _AsShared(held))  # type: ignore[arg-type]
                if d == SHARED else held[d] for d in ref.dependencies})


class _AsShared:
    """``held`` seen as ``Shared.states`` (each State whole)."""

    def __init__(self, held: Mapping[Any, Any]) -> None:
        self.held = held

    def __getitem__(self, slug: str) -> tuple[State, None]:
        return self.held[slug], None


def member_ref(group: Any, i: int) -> DaskTask:
    """Reads the State of member ``i`` of group node ``group``."""
    return DaskTask(None, _member, TaskRef(group), i)


# -- what the Dask tasks call ---------------------------------------------------------

def _member(states: tuple, i: int) -> State:
    return states[i]


def _shared_state(shared: Shared, slug: str) -> State:
    state, name = shared.states[slug]
    return state if name is None else state.with_result(shared.info.parameters[name])


def _run_single(shared: Shared, plan: TaskPlan, crashes: int, *upstream: State) -> State:
    return run_task(plan, shared.info, None, upstream, crashes, worker_id())


def _run_batch(shared: Shared, slug: str, span: range, rules: tuple, crashes: int,
               head: Head | None, *deps: Any) -> MapStates:
    plan, info, where = shared.plans[slug], shared.info, worker_id()
    if head is not None and not head.runs:
        return MapStates(plan.task.name, span.start)
    return MapStates.from_states(
        plan.task.name,
        (run_task(plan, info, i, tuple(r.locate(deps, i) for r in rules), crashes, where)
         for i in span),
        offset=span.start)


def _run_head(shared: Shared, slug: str, *upstream: Any) -> Head:
    return head_of(shared.plans[slug], shared.info, upstream)


def _run_group(shared: Shared, members: tuple, *deps: Any) -> tuple[State, ...]:
    where = worker_id()
    return tuple(run_task(m.plan, shared.info, None, tuple(deps[d] for d in m.inputs), 0, where)
                 for m in members)


def _run_parent(shared: Shared, slug: str, head: Head | None, n_up: int, *deps: Any) -> State:
    plan = shared.plans[slug]
    return run_parent(plan, shared.info, deps[:n_up],
                      MapStates.concat(plan.task.name, deps[n_up:]),
                      None if head is None else head.state)


def _collect(*states: State) -> tuple[State, ...]:
    return states
