"""Signals: exceptions a task raises to end in a chosen state.

Raised inside a task, a signal ends the task run in the matching state; the
task runner checks for signals before it treats an exception as a failure, so
a signal never turns into a plain ``Failed``.  As in Prefect 1 they subclass
``BaseException``, not ``Exception``: an ``except Exception`` in task code does not
catch them, so a signal raised under one still ends the task in its state.  Unless
``result=`` is given, the state's result is the signal itself.

>>> FAIL("too big").state
<Failed: "too big">
>>> SUCCESS("fine", result=5).result
5
"""

from __future__ import annotations

from typing import Any

from . import states

__all__ = [
    "PrefectSignal", "PrefectStateSignal", "FAIL", "TRIGGERFAIL", "VALIDATIONFAIL", "SUCCESS",
    "SKIP", "RETRY", "LOOP", "PAUSE", "ENDRUN", "TaskTimeoutSignal", "signal_from_state",
]

_SELF = object()


class PrefectSignal(BaseException):
    """Base of every signal (Prefect 1's name).  A ``BaseException`` as in Prefect 1, so
    ``except Exception`` in a task lets it through to the engine; catch one with
    ``except signals.PrefectSignal`` (and re-raise it) if you must."""


class TaskTimeoutSignal(PrefectSignal):
    """The result of a ``TimedOut`` state: the task ran longer than its ``timeout``
    (Prefect 1's ``prefect.exceptions.TaskTimeoutSignal``).  Not a ``TimeoutError``, as in
    Prefect 1: ``retry_on=TimeoutError`` does not retry a timed-out task,
    ``retry_on=TaskTimeoutSignal`` does.  A task that raises it ends ``TimedOut``."""


class PrefectStateSignal(PrefectSignal):
    """Base of the signals; ``state`` is the state the task ends in, as in Prefect 1.

    Keyword arguments besides ``result`` go to that state (``RETRY(start_time=...)``).

    >>> sig = SKIP("not today")
    >>> sig.state, sig.state.result is sig
    (<Skipped: "not today">, True)
    """

    state_class: type[states.State] = states.State

    def __init__(self, message: Any = None, *args: Any, result: Any = _SELF,
                 **state_fields: Any) -> None:
        super().__init__(message, *args)
        self.message = message
        self.result = self if result is _SELF else result
        if "start_time" in state_fields:   # checked here, where the program raised it
            state_fields["start_time"] = states.as_utc(state_fields["start_time"],
                                                       type(self).__name__)
        self.state = self.state_class(message, self.result, **state_fields)


class FAIL(PrefectStateSignal):
    """End the task ``Failed``."""

    state_class = states.Failed


class TRIGGERFAIL(FAIL):
    """Raised by a trigger that does not pass: the task ends ``TriggerFailed``."""

    state_class = states.TriggerFailed


class VALIDATIONFAIL(FAIL):
    """The task's result is not valid: the task ends ``ValidationFailed``."""

    state_class = states.ValidationFailed


class SUCCESS(PrefectStateSignal):
    """End the task ``Success`` (with ``result=`` if given)."""

    state_class = states.Success


class SKIP(PrefectStateSignal):
    """End the task ``Skipped``; downstream tasks skip too unless they opt out."""

    state_class = states.Skipped


class RETRY(PrefectStateSignal):
    """Run the task again, whatever its ``max_retries`` (as in Prefect 1).

    ``start_time``: when (a datetime, naive meaning UTC, or a timestamp); the task
    waits for it on the run's clock (``flow.run(clock=...)``).  ``run_count=n``: the
    attempts to count as made, so the next one is ``n + 1`` (``context.task_run_count``);
    by default the attempts really made.
    """

    state_class = states.Retrying

    def __init__(self, message: Any = None, *args: Any, result: Any = _SELF,
                 start_time: Any = None, run_count: int | None = None,
                 **state_fields: Any) -> None:
        if run_count is not None and (not isinstance(run_count, int) or run_count < 0):
            raise TypeError(f"RETRY(run_count={run_count!r}): give the number of attempts to "
                            "count as made, an int >= 0 (0 starts the count again).")
        if run_count is not None:
            state_fields["attempts"] = run_count
        super().__init__(message, *args, result=result, start_time=start_time, **state_fields)
        self.run_count = run_count


class LOOP(PrefectStateSignal):
    """Run the task again; the next run reads ``context.task_loop_result``: ``result=``, or
    without it the signal's repr, as in Prefect 1.

    >>> LOOP("again").state.result
    "LOOP('again')"
    """

    state_class = states.Looped

    def __init__(self, message: Any = None, *args: Any, result: Any = _SELF,
                 **state_fields: Any) -> None:
        if result is _SELF:   # a string: loop results are kept, so Prefect 1 made it one
            result = repr(self)
        super().__init__(message, *args, result=result, **state_fields)


class PAUSE(PrefectStateSignal):
    """End the task ``Paused``."""

    state_class = states.Paused


class ENDRUN(PrefectStateSignal):
    """End the task in exactly ``state``."""

    def __init__(self, state: states.State | None = None) -> None:
        super().__init__(getattr(state, "message", None))
        self.state = state if state is not None else states.Success()


def signal_from_state(state: states.State) -> type[PrefectStateSignal]:
    """The signal class that ends a task in ``state``'s class.

    >>> signal_from_state(states.Skipped()).__name__
    'SKIP'
    """
    found = [sig for sig in _all_signals() if sig.state_class is type(state)]
    if not found:
        raise ValueError(f"No signal ends a task in state {type(state).__name__}.")
    return found[0]


def _all_signals() -> list[type[PrefectStateSignal]]:
    out, todo = [], [PrefectStateSignal]
    while todo:
        sig = todo.pop(0)
        out.append(sig)
        todo.extend(sig.__subclasses__())
    return out
