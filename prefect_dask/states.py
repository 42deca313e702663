"""Immutable task and flow states, Prefect 1's vocabulary and hierarchy.

A state is a frozen value.  A transition never mutates a state: it builds a new
one (``state.replace(...)`` or ``NewClass.from_state(old, ...)``).

The hierarchy is Prefect 1's::

    State
    ├── Pending ── Scheduled ── Retrying, Paused
    ├── Running
    └── Finished
        ├── Success ── Cached, Mapped, Skipped
        ├── Failed ── TimedOut, TriggerFailed, Crashed
        ├── Looped
        └── Cancelled

>>> s = Success(result=3)
>>> s.is_successful(), s.is_failed(), s.result
(True, False, 3)
>>> Skipped().is_successful()
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Sequence

__all__ = [
    "State", "Pending", "Scheduled", "Retrying", "Paused", "Running", "Finished",
    "Success", "Cached", "Mapped", "Skipped", "Failed", "TimedOut", "TriggerFailed",
    "Crashed", "Looped", "Cancelled",
]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class State:
    """Base of every state.

    ``message`` is a string or the exception that caused the state; ``result``
    the task's return value (or the exception, for a failure).  ``attempts``
    counts the runs of the task function that led here; ``started`` and
    ``finished`` are wall-clock timestamps of the run; ``logs`` holds the log
    records the run emitted, as plain tuples.
    """

    message: Any = None
    result: Any = None
    _: KW_ONLY
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    task_name: str | None = None
    map_index: int | None = None
    loop_count: int = 0

    def replace(self, **changes: Any) -> "State":
        """Return a copy of this state with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def with_result(self, result: Any) -> "State":
        """A copy with another ``result`` (fast: the runner calls it per mapped child)."""
        cls = type(self)
        if cls.__dataclass_fields__.keys() != _BASE_FIELDS:
            return dataclasses.replace(self, result=result)
        return cls(self.message, result, attempts=self.attempts, started=self.started,
                   finished=self.finished, task_name=self.task_name, map_index=self.map_index,
                   loop_count=self.loop_count)

    @classmethod
    def from_state(cls, old: "State", message: Any = None, result: Any = None, **changes: Any) -> "State":
        """Build a state of this class carrying ``old``'s bookkeeping fields over."""
        keep = {f.name: getattr(old, f.name) for f in dataclasses.fields(State)
                if f.name not in ("message", "result", "_")}
        keep.update(changes)
        return cls(message, result, **keep)

    # -- predicates, Prefect 1 names -------------------------------------
    def is_pending(self) -> bool:
        return isinstance(self, Pending)

    def is_scheduled(self) -> bool:
        return isinstance(self, Scheduled)

    def is_retrying(self) -> bool:
        return isinstance(self, Retrying)

    def is_paused(self) -> bool:
        return isinstance(self, Paused)

    def is_running(self) -> bool:
        return isinstance(self, Running)

    def is_finished(self) -> bool:
        return isinstance(self, Finished)

    def is_successful(self) -> bool:
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        return isinstance(self, Failed)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_cached(self) -> bool:
        return isinstance(self, Cached)

    def is_looped(self) -> bool:
        return isinstance(self, Looped)

    def is_cancelled(self) -> bool:
        return isinstance(self, Cancelled)

    def is_meta_state(self) -> bool:
        return False

    def __repr__(self) -> str:
        msg = f'("{self.message}")' if self.message is not None else "()"
        return f"<{type(self).__name__}{msg}>"


_BASE_FIELDS = State.__dataclass_fields__.keys()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Pending(State):
    """Not yet run."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Scheduled(Pending):
    """Waiting for ``start_time`` (a timestamp) before running."""

    start_time: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Retrying(Scheduled):
    """Failed, and will run again at ``start_time``."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Paused(Scheduled):
    """Waiting for someone to resume it (``manual_only`` trigger)."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Running(State):
    """The task function is running."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Finished(State):
    """Done, one way or another."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Success(Finished):
    """Finished without error; ``result`` is the return value."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Cached(Success):
    """A result kept for reuse (``cache_for``), or read back instead of running.

    ``hashed_inputs`` holds each input's ``dask.base.tokenize`` token,
    ``cached_parameters`` the run's parameters and ``cached_result_expiration``
    a UTC datetime after which validators treat the entry as stale.
    """

    hashed_inputs: dict | None = field(default=None, kw_only=True)
    cached_parameters: dict | None = field(default=None, kw_only=True)
    cached_result_expiration: Any = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Mapped(Success):
    """The parent of a mapped task; ``map_states`` holds one State per child, in order."""

    map_states: Sequence[State] = field(default=(), kw_only=True)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Skipped(Success):
    """Not run: a SKIP signal, an upstream skip, or a ``case`` branch not taken."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Failed(Finished):
    """Finished with an error; ``result`` is the exception."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TimedOut(Failed):
    """The task ran longer than its ``timeout``."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TriggerFailed(Failed):
    """Not run because its trigger did not pass."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Crashed(Failed):
    """The process or worker running the task died."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Looped(Finished):
    """One iteration of a looping task finished (``signals.LOOP``)."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Cancelled(Finished):
    """Stopped before it finished (Ctrl-C, or the run was cancelled)."""
