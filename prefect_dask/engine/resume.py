"""Resume: what a recorded run left that need not run again.

``flow.run(resume=run_id)`` reuses a task's result when the task succeeded with a
checkpoint and everything upstream of it is reused too (a Parameter counts as reused
when its value did not change).  Two places say what succeeded:

- the run record, which hears of a task run when its graph node ends (a batch of
  mapped children, a group of single tasks);
- the result store itself: a checkpoint without a ``target`` goes to
  ``<flow>/<task slug>/<run id>/<map index | task>.pkl`` (``targets.default_location``),
  written atomically and only for a successful result, so a file there is a finished
  task run even if the driver was killed before the record heard of it.

Resume reads both, so a driver killed in the middle of a batch of 20,000 children
loses only the children that were running, and no task run does any extra work for
it.  A run that resumes another records where its reused results came from
(``RunRecorder.resumed``), so resuming *that* run looks in every earlier run's folder
too.  Tasks with a ``target`` need none of this: each child finds its own target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..results import CorruptResultError, LocalResult
from ..states import Cached, State
from ..store.targets import checkpoint_folder, checkpoint_index
from ..task import Constant, Parameter, is_sequence
from .runner import TaskPlan

__all__ = ["reuse", "Reused"]


@dataclasses.dataclass(frozen=True)
class Reused:
    """What ``reuse`` found: plans (mapped children given), task states, and for each task
    the runs whose checkpoint folders it read (the new run records them)."""

    plans: dict[Any, TaskPlan]
    states: dict[Any, State]
    sources: dict[str, list[str]]


def reuse(flow: Any, plans: Mapping[Any, TaskPlan], record: dict, order: tuple,
          params: Mapping[str, Any]) -> Reused:
    """What ``record``'s run (and the runs it resumed) checkpointed and need not run again."""
    run_id = record["run_id"]
    note = f"Loaded from the checkpoint of run {run_id}."
    recorded_params = record.get("parameters") or {}
    earlier = record.get("resumed_from") or {}
    entries = record["tasks"]
    states: dict[Any, State] = {}
    widths: dict[Any, int] = {}      # reused mapped tasks: how many children
    clean: set[Any] = set()          # tasks whose result is the recorded run's
    sources: dict[str, list[str]] = {}
    out = dict(plans)
    for task in order:
        if isinstance(task, (Parameter, Constant)):
            if not isinstance(task, Parameter) or params.get(task.name) == \
                    recorded_params.get(task.name):
                clean.add(task)
            continue
        if not all(i.edge.upstream_task in clean for i in plans[task].inputs):
            continue
        store = task.result or flow.result or LocalResult()
        runs = [run_id, *earlier.get(task.slug, [])]
        sources[task.slug] = runs
        entry = entries.get(task.slug, {})
        found = {i: c["location"] for i, c in entry.get("children", {}).items()
                 if c.get("state") in ("Success", "Cached") and c.get("location")}
        if not task.target:
            for i, where in _on_disk(store, flow.name, task.slug, runs).items():
                found.setdefault(i, where)
        if not plans[task].is_mapped:
            where = entry.get("location") if entry.get("state") in ("Success", "Cached") \
                else found.get(None)
            value = _MISSING if where is None else _load(store, where, task, record)
            if value is not _MISSING:
                states[task] = Cached(note, value, task_name=task.name, location=where)
                clean.add(task)
            continue
        children = {}
        for i, where in found.items():
            if i is not None:
                value = _load(store, where, task, record)
                if value is not _MISSING:
                    children[i] = Cached(note, value, task_name=task.name, map_index=i,
                                         location=where)
        out[task] = dataclasses.replace(plans[task], given=children)
        width = len(entry["children"]) if entry.get("state") == "Mapped" else \
            _width(plans[task], states, widths, params)
        if width is not None and set(children) == set(range(width)):
            clean.add(task)   # every child is reused: downstream may be too
            widths[task] = width
    return Reused(out, states, sources)


def _on_disk(store: Any, flow_name: str, slug: str, runs: list[str]) -> dict[Any, str]:
    """``{map index or None: where}`` of the checkpoints ``runs`` left in their folders for
    this task (the first run that has one wins)."""
    found: dict[Any, str] = {}
    for run in runs:
        folder = checkpoint_folder(flow_name, slug, run)
        for name in store.stored(folder):
            index = checkpoint_index(name)
            if index is not False:
                found.setdefault(index, store.where(f"{folder}/{name}"))
    return found


def _width(plan: TaskPlan, states: Mapping[Any, State], widths: Mapping[Any, int],
           params: Mapping[str, Any]) -> int | None:
    """How many children a mapped task has when all it maps over is reused, else None."""
    out = []
    for inp in plan.inputs:
        if not inp.mapped:
            continue
        if inp.flattened:
            return None
        up = inp.edge.upstream_task
        if up in widths:
            out.append(widths[up])
            continue
        if up in states:
            value = states[up].result
        elif isinstance(up, Parameter):
            value = params.get(up.name)
        elif isinstance(up, Constant):
            value = up.value
        else:
            return None
        if not is_sequence(value):
            return None
        out.append(len(value))
    return min(out) if out else None


_MISSING = object()


def _load(store: Any, location: str, task: Any, record: dict) -> Any:
    """A checkpointed value, or _MISSING if the file is gone (the task then runs again)."""
    try:
        return store.load(location)
    except FileNotFoundError:
        return _MISSING
    except CorruptResultError as exc:
        raise CorruptResultError(
            f"Resuming run {record['run_id']}: the checkpoint of task {task.name!r} was "
            f"refused: {exc}") from None
