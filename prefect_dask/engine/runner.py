"""``run_task``: the state-tracking wrapper around every task run and mapped child.

It runs inside a Dask task on whatever worker Dask picks, takes the upstream
States, and returns the final State; it never raises for anything the task or
its handlers do.  The pipeline reads like the spec::

    upstream skipped? -> (mapped parent: can it map?) -> trigger -> run
    -> (failed? retry after delay) -> (looped? run again) -> final state

Every transition goes through the task's state handlers.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import datetime
import logging
import os
import random
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import signals
from dask.base import tokenize

from ..cache_validators import all_inputs, duration_only, hash_inputs
from ..store.caching import CacheStore, cache_key
from ..context import context, enter_task_context, exit_task_context
from ..utilities.logging import (capture_logs, capture_stdout, get_logger, keep_traceback,
                                 task_event, task_logger)
from ..results import CorruptResultError, LocalResult, ResultWriteError
from ..states import (Cached, Failed, Looped, Mapped, MapStates, Pending, Resume, Retrying,
                      Running, Skipped, State, Success, TimedOut, TriggerFailed, frozen,
                      through_handlers)
from ..store.targets import default_location, location_template, render
from ..task import Constant, flattens, is_sequence

__all__ = ["TASK_RUN_ONLY", "Clock", "SystemClock", "RunInfo", "Input", "TaskPlan", "run_task",
           "run_parent", "parent_before", "pick"]

logger = logging.getLogger("prefect_dask.runner")

UPSTREAM_SKIPPED = ("Upstream task was skipped; if this was not the intended behavior, "
                    "consider changing `skip_on_upstream_skip=False` for this task.")


class Clock(Protocol):
    """Where the runner gets time and sleeps (tests inject one that does not sleep)."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What every task run of one flow run shares: names, parameters, clock, context."""

    flow_name: str
    flow_run_id: str
    parameters: Mapping[str, Any]
    clock: Clock = field(default_factory=SystemClock)
    base_context: Mapping[str, Any] = field(default_factory=dict)
    started: float = 0.0            # when the flow run started (a timestamp)
    cache: CacheStore | None = None   # the task cache (a fresh one where it is unpickled)
    limits: Mapping[str, Any] = field(default_factory=dict)   # tag -> shared semaphore
    flow_result: Any = None         # the flow's Result (checkpoint store) if it set one
    log_level: int = 20             # task log records below this level are dropped
    hard_timeouts: bool = False     # run timed tasks in a forked child that can be killed
    secret_params: frozenset = frozenset()   # names of secret Parameters (never stored raw)


@dataclass(frozen=True, slots=True)
class Input:
    """One upstream edge of a task, as the runner needs it."""

    edge: Any          # the flow's Edge (key of the trigger's dict)
    key: str | None    # argument name, or None for an ordering-only edge
    mapped: bool
    flattened: bool

    def __reduce__(self) -> tuple:
        """Pickled (for a worker), an edge from a Constant carries a copy of it without
        its value: the value travels as the Constant's State (each batch only its part)."""
        edge, up = self.edge, self.edge.upstream_task
        if isinstance(up, Constant):
            edge = dataclasses.replace(edge, upstream_task=up.without_value())
        return (Input, (edge, self.key, self.mapped, self.flattened))


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """Everything static about one task of a flow run; shared by all its children.

    ``given`` holds final states of children that need not run again (resume).
    """

    task: Any
    slug: str
    inputs: tuple[Input, ...]
    constants: Mapping[str, Any]
    is_mapped: bool
    given: Mapping[int, State] = field(default_factory=dict)
    constant_states: Mapping[Any, State] = field(default_factory=dict)  # Edge -> Success
    resume: bool = False     # given a Resume state: context.resume is set, manual_only passes


