"""What to do with a graph node that did not return its value: a pure state machine.

The executor reports a node that did not return as an event; ``next_action(node, event)``
says what the driver does next.  It does no I/O and keeps no state: the node carries
what recovery needs (attempts already lost to dead workers, whether it ran alone).

Events:

- ``WorkerDied``: the worker (or pool process) running the node died; its outcome is
  unknown.  ``suspects`` is how many nodes that worker was running at the time.
- ``InputLost``: the node did not run because a node it reads was lost.

Actions: ``RunAgain(node)`` (in the next round; a node marked ``alone`` runs with nothing
beside it), ``Split(nodes)`` (replace the node by these), ``EndCrashed(value)`` (the node
holds Crashed states), ``GatherHere()`` (the driver computes the node from what it holds).

The table (node kind, event) -> rule, which ``TRANSITIONS`` holds:

=========  ==========  ====================================================================
kind       event       action
=========  ==========  ====================================================================
run        WorkerDied  several suspects and not yet alone: RunAgain alone, nobody charged;
                       else the death is an attempt of each task run in the node:
                       RunAgain while the task has retries left, else EndCrashed
run        InputLost   RunAgain
group      WorkerDied  Split into one node per task (none is charged) and a collecting node
group      InputLost   RunAgain
gather     WorkerDied  GatherHere if the driver holds all it reads, else RunAgain
gather     InputLost   GatherHere if the driver holds all it reads, else RunAgain
=========  ==========  ====================================================================

("run" nodes: ``TaskNode``, ``BatchNode``; "group": ``GroupNode``; "gather":
``ParentNode``, ``CollectNode``, ``HeadNode``, in which no task code runs.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..executors.base import NodeError
from ..states import Crashed, State
from .nodes import BatchNode, GraphNode, TaskNode

__all__ = ["WorkerDied", "InputLost", "RunAgain", "Split", "EndCrashed", "GatherHere",
           "next_action", "TRANSITIONS", "InvalidTransition"]


@dataclass(frozen=True, slots=True)
class WorkerDied:
    """The worker running the node died (``error`` says which and why)."""

    error: NodeError
    inputs_held: bool = False   # the driver holds every value the node reads

    @property
    def suspects(self) -> int:
        return self.error.suspects


@dataclass(frozen=True, slots=True)
class InputLost:
    """The node did not run: a node it reads was lost with its worker."""

    inputs_held: bool = False


Event = WorkerDied | InputLost


@dataclass(frozen=True, slots=True)
class RunAgain:
    node: GraphNode


@dataclass(frozen=True, slots=True)
class Split:
    nodes: Mapping[Any, GraphNode]


@dataclass(frozen=True, slots=True)
class EndCrashed:
    value: Any   # a Crashed State, or a tuple of them for a batch


@dataclass(frozen=True, slots=True)
class GatherHere:
    pass


Action = RunAgain | Split | EndCrashed | GatherHere


class InvalidTransition(RuntimeError):
    """An event no rule of the table covers (a prefect_dask bug)."""


def _charge(node: TaskNode | BatchNode, event: WorkerDied) -> Action:
    if event.suspects > 1 and not node.alone:
        return RunAgain(dataclasses.replace(node, alone=True))
    used = node.crashes + 1
    if used > node.plan.task.max_retries:
        return EndCrashed(crashed_value(node, event.error))
    return RunAgain(dataclasses.replace(node, crashes=used))


def _again(node: GraphNode, event: Event) -> Action:
    return RunAgain(node)


def _split(node: Any, event: Event) -> Action:
    return Split(node.split())


def _gather(node: GraphNode, event: Event) -> Action:
    return GatherHere() if event.inputs_held else RunAgain(node)


TRANSITIONS: dict[tuple[str, type], Callable[[Any, Any], Action]] = {
    ("run", WorkerDied): _charge,
    ("run", InputLost): _again,
    ("group", WorkerDied): _split,
    ("group", InputLost): _again,
    ("gather", WorkerDied): _gather,
    ("gather", InputLost): _gather,
}


def next_action(node: GraphNode, event: Event) -> Action:
    """What to do with ``node`` after ``event`` (see the module's table).

    >>> from prefect_dask import Task
    >>> from prefect_dask.engine.runner import TaskPlan
    >>> plan = TaskPlan(Task(name="t", max_retries=1), "t", (), {}, False)
    >>> died = WorkerDied(NodeError(RuntimeError("gone"), crashed_key="t"))
    >>> action = next_action(TaskNode("t", plan, ()), died)
    >>> type(action).__name__, action.node.crashes
    ('RunAgain', 1)
    """
    try:
        rule = TRANSITIONS[(node.kind, type(event))]
    except KeyError:
        raise InvalidTransition(
            f"No recovery rule for a {type(node).__name__} ({node.key!r}) after "
            f"{type(event).__name__}; this is a prefect_dask bug, please report it.") from None
    return rule(node, event)


def crashed_value(node: TaskNode | BatchNode, err: NodeError) -> Any:
    """What a node whose worker died holds instead of its result: Crashed state(s)."""
    if isinstance(node, BatchNode):
        return tuple(_crashed(node, i, err) for i in node.span)
    return _crashed(node, None, err)


def _crashed(node: TaskNode | BatchNode, i: int | None, err: NodeError) -> State:
    """The Crashed state of task run ``i`` of ``node`` (None: not a mapped child)."""
    task = node.plan.task
    where = f"Dask worker {err.worker}" if err.worker else "the worker"
    name = task.name if i is None else f"{task.name}[{i}]"
    reason = err.reason or (
        f"{where} running it died ({type(err.exc).__name__}: {err.exc}); its outcome is "
        "unknown. Check the worker's log (often it ran out of memory), then run the flow "
        "again.")
    return Crashed(f"Task {name!r}: {reason}", result=err.exc, task_name=task.name,
                   map_index=i, attempts=node.crashes + 1)
