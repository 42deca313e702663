"""Signals: exceptions a task raises to end in a chosen state.

Raised inside a task, a signal ends the task run in the matching state; the
task runner checks for signals before it treats an exception as a failure, so
a signal never turns into a plain ``Failed``.  As in Prefect 1 they subclass
``Exception`` and, unless ``result=`` is given, the state's result is the
signal itself.

>>> FAIL("too big").state_class.__name__
'Failed'
>>> SUCCESS("fine", result=5).result
5
"""

from __future__ import annotations

from typing import Any

from . import states

__all__ = [
    "PrefectStateSignal", "FAIL", "TRIGGERFAIL", "SUCCESS", "SKIP", "RETRY", "LOOP",
    "PAUSE", "ENDRUN",
]

_SELF = object()


class PrefectStateSignal(Exception):
    """Base of the signals; ``state()`` is the state the task ends in."""

    state_class: type[states.State] = states.State

    def __init__(self, message: Any = None, *args: Any, result: Any = _SELF) -> None:
        super().__init__(message, *args)
        self.message = message
        self.result = self if result is _SELF else result

    def state(self) -> states.State:
        """The state this signal stands for (no bookkeeping fields filled in)."""
        return self.state_class(self.message, self.result)


class FAIL(PrefectStateSignal):
    """End the task ``Failed``."""

    state_class = states.Failed


class TRIGGERFAIL(FAIL):
    """Raised by a trigger that does not pass: the task ends ``TriggerFailed``."""

    state_class = states.TriggerFailed


class SUCCESS(PrefectStateSignal):
    """End the task ``Success`` (with ``result=`` if given)."""

    state_class = states.Success


class SKIP(PrefectStateSignal):
    """End the task ``Skipped``; downstream tasks skip too unless they opt out."""

    state_class = states.Skipped


class RETRY(PrefectStateSignal):
    """Fail this attempt and retry it (counts against ``max_retries``)."""

    state_class = states.Retrying


class LOOP(PrefectStateSignal):
    """Run the task again; the next run reads ``context.task_loop_result``."""

    state_class = states.Looped


class PAUSE(PrefectStateSignal):
    """End the task ``Paused``."""

    state_class = states.Paused


class ENDRUN(PrefectStateSignal):
    """End the task in exactly ``state``."""

    def __init__(self, state: states.State | None = None) -> None:
        super().__init__(getattr(state, "message", None))
        self._state = state if state is not None else states.Success()

    def state(self) -> states.State:
        return self._state