def pick(state: State, path: tuple[int, ...]) -> State:
    """The view of ``state`` a mapped child sees: its result indexed by ``path``.

    An upstream that did not succeed has nothing to index: the child sees its state
    with no result (and its trigger decides, as in Prefect 1)."""
    if not path:
        return state
    if not state.is_successful() or state.is_skipped():
        return state.with_result(None)
    result = state.result
    for i in path:
        result = result[i]
    return state.with_result(result)


#: Context keys one task run sets for itself; a run context never passes them on (a
#: subflow started inside a looping or resumed task does not loop or resume).
TASK_RUN_ONLY = frozenset({"resume", "task_loop_count", "task_loop_result"})


class _Run:
    """One task run in progress: knows its task and calls handlers on each transition."""

    __slots__ = ("plan", "info", "map_index", "upstream", "crashes", "worker", "name", "hooked",
                 "ended", "_inputs", "_values")

    def __init__(self, plan: TaskPlan, info: RunInfo, map_index: int | None,
                 upstream: tuple[State, ...], crashes: int = 0, worker: str | None = None) -> None:
        self.plan, self.info, self.map_index, self.upstream = plan, info, map_index, upstream
        self.crashes = crashes   # attempts already lost to dead workers
        self.worker = worker     # where it runs (see worker_id), if the caller knows
        self.name = plan.task.name if map_index is None else f"{plan.task.name}[{map_index}]"
        self.hooked = bool(plan.task.state_handlers)
        self.ended = False   # a handler raised: the run ends in the Failed it made
        self._inputs: dict[str, Any] | None = None
        self._values: dict[str, Any] | None = None   # the last context_values(n, 1, None)

    def set_state(self, old: State, new: State) -> State:
        """Stamp ``new`` with this run and pass the transition through the task's handlers.

        Handlers run in the task's context (``context.map_index`` etc.).  A handler
        may return a replacement state; one that raises a signal gives the signal's
        state; one that raises anything else fails the task and ends its run there (no
        retry, no further handler call: Prefect 1's ENDRUN).
        """
        new = self.stamp(old, new)
        if not self.hooked:
            return new
        task = self.plan.task
        token = enter_task_context(self.context_values(max(1, old.attempts, new.attempts), 1,
                                                       None))
        try:
            new = through_handlers(task.state_handlers, task, old, new)
        except signals.PrefectStateSignal as sig:
            new = frozen(sig.state)
        except (Exception, signals.PrefectSignal) as exc:  # signals are BaseExceptions
            new = Failed(f"Unexpected error while calling state handlers: {exc!r} (task "
                         f"{self.name!r})", result=exc)
            self.ended = True
        finally:
            exit_task_context(token)
        return self.stamp(old, new)

    def stamp(self, old: State, new: State) -> State:
        """``new`` naming this task run, with at least ``old``'s attempt count."""
        if new.task_name is None or new.map_index != self.map_index or new.attempts < old.attempts:
            new = new.replace(task_name=self.plan.task.name, map_index=self.map_index,
                              attempts=max(new.attempts, old.attempts))
        return new

    def upstream_states(self) -> list[State]:
        """Upstream states, a mapped parent on an unmapped edge counting as its children."""
        out: list[State] = []
        for inp, state in zip(self.plan.inputs, self.upstream):
            if isinstance(state, Mapped) and not inp.mapped:
                out.extend(state.map_states)
            else:
                out.append(state)
        return out

    def context_values(self, attempt: int, loop_count: int, loop_result: Any) -> dict[str, Any]:
        """The task context (read-only: callers copy it to add values)."""
        if loop_count == 1 and self._values is not None \
                and self._values["task_run_count"] == attempt:
            return self._values   # checks, handlers and the first call share one
        task = self.plan.task
        info = self.info
        values = {
            "flow_run_name": info.flow_run_id,   # flow.run(flow_run_name=...) replaces it
            **info.base_context,
            "flow_name": info.flow_name, "flow_id": info.flow_name,
            "flow_run_id": info.flow_run_id,
            "parameters": info.parameters, "task_name": task.name,
            "task_full_name": self.name, "task_slug": self.plan.slug, "task_id": self.plan.slug,
            "task_run_id": f"{info.flow_run_id}/{self.name}", "task_tags": task.tags,
            "map_index": self.map_index, "task_run_count": attempt, "clock": info.clock,
            "logger": task_logger(info.flow_name, task.name),
        }
        if self.plan.resume:
            values["resume"] = True
        if loop_count > 1:
            values["task_loop_count"] = loop_count
            values["task_loop_result"] = loop_result
        else:
            self._values = values
        return values

    def fields(self) -> dict[str, Any]:
        """What ``target`` and ``task_run_name`` templates may use."""
        return {**self.context_values(1, 1, None), **self.info.parameters, **self.inputs()}

    def inputs(self) -> dict[str, Any]:
        """The task function's keyword arguments (worked out once per task run)."""
        if self._inputs is None:
            kwargs = dict(self.plan.constants)
            for inp, state in zip(self.plan.inputs, self.upstream):
                if inp.key is not None:
                    flat = inp.flattened and not inp.mapped and state.is_successful()
                    kwargs[inp.key] = flattened_value(state) if flat else state.result
            self._inputs = kwargs
        return self._inputs


