"""Triggers: plain functions deciding whether a task may run.

A trigger takes ``upstream_states``, a dict ``{Edge: State}`` with one entry per
upstream edge, and returns True to let the task run.  Returning False or raising
``signals.TRIGGERFAIL`` ends the task ``TriggerFailed``; raising another signal
(``SKIP``, ``PAUSE``) ends it in that signal's state.  A mapped parent counts as
all of its children.  Skipped tasks count as successes.

>>> from prefect_dask.states import Success, Failed
>>> all_finished({"a": Success(), "b": Failed()})
True
>>> any_successful({"a": Success(), "b": Failed()})
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import signals
from .states import Mapped, State

__all__ = [
    "all_successful", "all_failed", "any_successful", "any_failed", "all_finished",
    "always_run", "manual_only", "some_successful", "some_failed", "not_all_skipped",
    "upstream_state_list",
]

Trigger = Callable[[Mapping[Any, State]], bool]


def upstream_state_list(upstream_states: Mapping[Any, State]) -> list[State]:
    """Every upstream state, with each mapped parent replaced by its children."""
    out: list[State] = []
    for state in upstream_states.values():
        if isinstance(state, Mapped):
            out.extend(state.map_states)
        else:
            out.append(state)
    return out


def _require(ok: bool, name: str, why: str) -> bool:
    if not ok:
        raise signals.TRIGGERFAIL(f'Trigger was "{name}" but {why}.')
    return True


def all_finished(upstream_states: Mapping[Any, State]) -> bool:
    """Run once every upstream task finished, whatever its state."""
    states = upstream_state_list(upstream_states)
    return _require(all(s.is_finished() for s in states), "all_finished",
                    "some of the upstream tasks were not finished")


always_run = all_finished


def manual_only(upstream_states: Mapping[Any, State]) -> bool:
    """Never run on its own: the task ends ``Paused``, until it is given a ``Resume`` state
    (``flow.run(task_states={task: Resume()})``)."""
    from .context import context

    if context.get("resume"):
        return True
    raise signals.PAUSE('Trigger function is "manual_only"')


def all_successful(upstream_states: Mapping[Any, State]) -> bool:
    """Run if every upstream task succeeded (the default)."""
    states = upstream_state_list(upstream_states)
    return _require(all(s.is_successful() for s in states), "all_successful",
                    "some of the upstream tasks failed")


def all_failed(upstream_states: Mapping[Any, State]) -> bool:
    """Run if every upstream task failed."""
    states = upstream_state_list(upstream_states)
    return _require(all(s.is_failed() for s in states), "all_failed",
                    "some of the upstream tasks succeeded")


def any_successful(upstream_states: Mapping[Any, State]) -> bool:
    """Run if at least one upstream task succeeded (or there are none)."""
    states = upstream_state_list(upstream_states)
    return _require(not upstream_states or any(s.is_successful() for s in states),
                    "any_successful", "none of the upstream tasks succeeded")


def any_failed(upstream_states: Mapping[Any, State]) -> bool:
    """Run if at least one upstream task failed (or there are none)."""
    states = upstream_state_list(upstream_states)
    return _require(not upstream_states or any(s.is_failed() for s in states),
                    "any_failed", "none of the upstream tasks failed")


def not_all_skipped(upstream_states: Mapping[Any, State]) -> bool:
    """Run unless every upstream task was skipped; fail if any upstream failed."""
    states = upstream_state_list(upstream_states)
    if all(s.is_skipped() for s in states):
        raise signals.SKIP("All upstreams were skipped", result=None)
    return _require(all(s.is_successful() for s in states), "not_all_skipped",
                    "some of the upstream tasks failed")


def _some(name: str, predicate: Callable[[State], bool],
          at_least: float | None, at_most: float | None) -> Trigger:
    def trigger(upstream_states: Mapping[Any, State]) -> bool:
        if not upstream_states:
            return True
        states = upstream_state_list(upstream_states)
        total, hits = len(states), sum(1 for s in states if predicate(s))
        low = 0 if at_least is None else (total * at_least if at_least < 1 else at_least)
        high = total if at_most is None else (total * at_most if at_most < 1 else at_most)
        return _require(low <= hits <= high, name, "thresholds were not met")

    trigger.__name__ = name
    return trigger


def some_successful(at_least: float | None = None, at_most: float | None = None) -> Trigger:
    """Run if the number (or, below 1, the fraction) of successes is in range."""
    return _some("some_successful", State.is_successful, at_least, at_most)


def some_failed(at_least: float | None = None, at_most: float | None = None) -> Trigger:
    """Run if the number (or, below 1, the fraction) of failures is in range."""
    return _some("some_failed", State.is_failed, at_least, at_most)