# -- the pipeline steps: each takes the run and a state, returns a state ----------

def check_upstream_finished(run: _Run, state: State) -> State:
    """Wait (stay Pending) while an upstream task is not finished, e.g. Paused."""
    if all(s.is_finished() for s in run.upstream_states()):
        return state
    return state.replace(message="Not all upstream states are finished; this task did not run.")


def check_upstream_skipped(run: _Run, state: State) -> State:
    if run.plan.task.skip_on_upstream_skip and any(
            s.is_skipped() for s in run.upstream_states()):
        return run.set_state(state, Skipped(UPSTREAM_SKIPPED))
    return state


def check_can_map(run: _Run, state: State) -> State:
    """Mapped parent only: fail unless some mapped upstream succeeded with a mappable result."""
    mapped = [(inp, s) for inp, s in zip(run.plan.inputs, run.upstream) if inp.mapped]
    if run.upstream and not any(s.is_successful() for _, s in mapped):
        return run.set_state(state, Failed("No upstream states can be mapped over."))
    for inp, s in mapped:
        problem = _unmappable(s)
        if problem:
            source = f"{inp.edge.upstream_task.name!r}" + (f" (argument {inp.key!r})" if inp.key
                                                           else " (an upstream_tasks entry)")
            return run.set_state(state, Failed(
                f"Task {run.name!r} cannot map over the result of {source}: {problem}. Map "
                "over a list or tuple, or wrap the value in unmapped(...) to pass it whole "
                "to every child."))  # no result, as in Prefect 1
    return state


def _unmappable(state: State) -> str | None:
    """Why a successful upstream state cannot be mapped over, or None if it can (a flattened
    one too: what does not flatten is passed on as it is, as in Prefect 1)."""
    if not state.is_successful() or isinstance(state, Mapped) or is_sequence(state.result):
        return None
    return f"a {type(state.result).__name__} is not a sequence"


def flattened_value(state: State) -> Any:
    """What ``flatten(...)`` passes to a non-mapped task: a mapped task's children's results
    unnested (a child whose result is not a sequence counts as one item); a list of lists
    as one list; anything else as it is (Prefect 1's rules)."""
    if isinstance(state, Mapped):
        return [x for c in state.map_states
                for x in (c.result if is_sequence(c.result) else [c.result])]
    if flattens(state.result):
        return [x for part in state.result for x in part]
    return state.result


def _result_store(run: _Run) -> Any:
    return run.plan.task.result or run.info.flow_result or LocalResult()


def _checkpointing(run: _Run) -> bool:
    task = run.plan.task
    if getattr(task, "secret", False):  # a secret Parameter's value is never written
        return False
    if run.info.base_context.get("checkpointing") is False:  # Prefect 1's switch, turned off
        return False
    if task.checkpoint is not None:
        return bool(task.checkpoint)
    return task.result is not None or task.target is not None or run.info.flow_result is not None


def _location(run: _Run) -> str:
    template = location_template(run.plan.task, run.info.flow_result)
    if template:
        return render(template, run.fields())
    return default_location(run.info.flow_name, run.plan.slug, run.map_index,
                            run.info.flow_run_id)


def check_target(run: _Run, state: State) -> State:
    """A task with a ``target`` whose result already exists ends Cached with it."""
    if not run.plan.task.target:
        return state
    store = _result_store(run)
    try:
        location = _location(run)
        if not store.exists(location):
            return state
        value = store.get(location)
    except CorruptResultError as exc:
        logger.warning("Task %r: not using its target: %s The task runs again.", run.name, exc)
        return state
    except (Exception, signals.PrefectSignal) as exc:
        return run.set_state(state, Failed(
            f"Task {run.name!r}: cannot read its target ({exc!r}).", result=exc))
    return run.set_state(state, Cached("Result found at task target.", value,
                                       location=store.where(location) or None))


def checkpoint(run: _Run, state: State) -> tuple[State, bool]:
    """Write the successful result an attempt returned to the task's Result store
    (``checkpoint`` / ``target``) before the run announces it, as Prefect 1 does: a write
    that fails turns Running into Failed (no Success in between, no retry), with the
    serializer's or the file system's error as the result.  Returns the state to announce
    and whether the write failed.  A None result is never written (Prefect 1): a task
    returning None with a ``target`` runs again next time."""
    if state.result is None or not _checkpointing(run):
        return state, False
    try:
        where = _result_store(run).put(state.result, _location(run))
    except (Exception, signals.PrefectSignal) as exc:
        cause = exc.__cause__ if isinstance(exc, ResultWriteError) and exc.__cause__ else exc
        return Failed(f"Task {run.name!r}: its result could not be checkpointed: {exc}",
                      result=cause), True
    return state.replace(location=where or None), False


def _cache_key(run: _Run) -> str:
    return cache_key(run.plan.task, run.info.flow_name)


def _now(run: _Run) -> datetime.datetime:
    """The time by the run's clock, as cache expiry dates are kept."""
    return datetime.datetime.fromtimestamp(run.info.clock.now(), datetime.timezone.utc)


def _cache_parameters(run: _Run) -> dict[str, Any]:
    """The parameters as cache entries keep them: a secret one only as its token."""
    secret = run.info.secret_params
    return {k: tokenize(v) if k in secret else v for k, v in run.info.parameters.items()}


def check_cache(run: _Run, state: State) -> State:
    """A task with ``cache_for``: end Cached with the first valid entry from an earlier run
    (a task with a ``target`` reads its target instead, as in Prefect 1)."""
    task = run.plan.task
    if task.target:
        return check_target(run, state)
    if task.cache_for is None or run.info.cache is None:
        return state
    validator = task.cache_validator or duration_only
    inputs = run.inputs()
    entries, by_inputs = run.info.cache.candidates(_cache_key(run), before=run.info.started,
                                                   now=_now(run))
    if validator is all_inputs:  # the common case, found by its inputs at once
        entries = [e for e in (by_inputs.get(tokenize(hash_inputs(inputs))),) if e is not None]
    parameters = _cache_parameters(run)
    try:
        with context(clock=run.info.clock):   # validators read the run's clock
            hit = next((e for e in entries if _user_call(run, "cache_validator", validator, e,
                                                         inputs, parameters)), None)
    except _CallbackEnded as ended:
        return run.set_state(state, ended.state)
    if hit is None:
        return state
    return run.set_state(state, hit.replace(task_name=task.name, map_index=run.map_index,
                                            attempts=0))


def cache_result(run: _Run, state: State) -> State:
    """A successful task with ``cache_for``: end Cached, and store the entry for later runs."""
    task = run.plan.task
    if task.cache_for is None or run.info.cache is None or not state.is_successful() \
            or state.is_skipped() or state.is_cached():
        return state
    expires = _now(run) + task.cache_for
    cached = Cached.from_state(state, state.message, state.result,
                               hashed_inputs=hash_inputs(run.inputs()),
                               cached_parameters=_cache_parameters(run),
                               cached_result_expiration=expires)
    new = run.set_state(state, cached)
    if new.is_cached():
        run.info.cache.put(_cache_key(run), new, run.info.started)
    return new


def check_trigger(run: _Run, state: State) -> State:
    task = run.plan.task
    upstream = {inp.edge: s for inp, s in zip(run.plan.inputs, run.upstream)}
    upstream.update(run.plan.constant_states)  # constants count as successful upstreams
    try:
        if run.plan.resume:
            with context(resume=True):
                ok = task.trigger(upstream)
        else:
            ok = task.trigger(upstream)
    except signals.PrefectStateSignal as sig:
        return run.set_state(state, sig.state)
    except (Exception, signals.PrefectSignal) as exc:
        return run.set_state(state, TriggerFailed(
            f"Unexpected error while checking task trigger: {exc!r} (task {run.name!r}, trigger "
            f"{getattr(task.trigger, '__name__', task.trigger)!r})", result=exc))
    if not ok:
        sig = signals.TRIGGERFAIL("Trigger failed")
        return run.set_state(state, sig.state)
    return state


class _CallbackEnded(Exception):
    """A user callback the engine called raised: ``state`` is the run's state after it."""

    def __init__(self, state: State) -> None:
        super().__init__(state.message)
        self.state = state


def _user_call(run: _Run, what: str, fn: Callable[..., Any], *args: Any,
               name: Any = None) -> Any:
    """``fn(*args)``, the task's user callback ``what`` (``name``: the user's object, if
    ``fn`` only applies it); what it raises becomes a final state, raised as
    ``_CallbackEnded`` for the pipeline step that called it to end the run in: a signal
    of a final state (FAIL, SKIP, SUCCESS...) its state; anything else (RETRY, PAUSE,
    LOOP, an error) Failed naming the task and the callback."""
    try:
        return fn(*args)
    except (Exception, signals.PrefectSignal) as exc:  # signals are BaseExceptions
        if isinstance(exc, signals.PrefectStateSignal) and exc.state.is_finished() \
                and not isinstance(exc.state, Looped):
            raise _CallbackEnded(exc.state) from None
        raise _CallbackEnded(Failed(
            f"Task {run.name!r}: its {what} {getattr(name or fn, '__name__', name)!r} raised "
            f"{exc!r}; fix the {what} (it must not raise).", result=exc)) from None


def _retry_delay(run: _Run, task: Any, attempt: int) -> float:
    delay = _user_call(run, "retry_delay", task.retry_delay, attempt) \
        if callable(task.retry_delay) else task.retry_delay
    delay = delay.total_seconds() if isinstance(delay, datetime.timedelta) else float(delay or 0)
    if task.retry_jitter_factor:
        delay += random.uniform(0, task.retry_jitter_factor * delay)
    return delay


def _should_retry(run: _Run, task: Any, state: State, attempt: int) -> bool:
    if not state.is_failed() or attempt > task.max_retries:
        return False
    if task.retry_on and not isinstance(state.result, tuple(task.retry_on)):
        return False
    return task.retry_condition is None or bool(
        _user_call(run, "retry_condition", task.retry_condition, state))


def run_function(run: _Run, state: State) -> State:
    """Run the task function until it finishes, retrying and looping as the task says.

    A failed attempt is retried while attempts remain (and ``retry_on`` /
    ``retry_condition`` allow it).  ``signals.RETRY`` always retries, as in
    Prefect 1.  ``signals.LOOP`` runs the function again with the loop result in
    the context; each loop iteration starts again from Pending.
    """
    task, clock = run.plan.task, run.info.clock
    kwargs = run.inputs()
    try:
        extra = {"task_run_name": _user_call(run, "task_run_name", render,
                                             task.task_run_name, run.fields(),
                                             name=task.task_run_name)} \
            if task.task_run_name else {}
    except _CallbackEnded as ended:
        return run.set_state(state, ended.state)
    # attempts lost to dead workers count as attempts (see recovery.py)
    attempt, loop_count, loop_result = run.crashes, 1, None
    while True:
        attempt += 1
        started = clock.now()
        state = run.set_state(state, Running("Starting task run.", attempts=attempt,
                                             started=started, task_name=task.name,
                                             map_index=run.map_index))
        if state.is_finished():
            return state
        values = {**run.context_values(attempt, loop_count, loop_result), **extra}
        new, final = _call(run, task, kwargs, values, attempt, started)
        if isinstance(new, Looped):
            new = new.replace(loop_count=loop_count, message=new.message
                              if new.message is not None else f"Task is looping ({loop_count})")
        if not final and new.is_successful() and not new.is_skipped():
            new, final = checkpoint(run, new)
        counted = new.attempts   # what a Retrying state says was made (RETRY(run_count=))
        state = run.set_state(state, new)
        if final or run.ended:  # signals.ENDRUN or a handler raised: no retry, no loop
            return state
        if isinstance(state, Looped):
            loop_count, loop_result, attempt = loop_count + 1, state.result, 0
            state = Pending(f"Looping task (on loop index {loop_count})", task_name=task.name,
                            map_index=run.map_index)
            continue
        if isinstance(state, Retrying):  # signals.RETRY
            attempt = counted
            _finished(run, state)
            start = state.start_time   # None: now
            clock.sleep(max(0.0, start.timestamp() - clock.now()) if start else 0.0)
            _starting(run)
            continue
        try:
            retry = _should_retry(run, task, state, attempt)
            delay = _retry_delay(run, task, attempt) if retry else 0.0
        except _CallbackEnded as ended:
            return run.set_state(state, ended.state)
        if retry:
            state = run.set_state(state, Retrying(
                f"Retrying Task (after attempt {attempt} of {task.max_retries + 1})",
                start_time=clock.now() + delay, attempts=attempt))
            if not isinstance(state, Retrying):   # a handler replaced the retry
                return state
            _finished(run, state)
            clock.sleep(delay)
            _starting(run)
            continue
        return state


# -- the engine's log lines about each task run, worded as Prefect 1's TaskRunner ----
# (INFO for a task, DEBUG for each mapped child; see log.task_event)

def _starting(run: _Run) -> None:
    if isinstance(run.plan.task, Constant):   # a value, not a task of the user's (Prefect 1)
        return
    _event(run, logging.INFO if run.map_index is None else logging.DEBUG,
           "Task '%s': Starting task run...", run.name)


def _finished(run: _Run, state: State) -> None:
    if isinstance(run.plan.task, Constant):
        return
    _event(run, logging.INFO if run.map_index is None else logging.DEBUG,
           "Task '%s': Finished task run for task with final state: '%s'", run.name,
           type(state).__name__)


def _event(run: _Run, level: int, msg: str, *args: Any, exc: BaseException | None = None,
           ) -> None:
    """One of the engine's lines about ``run``, with its flow, task and map index."""
    task_event(level, msg, *args, flow=run.info.flow_name, task=run.plan.task.name,
               map_index=run.map_index, exc=exc)


def _call(run: _Run, task: Any, kwargs: dict, values: dict, attempt: int,
          started: float) -> tuple[State, bool]:
    """Call ``task.run(**kwargs)`` in the task context; turn the outcome into a State.

    The flag is True when the task raised ENDRUN: its state is final.
    """

    limits = [run.info.limits[t] for t in sorted(task.tags) if t in run.info.limits]

    def body() -> Any:
        token = enter_task_context(values)
        held = []
        try:
            for sem in limits:  # in tag order, so two tasks never wait on each other
                sem.acquire()
                held.append(sem)
            if task.log_stdout:
                with capture_stdout(get_logger()):
                    return _awaited(task.run(**kwargs))
            return _awaited(task.run(**kwargs))
        finally:
            for sem in reversed(held):
                sem.release()
            exit_task_context(token)

    stamp = {"attempts": attempt, "started": started, "task_name": task.name,
             "map_index": run.map_index, "worker": run.worker or worker_id()}
    try:
        if not task.timeout:   # None or 0: no timeout, as in Prefect 1
            value = body()   # a Constant's state has no message (Prefect 1 did not run it)
            message = None if isinstance(task, Constant) else "Task run succeeded."
            return Success(message, value, finished=run.info.clock.now(), **stamp), False
        new = _with_timeout(run, body, task.timeout)
    except signals.ENDRUN as sig:
        return sig.state.replace(finished=run.info.clock.now(), **stamp), True
    except signals.PrefectStateSignal as sig:
        new = sig.state
        if isinstance(sig, signals.RETRY) and sig.run_count is not None:
            stamp["attempts"] = sig.run_count   # RETRY(run_count=n): the next attempt is n + 1
    except signals.TaskTimeoutSignal as sig:   # raised by the task: TimedOut, as in Prefect 1
        new = TimedOut("Task timed out during execution.", result=sig)
    except (Exception, signals.PrefectSignal) as exc:   # KeyboardInterrupt, SystemExit go on
        _event(run, logging.ERROR, "Task '%s': Exception encountered during task execution!",
               run.name, exc=exc)
        new = Failed(f"Error during execution of task: {exc!r}", result=exc)
    return new.replace(finished=run.info.clock.now(), **stamp), False


def worker_id() -> str:
    """Where the calling code runs: the Dask worker's address, or process id and thread
    name (a graph node works it out once for all its task runs)."""
    dist = sys.modules.get("distributed")
    if dist is not None:
        try:
            return dist.get_worker().address
        except ValueError:  # not inside a Dask worker
            pass
    return f"pid {os.getpid()} {threading.current_thread().name}"


def _awaited(value: Any) -> Any:
    """The result of an ``async def`` task: run its coroutine to completion here."""
    if not inspect.iscoroutine(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(value)
    return _in_thread(lambda: asyncio.run(value), None, "prefect_dask-async")[1]


def _in_thread(fn: Callable[[], Any], timeout: float | None, name: str) -> tuple[bool, Any]:
    """Run ``fn`` in a daemon thread (with this context); wait up to ``timeout`` seconds.

    Returns ``(True, value)``, or ``(False, None)`` if it was still running; what ``fn``
    raised is raised here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,),
                              name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box["value"]


def _with_timeout(run: _Run, body: Callable[[], Any], timeout: float) -> State:
    """Run ``body`` and stop waiting for it after ``timeout`` seconds: TimedOut.

    On process and cluster executors (``hard_timeouts``) the body runs in a forked
    child process that is killed when the time is up.  Elsewhere Python cannot kill
    a thread: the body runs in a helper thread that is abandoned (a daemon) and its
    result discarded.
    """
    if run.info.hard_timeouts and hasattr(os, "fork"):
        return _in_child(run, body, timeout)
    done, value = _in_thread(body, timeout, f"prefect_dask-timeout-{run.name}")
    return Success("Task run succeeded.", value) if done else _timed_out(run, timeout)


def _timed_out(run: _Run, timeout: float) -> State:
    err = signals.TaskTimeoutSignal(
        f"Task {run.name!r} timed out after {timeout:g} s (timeout={timeout:g}).")
    return TimedOut("Task timed out during execution.", result=err)


def _in_child(run: _Run, body: Callable[[], Any], timeout: float) -> State:
    """``body`` in a forked child process, killed (SIGKILL) after ``timeout`` seconds."""
    import cloudpickle

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, send back ("ok", value) or ("err", exception), exit
        os.close(read_fd)
        try:
            try:
                payload = cloudpickle.dumps(("ok", body()))
            except BaseException as exc:
                payload = cloudpickle.dumps(("err", keep_traceback(exc)))
        except BaseException as exc:
            payload = cloudpickle.dumps(("err", RuntimeError(
                f"the task's result or error could not be pickled back: {exc!r}")))
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(payload)
        os._exit(0)
    os.close(write_fd)
    deadline, chunks = time.monotonic() + timeout, []
    with os.fdopen(read_fd, "rb", buffering=0) as fh:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fh], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return _timed_out(run, timeout)
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    if not chunks:
        raise RuntimeError(f"Task {run.name!r}: its timeout child process died without a result.")
    kind, value = cloudpickle.loads(b"".join(chunks))
    if kind == "err":
        raise value
    return Success("Task run succeeded.", value)


# -- entry points called from graph nodes ---------------------------------------

def run_task(plan: TaskPlan, info: RunInfo, map_index: int | None,
             upstream: tuple[State, ...], crashes: int = 0, worker: str | None = None) -> State:
    """Run one task (or one mapped child) to a final State; never raises.

    ``upstream`` is aligned with ``plan.inputs`` and already sliced for a child;
    ``crashes`` attempts were already lost to dead workers.
    A mapped task called with ``map_index=None`` is a parent that could not map
    (its width could not be known): it ends in the state the parent checks give.
    """
    if plan.is_mapped and map_index is None:
        return run_parent(plan, info, upstream, [])
    if map_index in plan.given:
        return plan.given[map_index]
    run = _Run(plan, info, map_index, upstream, crashes, worker)
    state: State = Pending(task_name=plan.task.name, map_index=map_index)
    with capture_logs(info.log_level) as logs:
        _starting(run)
        # the whole run is in the task's context: triggers and cache validators see it too
        token = enter_task_context(run.context_values(crashes + 1, 1, None))
        try:
            for step in (check_upstream_finished, check_upstream_skipped, check_trigger,
                         check_cache):
                new = step(run, state)
                if new is not state:  # a check that does not pass ends the run in its state
                    state = new
                    if not isinstance(new, Resume):   # unless a handler resumed a paused task
                        break
            else:
                state = cache_result(run, run_function(run, state))
        finally:
            exit_task_context(token)
        _finished(run, state)
    return state.replace(logs=tuple(logs.records)) if logs.records else state


def run_parent(plan: TaskPlan, info: RunInfo, upstream: tuple[State, ...],
               children: Sequence[State], before: State | None = None) -> State:
    """Final state of a mapped parent whose children ran: Mapped, or what its checks say.
    ``before``: its state before its children ran (``parent_before``), if already made."""
    run = _Run(plan, info, None, upstream)
    with capture_logs(info.log_level) as logs:
        _starting(run)
        state = _parent_state(run, children, before)
        _finished(run, state)
    return state.replace(logs=state.logs + tuple(logs.records)) if logs.records else state


def parent_before(plan: TaskPlan, info: RunInfo, upstream: tuple[State, ...]) -> State:
    """A mapped parent's state before its children run, through its handlers: Mapped (no
    children yet) if it maps, else the state its checks or its handlers end it in (then
    Prefect 1 creates no children).  Without handlers it has no side effect."""
    run = _Run(plan, info, None, upstream)
    state: State = Pending(task_name=plan.task.name)
    for step in (check_upstream_finished, check_upstream_skipped, check_can_map):
        new = step(run, state)
        if new is not state:
            return new
    return run.set_state(state, Mapped("Ready to proceed with mapping."))


def _parent_state(run: _Run, children: Sequence[State], before: State | None) -> State:
    state = parent_before(run.plan, run.info, run.upstream) if before is None else before
    if not isinstance(state, Mapped):
        return state
    # a parent's result is its children's results, whatever a handler set (as in Prefect 1)
    return state.replace(map_states=children, result=list(children.results)
                         if isinstance(children, MapStates) else [c.result for c in children])
