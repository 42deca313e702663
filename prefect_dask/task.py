"""Task, ``@task``, Parameter and the small auxiliary tasks a flow builds for you.

A Task is a description of work plus its options (retries, trigger, timeout,
handlers...).  Calling a task inside ``with Flow(...)`` copies it and binds the
copy to its inputs in that flow; ``task.run(...)`` calls the function directly.

>>> @task
... def inc(x):
...     return x + 1
>>> inc.run(1)
2
"""

from __future__ import annotations

import contextlib
import copy as _copy
import dis
import functools
import inspect
import keyword
import operator
import sys
import typing
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import cache_validators as _validators
from . import triggers as _triggers
from .context import context, current_flow, open_blocks
from .errors import (ApplyMapError, FlowValidationError, NoFlowContextError, ParameterError,
                     TaskBindError, TaskDefinitionError, TaskOptionError, TaskOptionTypeError,
                     UnpackError)
from .utilities.dates import DateTime
from .utilities.tasks import defaults_from_attrs

__all__ = [
    "Task", "FunctionTask", "task", "Parameter", "DateTimeParameter", "Constant", "GetItem",
    "Operator",
    "VarArgsTask", "List", "Tuple", "Set", "Dict",
    "unmapped", "mapped", "flatten", "tags", "as_task", "exponential_backoff", "as_seconds",
    "NO_DEFAULT", "is_sequence", "flattens", "Edge",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()


def as_seconds(value: float | timedelta | None, what: str, owner: str) -> float | None:
    """Convert a duration given as seconds or a timedelta to float seconds."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TaskDefinitionError(
        f"{owner}: {what}={value!r} is not a duration; pass seconds (a number) or a "
        f"datetime.timedelta, e.g. {what}=timedelta(seconds=10)."
    )


def exponential_backoff(base: float | timedelta = 1.0, factor: float = 2.0,
                        max_delay: float | timedelta | None = None) -> Callable[[int], float]:
    """A ``retry_delay`` that waits ``base * factor**(attempt - 1)`` seconds, capped at ``max_delay``.

    >>> delay = exponential_backoff(1, max_delay=5)
    >>> [delay(n) for n in (1, 2, 3, 4)]
    [1.0, 2.0, 4.0, 5.0]
    """
    base_s = as_seconds(base, "base", "exponential_backoff")
    cap = as_seconds(max_delay, "max_delay", "exponential_backoff")

    def delay(attempt: int) -> float:
        seconds = base_s * factor ** (attempt - 1)
        return seconds if cap is None else min(seconds, cap)

    return delay


def is_sequence(value: Any) -> bool:
    """Whether ``task.map`` can map over ``value``: indexable and sized, and not a dict.

    >>> is_sequence([1]), is_sequence("ab"), is_sequence({1: 2}), is_sequence({1}), is_sequence(5)
    (True, True, False, False, False)
    """
    return not isinstance(value, dict) and hasattr(value, "__getitem__") \
        and hasattr(value, "__len__")


def flattens(value: Any) -> bool:
    """Whether ``flatten(value)`` unnests ``value``: a sequence of sequences.  Anything
    else is passed on as it is, as in Prefect 1 (``flatten([1, 2])`` maps over 1 and 2).

    >>> flattens([[1], [2, 3]]), flattens([1, [2]]), flattens(["ab"]), flattens(5)
    (True, False, True, False)
    """
    return is_sequence(value) and all(is_sequence(v) for v in value)


def checked_handlers(owner: str, kind: str, handlers: Iterable[Callable] | None,
                     on_failure: Callable | None) -> list[Callable]:
    """``handlers`` as a list, after checking it and ``on_failure`` are callables."""
    out = list(handlers or ())
    for h in out + ([on_failure] if on_failure is not None else []):
        if not callable(h):
            raise TaskDefinitionError(
                f"{owner}: state handler {h!r} is not callable; a {kind} state handler is "
                f"fn({kind}, old_state, new_state) returning a state or None, and on_failure "
                f"is fn({kind}, state)."
            )
    if on_failure is not None and OnFailure(on_failure) not in out:
        out.append(OnFailure(on_failure))  # Prefect 1 lists it among the state handlers
    return out


class OnFailure:
    """The state handler ``on_failure=fn`` adds: calls ``fn(obj, state)`` when ``state``
    is a failure."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, obj: Any, old: Any, new: Any) -> Any:
        if new.is_failed():
            self.fn(obj, new)
        return new

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OnFailure) and other.fn is self.fn

    def __hash__(self) -> int:
        return hash(self.fn)

    def __repr__(self) -> str:
        return f"<on_failure {getattr(self.fn, '__name__', self.fn)}>"


def _context_tags() -> set[str]:
    """The tags of the enclosing ``with tags(...)`` blocks."""
    return set(context.get("tags") or ())


@contextlib.contextmanager
def tags(*tags: str) -> Iterator[None]:
    """Tasks created or called inside this block get these tags (nested blocks add theirs).

    >>> with tags("db", "nightly"):
    ...     t = Task(name="load")
    >>> sorted(t.tags)
    ['db', 'nightly']
    """
    bad = [t for t in tags if not isinstance(t, str)]
    if bad:
        raise TaskDefinitionError(
            f"tags() takes tag strings, got {bad[0]!r}; write tags('a', 'b'), or "
            "tags(*names) for a list of names.")
    with context(tags=_context_tags() | set(tags)):
        yield


class unmapped:
    """Mark a ``task.map`` argument as the same for every child.

    >>> unmapped([1, 2]).value
    [1, 2]
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class mapped:
    """Mark an argument of a task call to be mapped over (Prefect 1's edge annotation):
    ``add(mapped(xs), 1)`` runs ``add`` once per element of ``xs``, like
    ``add.map(xs, unmapped(1))``.

    >>> mapped([1, 2]).value
    [1, 2]
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class flatten:
    """Mark a ``task.map`` argument (a list of lists) to be mapped over as one flat list."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _tuple_arity(fn: Callable) -> int | None:
    """Number of items of a ``Tuple[a, b]`` return annotation, else None."""
    try:
        ret = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations: no nout inferred
        return None
    if typing.get_origin(ret) is tuple:
        args = typing.get_args(ret)
        if args and args[-1] is not Ellipsis:
            return len(args)
    return None


class Task:
    """A unit of work in a flow (Prefect 1's ``Task``); subclass it and define ``run``.

    Options are Prefect 1's, plus ``retry_jitter_factor`` (spread retries by up
    to that fraction of the delay), ``retry_condition`` (``fn(state) -> bool``,
    retry only when it returns True), ``map_batch_size`` (children per Dask task
    when mapped), ``resources`` (Dask worker resources) and ``cache_source``
    (cached results are only reused while the task's source code is unchanged).
    """

    #: True for helper tasks (a resource's init and cleanup) that do not decide the flow's
    #: state: default reference tasks leave them out.
    bookkeeping = False
    #: True for tasks (a resource's cleanup) that leave their upstream tasks terminal for
    #: the default reference tasks (Prefect 1 makes this exception for cleanup only).
    hides_upstream = False
    #: True for tasks that run again when a restart (``flow.run(task_states=...)``) gives
    #: them a finished, not Cached, state: a resource's setup and cleanup (Prefect 1).
    rerun_on_restart = False

    def __init__(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        max_retries: int = 0,
        retry_delay: float | timedelta | Callable[[int], float] | None = None,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        timeout: float | timedelta | None = None,
        trigger: Callable[[dict], bool] | None = None,
        skip_on_upstream_skip: bool = True,
        cache_for: timedelta | None = None,
        cache_validator: Callable | None = None,
        cache_key: str | None = None,
        checkpoint: bool | None = None,
        state_handlers: Iterable[Callable] | None = None,
        on_failure: Callable | None = None,
        log_stdout: bool = False,
        result: Any = None,
        target: str | Callable | None = None,
        task_run_name: str | Callable | None = None,
        nout: int | None = None,
        retry_jitter_factor: float = 0.0,
        retry_condition: Callable | None = None,
        map_batch_size: int | None = None,
        resources: dict[str, float] | None = None,
        cache_source: bool = False,
    ) -> None:
        self.name = name or getattr(self, "name", None) or type(self).__name__
        owner = f"Task {self.name!r}"
        self.slug = slug
        self.auto_slug = False   # True once a flow made up the slug (see Flow.add_task)
        if isinstance(tags, str):   # it would be read as one tag per character
            raise TaskOptionTypeError(
                f"{owner}: tags={tags!r} is a string; pass a collection of tags, e.g. "
                f"tags=[{tags!r}].")
        self.tags = set(tags or ()) | _context_tags()
        if not isinstance(max_retries, int) or max_retries < 0:
            raise TaskDefinitionError(f"{owner}: max_retries={max_retries!r} must be an int >= 0.")
        self.max_retries = max_retries
        if retry_delay is not None and not max_retries:
            raise TaskDefinitionError(
                f"{owner}: retry_delay={retry_delay!r} has no effect without retries; also "
                "pass max_retries=N (N >= 1), or drop retry_delay.")
        if callable(retry_delay) and not isinstance(retry_delay, timedelta):
            self.retry_delay = retry_delay
        else:   # a timedelta, as in Prefect 1 (a number of seconds is taken too)
            seconds = as_seconds(retry_delay, "retry_delay", owner)
            self.retry_delay = None if seconds is None else timedelta(seconds=seconds)
        if retry_on is not None:
            if max_retries == 0:
                raise TaskDefinitionError(
                    f"{owner}: retry_on={retry_on!r} has no effect without retries; "
                    "also pass max_retries=N (N >= 1)."
                )
            retry_on = set(retry_on) if isinstance(retry_on, Iterable) else {retry_on}  # a set,
            # as Prefect 1 kept it
            bad = [r for r in retry_on if not (isinstance(r, type) and issubclass(r, BaseException))]
            if bad:
                raise TaskDefinitionError(
                    f"{owner}: retry_on must hold exception classes, got {bad!r}; "
                    "e.g. retry_on=[ConnectionError, TimeoutError]."
                )
        self.retry_on = retry_on
        self.retry_jitter_factor = float(retry_jitter_factor)
        self.retry_condition = retry_condition
        if timeout is not None and (isinstance(timeout, bool) or
                                    not isinstance(timeout, (int, timedelta))):
            raise TaskOptionTypeError(
                f"{owner}: timeout={timeout!r} must be an int number of seconds or a "
                "datetime.timedelta, as in Prefect 1; for a fraction of a second pass "
                "timedelta(seconds=...).")
        if isinstance(timeout, timedelta):   # whole seconds an int, as in Prefect 1; a
            seconds = timeout.total_seconds()  # fraction is kept (Prefect 1 dropped it)
            timeout = int(seconds) if seconds.is_integer() else seconds
        self.timeout = timeout
        if self.timeout is not None and self.timeout < 0:   # 0: none, as in Prefect 1
            raise TaskDefinitionError(f"{owner}: timeout={timeout!r} must be positive (or 0 "
                                      "for no timeout).")
        self.trigger = trigger or _triggers.all_successful
        self.skip_on_upstream_skip = skip_on_upstream_skip
        if cache_for is None and cache_validator not in (None, _validators.never_use):
            warnings.warn(f"{owner}: cache_validator given without cache_for, so its results "
                          "are never cached; pass cache_for=timedelta(...) too.",
                          UserWarning, stacklevel=3)
        self.cache_for = cache_for
        # Prefect 1's default: never_use without cache_for, else duration_only
        self.cache_validator = cache_validator or (
            _validators.never_use if cache_for is None else _validators.duration_only)
        self.cache_key = cache_key
        self.cache_source = cache_source
        self.checkpoint = checkpoint
        self.state_handlers = checked_handlers(owner, "task", state_handlers, on_failure)
        self.on_failure = on_failure
        self.log_stdout = log_stdout
        self.result = result
        self.target = target
        location = getattr(result, "location", None)
        if target and location and location != target:
            warnings.warn(f"{owner}: both target={target!r} and a result location "
                          f"{location!r} were given; the target is used.",
                          UserWarning, stacklevel=3)
        self.task_run_name = task_run_name
        if nout is not None and (not isinstance(nout, int) or nout < 0):
            raise TaskDefinitionError(f"{owner}: nout={nout!r} must be a non-negative int.")
        self.nout = nout if nout is not None else _tuple_arity(self.run)
        if map_batch_size is not None and (not isinstance(map_batch_size, int) or map_batch_size < 1):
            raise TaskDefinitionError(
                f"{owner}: map_batch_size={map_batch_size!r} must be None (automatic) or an int >= 1."
            )
        self.map_batch_size = map_batch_size
        self.resources = dict(resources or {})
        params = inspect.signature(self.run).parameters
        if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params.values()):
            raise TaskDefinitionError(
                f"{owner}: run() takes *args, which tasks cannot bind (every input is "
                "passed by name); give the arguments names or take a list."
            )
        reserved = [n for n in _CALL_OPTIONS if n in params]
        if reserved:
            raise TaskDefinitionError(
                f"{owner}: run() has argument(s) {', '.join(map(repr, reserved))}, names that "
                "calling a task reserves (task(..., flow=, mapped=, upstream_tasks=, "
                "task_args=)); rename them.")
        # inspect.signature(task) shows run()'s arguments and the call options (Prefect 1)
        plain = [p for p in params.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        self.__signature__ = inspect.Signature(
            [*plain, *_CALL_PARAMETERS, *(p for p in params.values() if p not in plain)],
            return_annotation="Task")
        created = getattr(current_flow(), "created", None)
        if created is not None:   # warned of at the end of the with block if never added
            created.append(self)

    def run(self) -> Any:
        """The work; subclasses override this.  The base task returns None."""
        return None

    def __repr__(self) -> str:
        return f"<Task: {self.name}>"

    @property
    def logger(self) -> Any:
        """This task's logger, ``prefect_dask.<name>`` (``get_logger(name)`` is the same
        logger); in a run its records go to the driver with the task's State.  A task may
        set its own (``self.logger = ...``), as Prefect 1's could."""
        own = self.__dict__.get("_logger")
        if own is not None:
            return own
        from .utilities.logging import task_logger

        return task_logger(context.get("flow_name"), self.name)

    @logger.setter
    def logger(self, value: Any) -> None:
        self.__dict__["_logger"] = value

    # -- copying and binding -------------------------------------------------
    def copy(self, **task_args: Any) -> "Task":
        """A shallow copy with ``task_args`` options changed (a new task in flows)."""
        new = _copy.copy(self)
        new.tags = set(self.tags) | _context_tags()
        new.state_handlers = list(self.state_handlers)
        new.slug = None
        new.auto_slug = False
        for key, value in task_args.items():
            if not hasattr(new, key):
                raise TaskOptionError(f"Task {self.name!r}: copy() got an unknown option {key!r}; "
                                      "pass options Task(...) accepts, e.g. copy(max_retries=2).")
            # tags are added to the task's own, as in Prefect 1 (a copy cannot drop one)
            setattr(new, key, new.tags | set(value) if key == "tags" else value)
        if "on_failure" in task_args or "state_handlers" in task_args:
            handlers = [h for h in new.state_handlers if not isinstance(h, OnFailure)]
            new.state_handlers = checked_handlers(f"Task {self.name!r}", "task", handlers,
                                                  new.on_failure)
        return new

    def __call__(self, *args: Any, mapped: bool = False, task_args: dict | None = None,
                 upstream_tasks: Iterable[Any] | None = None, flow: Any = None,
                 **kwargs: Any) -> "Task":
        """Bind a copy of this task to its inputs in the current flow."""
        _used_as_template(self)
        new = self.copy(**(task_args or {}))
        new.bind(*args, mapped=mapped, upstream_tasks=upstream_tasks, flow=flow, **kwargs)
        return new

    def map(self, *args: Any, upstream_tasks: Iterable[Any] | None = None,
            flow: Any = None, task_args: dict | None = None, **kwargs: Any) -> "Task":
        """Bind a copy that runs once per element of its mapped inputs (zipped, shortest wins)."""
        _used_as_template(self)
        new = self.copy(**(task_args or {}))
        new.bind(*args, mapped=True, upstream_tasks=upstream_tasks, flow=flow, **kwargs)
        return new

    def _call_arguments(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        sig = inspect.signature(self.run)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskBindError(
                f"Task {self.name!r} cannot be called with these arguments: {exc}. "
                f"Its run() signature is {self.name}{sig}; call it to match."
            ) from None
        callargs = dict(bound.arguments)
        for name, p in sig.parameters.items():
            if p.kind is inspect.Parameter.VAR_KEYWORD and name in callargs:
                callargs.update(callargs.pop(name))
        return callargs

    def bind(self, *args: Any, mapped: bool = False, upstream_tasks: Iterable[Any] | None = None,
             flow: Any = None, **kwargs: Any) -> "Task":
        """Add this task (not a copy) to ``flow`` with these inputs; returns self."""
        callargs = self._call_arguments(args, kwargs)   # first, as in Prefect 1: a call
        # that does not match run() is a TypeError, inside a flow or not
        flow = flow if flow is not None else current_flow()
        if flow is None:
            raise NoFlowContextError(
                f"Task {self.name!r} was called outside a flow. Calling a task adds it to the "
                f"flow of the enclosing `with Flow(...):` block; to run the function now, "
                f"call `{self.name}.run(...)` instead."
            )
        scope = open_blocks().get("apply_map") if mapped else None
        if scope is not None:
            raise ApplyMapError(
                f"Task {self.name!r} is mapped inside the function {scope.name!r} given to "
                "apply_map, which maps every task it builds already; call the task there "
                f"({self.name}(...), not {self.name}.map(...)).")
        flow.set_dependencies(self, upstream_tasks=upstream_tasks, keyword_tasks=callargs,
                              mapped=mapped)
        return self

    def pipe(self, task: "Task", **kwargs: Any) -> "Task":
        """``a.pipe(b, y=1)`` is ``b(a, y=1)``: reads left to right in long chains."""
        if "self" in kwargs:
            raise TaskBindError(f"Task {self.name!r}: .pipe() takes no keyword argument "
                                "'self' (the piped result is the first argument).")
        return task(self, **kwargs)

    def inputs(self) -> dict[str, dict]:
        """``{name: {"type", "default", "required"}}`` for each argument of ``run``."""
        out = {}
        for name, p in _run_signature(self).parameters.items():
            required = p.default is inspect.Parameter.empty
            out[name] = {"type": Any if p.annotation is inspect.Parameter.empty else p.annotation,
                         "default": None if required else p.default, "required": required}
        return out

    def outputs(self) -> Any:
        """The return annotation of ``run`` (``Any`` without one)."""
        ret = _run_signature(self).return_annotation
        return Any if ret is inspect.Signature.empty else ret

    def set_upstream(self, task: Any, flow: Any = None, key: str | None = None,
                     mapped: bool = False) -> "Task":
        """Make ``task`` run before this one (passing its result as ``key`` if given);
        returns this task, as in Prefect 1."""
        flow = self._flow_for("set_upstream", flow)
        if key is None:
            flow.set_dependencies(self, upstream_tasks=[task], mapped=mapped)
        else:
            flow.set_dependencies(self, keyword_tasks={key: task}, mapped=mapped)
        return self

    def set_downstream(self, task: "Task", flow: Any = None, key: str | None = None,
                       mapped: bool = False) -> "Task":
        """Make this task run before ``task``; returns this task, as in Prefect 1."""
        task.set_upstream(self, flow=self._flow_for("set_downstream", flow), key=key, mapped=mapped)
        return self

    def set_dependencies(self, flow: Any = None, upstream_tasks: Iterable[Any] | None = None,
                         downstream_tasks: Iterable["Task"] | None = None,
                         keyword_tasks: dict[str, Any] | None = None,
                         mapped: bool = False, validate: bool | None = None) -> "Task":
        """``flow.set_dependencies`` with this task, in the current flow by default; returns
        this task."""
        self._flow_for("set_dependencies", flow).set_dependencies(
            self, upstream_tasks=upstream_tasks, downstream_tasks=downstream_tasks,
            keyword_tasks=keyword_tasks, mapped=mapped, validate=validate)
        return self

    def _flow_for(self, method: str, flow: Any) -> Any:
        flow = flow if flow is not None else current_flow()
        if flow is None:
            raise NoFlowContextError(
                f"Task {self.name!r}: {method}() needs a flow; call it inside "
                f"`with Flow(...):` or pass flow=..."
            )
        return flow

    # -- results as tasks: indexing, unpacking, operators ----------------------
    def __getitem__(self, key: Any) -> "Task":
        # the item keeps this task's checkpoint and result, as in Prefect 1; named
        # "t['a']", or "t[k]" by a key that is a task k
        label = key.name if isinstance(key, Task) else repr(key)
        return GetItem(name=f"{self.name}[{label}]", checkpoint=self.checkpoint,
                       result=self.result)(self, key)

    def __iter__(self) -> Iterator["Task"]:
        if self.nout is None:
            raise TaskBindError(
                f"Task {self.name!r} is not iterable. If it returns several values, pass "
                f"nout=N to @task / Task(...) or annotate its return type as Tuple[...], "
                f"then unpack it: a, b = {self.name}(...)."
            )
        flow = current_flow()
        if flow is not None and any(e.mapped for e in flow.edges_to(self)):
            raise TaskBindError(
                f"Task {self.name!r} is mapped, so it cannot be unpacked: a, b = "
                f"{self.name}.map(...) would take its first two children, not the items of each "
                "child's result. Pick the items in a mapped task instead, e.g. "
                f"firsts = get_first.map({self.name}.map(...)).")
        wanted = _unpack_target_count(sys._getframe(1))
        if wanted is not None and wanted != self.nout:
            raise UnpackError(
                f"Task {self.name!r} declares nout={self.nout} but is unpacked into {wanted} "
                f"values; set nout={wanted} (or a Tuple return annotation with {wanted} items) "
                f"if it returns {wanted} values, or unpack it into {self.nout}."
            )
        return (self[i] for i in range(self.nout))

    def _operator(self, op: Callable, name: str, *others: Any) -> "Task":
        return Operator(op, name=name)(self, *others)

    # a + b, 2 * a, a > b ...: tasks computing the operator (attached below the class)

    def __or__(self, other: Any) -> Any:
        """``a | b``: b runs after a (no data passes), as in Prefect 1; returns ``b``."""
        self.set_dependencies(downstream_tasks=[other])
        return other

    def __ror__(self, other: Any) -> "Task":
        """``x | a``: a runs after x; returns ``a``."""
        self.set_dependencies(upstream_tasks=[other])
        return self

    def or_(self, other: Any) -> "Task":
        """A task returning ``self or other``."""
        return self._operator(_logical_or, "Or", other)

    def is_equal(self, other: Any) -> "Task":
        """A task returning ``self == other``."""
        return self._operator(operator.eq, "Equal", other)

    def is_not_equal(self, other: Any) -> "Task":
        """A task returning ``self != other``."""
        return self._operator(operator.ne, "NotEqual", other)

    def not_(self) -> "Task":
        """A task returning ``not self``."""
        return self._operator(operator.not_, "Not")

    __hash__ = object.__hash__


_CALL_OPTIONS = ("mapped", "task_args", "upstream_tasks", "flow")
_CALL_PARAMETERS = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
                    for n, d, a in (("mapped", False, bool), ("task_args", None, dict),
                                    ("upstream_tasks", None, "Iterable[Any]"),
                                    ("flow", None, "Flow"))]


def _used_as_template(task: Task) -> None:
    """A task called (or mapped) in a flow block was used: only its copy joins the flow, so
    the unused-task warning leaves it out."""
    created = getattr(current_flow(), "created", None)
    if created is not None and task in created:
        created.remove(task)


def _run_signature(task: Task) -> inspect.Signature:
    """``task.run``'s signature, with string annotations evaluated where they can be."""
    try:
        return inspect.signature(task.run, eval_str=True)
    except Exception:   # an annotation naming something not importable here
        return inspect.signature(task.run)


def _logical_and(a: Any, b: Any) -> Any:
    return a and b


def _logical_or(a: Any, b: Any) -> Any:
    return a or b


def _operator_method(op: Callable, name: str, reflected: bool) -> Callable:
    def method(self: Task, other: Any) -> Task:
        if reflected:
            return Operator(op, name=name)(other, self)
        return self._operator(op, name, other)

    operands = "other and self" if reflected else "self and other"
    method.__doc__ = f"A task computing {name} of {operands}."
    return method


# Prefect 1's operators: ``&`` is a logical and (``x and y``), ``|`` orders tasks (above).
for _dunder, _op, _name in (("add", operator.add, "Add"), ("sub", operator.sub, "Sub"),
                            ("mul", operator.mul, "Mul"), ("truediv", operator.truediv, "Div"),
                            ("floordiv", operator.floordiv, "FloorDiv"),
                            ("mod", operator.mod, "Mod"), ("pow", operator.pow, "Pow"),
                            ("and", _logical_and, "And")):
    setattr(Task, f"__{_dunder}__", _operator_method(_op, _name, False))
    setattr(Task, f"__r{_dunder}__", _operator_method(_op, _name, True))
for _dunder, _op, _name in (("gt", operator.gt, "GreaterThan"),
                            ("ge", operator.ge, "GreaterThanOrEqual"),
                            ("lt", operator.lt, "LessThan"), ("le", operator.le, "LessThanOrEqual")):
    setattr(Task, f"__{_dunder}__", _operator_method(_op, _name, False))
del _dunder, _op, _name


def _unpack_target_count(frame: Any) -> int | None:
    """If ``frame`` is executing ``a, b = <task>``, the number of targets, else None."""
    try:
        code, at = frame.f_code.co_code, frame.f_lasti
        if code[at] == dis.opmap["UNPACK_SEQUENCE"]:
            return code[at + 1]
    except (AttributeError, IndexError, KeyError):
        pass
    return None


class FunctionTask(Task):
    """A task whose ``run`` is a plain function (made by ``@task``)."""

    def __init__(self, fn: Callable, name: str | None = None, **kwargs: Any) -> None:
        if not callable(fn):   # a TypeError, as in Prefect 1
            raise TaskOptionTypeError(f"@task / FunctionTask needs a function, got {fn!r}.")
        self.run = fn  # type: ignore[method-assign]
        functools.update_wrapper(self, fn)  # __name__, __doc__, __module__..., as in Prefect 1
        super().__init__(name=name or getattr(fn, "__name__", None), **kwargs)


def task(fn: Callable | None = None, **task_init_kwargs: Any) -> Any:
    """Turn a function into a Task: ``@task`` or ``@task(max_retries=2, ...)``."""
    if fn is None:
        return lambda f: FunctionTask(f, **task_init_kwargs)
    return FunctionTask(fn, **task_init_kwargs)


class Parameter(Task):
    """A flow input, given to ``flow.run(parameters={name: value})``.

    Without a default it is required.  Its result is the value the run got.  With
    ``secret=True`` its value is masked in run records, reports and summaries.
    """

    def __init__(self, name: str, default: Any = NO_DEFAULT, required: bool | None = None,
                 tags: Iterable[str] | None = None, secret: bool = False) -> None:
        self.secret = secret
        self.required = default is NO_DEFAULT if required is None else required
        self.default = None if default is NO_DEFAULT else default
        super().__init__(name=name, slug=name, tags=tags)

    def __call__(self, flow: Any = None) -> "Parameter":  # type: ignore[override]
        """Add this Parameter to ``flow`` (the current flow by default); returns it."""
        self._flow_for("Parameter()", flow).add_task(self)
        return self

    def copy(self, name: str | None = None,  # type: ignore[override]
             **task_args: Any) -> "Parameter":
        """A copy named ``name`` (Prefect 1: ``Parameter.copy("y")``), its slug too."""
        if name is not None:
            task_args["name"] = name
        new = super().copy(**task_args)
        new.slug = task_args.get("name", self.name)
        return new

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"

    def run(self) -> Any:
        """The run's value; outside a run, the default (a required one has none)."""
        given = context.get("parameters") or {}
        if self.name in given:
            return given[self.name]
        if self.required:
            raise ParameterError(
                f"Parameter {self.name!r} is required and has no value here: run the flow "
                f"with flow.run(parameters={{{self.name!r}: ...}}), or give it a default.")
        return self.default


class DateTimeParameter(Parameter):
    """A Parameter whose value is a date and time: an ISO 8601 string
    (``"2024-05-06T07:00:00+02:00"``, ``"2024-05-06"``) or a datetime becomes an aware
    ``datetime.datetime`` (no offset means UTC): a ``DateTime``, named as Prefect 1's
    pendulum DateTime was.  None stays None; a date stays a date.  A string that is not a
    date, or a value that is not a string, date or datetime (an int), fails the Parameter.

    It is required unless ``required=False``, even with a default (Prefect 1.4.1's
    signature): ``flow.run`` without it raises.

    >>> DateTimeParameter.parse("x", "2024-05-06").isoformat()
    '2024-05-06T00:00:00+00:00'
    """

    def __init__(self, name: str, default: Any = NO_DEFAULT, required: bool = True,
                 tags: Iterable[str] | None = None, secret: bool = False) -> None:
        super().__init__(name, default, required, tags, secret)

    def run(self) -> Any:
        return self.parse(self.name, super().run())

    @staticmethod
    def parse(name: str, value: Any) -> Any:
        """``value`` of DateTimeParameter ``name`` as the run gets it (see the class)."""
        import datetime

        if isinstance(value, str):
            try:   # Python < 3.11 reads no "Z" suffix
                value = datetime.datetime.fromisoformat(
                    value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
            except ValueError:
                raise ValueError(
                    f"DateTimeParameter {name!r}: {value!r} is not an ISO 8601 date and time; "
                    "pass e.g. '2024-05-06T07:00:00' (UTC), '2024-05-06T07:00:00+02:00' or "
                    "'2024-05-06', or a datetime.") from None
        if value is not None and not isinstance(value, datetime.date):
            raise TypeError(
                f"DateTimeParameter {name!r}: got {value!r} ({type(value).__name__}), which is "
                "not a date and time; pass an ISO 8601 string such as '2024-05-06T07:00:00' "
                "or a datetime.")
        if isinstance(value, datetime.datetime):
            value = DateTime.instance(value if value.tzinfo is not None
                                      else value.replace(tzinfo=datetime.timezone.utc))
        return value


class Constant(Task):
    """A fixed value as a task (made for mapped constant inputs)."""

    def __init__(self, value: Any, name: str | None = None, **kwargs: Any) -> None:
        self.value = value
        short = repr(value)
        super().__init__(name=name or (short if len(short) <= 8 else f"Constant[{type(value).__name__}]"),
                         **kwargs)

    def run(self) -> Any:
        return self.value

    def without_value(self) -> "Constant":
        """A copy of this task that does not carry the value: what a worker's copy of an
        edge from it holds (the value reaches workers as this task's State)."""
        shell = _copy.copy(self)
        shell.value = NOT_SENT
        return shell


class _NotSent:
    def __repr__(self) -> str:
        return "<value not sent to this worker: read it from the task's State>"


NOT_SENT = _NotSent()


def is_helper(task: Any) -> bool:
    """Whether ``task`` is one the flow made to carry a value (a Constant) or a Parameter,
    not a task of the user's code: the run summary's timings, ``runs show``, the run
    report and the UI's task tables leave such tasks out (a run's parameters have their
    own line; the run recorder marks helper tasks with this predicate)."""
    return isinstance(task, (Constant, Parameter))


class GetItem(Task):
    """``task[key]``: one item of another task's result (``default`` if the key is missing)."""

    def __init__(self, default: Any = NO_DEFAULT, **kwargs: Any) -> None:
        self.default = default
        super().__init__(**kwargs)

    @defaults_from_attrs("default")
    def run(self, task_result: Any, key: Any, default: Any = NO_DEFAULT) -> Any:  # type: ignore[override]
        if default is NO_DEFAULT:
            return task_result[key]
        try:
            return task_result[key]
        except KeyError:
            return default


class Operator(Task):
    """``a + b`` and friends on task results."""

    def __init__(self, op: Callable, name: str, **kwargs: Any) -> None:
        self.op = op
        super().__init__(name=name, **kwargs)

    def run(self, a: Any, b: Any = NO_DEFAULT) -> Any:  # type: ignore[override]
        return self.op(a) if b is NO_DEFAULT else self.op(a, b)


class VarArgsTask(Task):
    """A task called with any number of positional inputs, which ``run`` receives as
    ``arg_1=..., arg_2=...`` (Prefect 1's base of ``List``, ``Tuple`` and ``Set``)."""

    def bind(self, *args: Any, mapped: bool = False, upstream_tasks: Iterable[Any] | None = None,
             flow: Any = None, **kwargs: Any) -> "Task":
        if kwargs:
            raise TaskBindError(
                f"Task {self.name!r} takes its items as positional inputs, got keywords "
                f"{sorted(kwargs)}; call it as {self.name}(a, b, ...)."
            )
        items = {f"arg_{n}": value for n, value in enumerate(args, start=1)}
        return super().bind(mapped=mapped, upstream_tasks=upstream_tasks, flow=flow, **items)

    @staticmethod
    def ordered(task_results: dict[str, Any]) -> list:
        """The values of ``arg_1, arg_2, ...`` in their order."""
        return [v for _, v in sorted(task_results.items(), key=lambda kv: int(kv[0][4:]))]


class List(VarArgsTask):
    """``List()(a, b)``: a list of its inputs' results (made for ``[a, b]`` given to a task)."""

    def run(self, **task_results: Any) -> list:  # type: ignore[override]
        return self.ordered(task_results)


class Tuple(VarArgsTask):
    """``Tuple()(a, b)``: a tuple of its inputs' results."""

    def run(self, **task_results: Any) -> tuple:  # type: ignore[override]
        return tuple(self.ordered(task_results))


class Set(VarArgsTask):
    """``Set()(a, b)``: a set of its inputs' results."""

    def run(self, **task_results: Any) -> set:  # type: ignore[override]
        return set(task_results.values())


class Dict(Task):
    """``Dict()(keys=[...], values=[...])``: a dict zipping two lists (made for a dict
    literal holding tasks)."""

    def run(self, keys: Any, values: Any) -> dict:  # type: ignore[override]
        keys, values = list(keys), list(values)
        if len(keys) != len(values):
            raise ValueError(f"Task {self.name!r}: got {len(keys)} keys but {len(values)} "
                             "values; pass lists of the same length.")
        return dict(zip(keys, values))


def contains_task(value: Any) -> bool:
    """True if ``value`` is a task or a (nested) list/tuple/set/dict holding one."""
    if isinstance(value, Task):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_task(v) for v in value)
    if isinstance(value, dict):
        return any(contains_task(v) for v in value.values())
    return False


def task_or_value(value: Any, flow: Any) -> Any:
    """``value`` itself if a Task, a bound ``List``/``Tuple``/``Set``/``Dict`` task if it
    holds tasks (as in Prefect 1), else ``value``."""
    if isinstance(value, Task) or not contains_task(value):
        return value
    if isinstance(value, dict):
        return Dict().bind(keys=list(value), values=list(value.values()), flow=flow)
    kind = Set if isinstance(value, (set, frozenset)) else Tuple if isinstance(value, tuple) \
        else List
    return kind().bind(*value, flow=flow)


def as_task(x: Any, flow: Any = None) -> Task:
    """``x`` as a task: a Task itself; a list, tuple, set or dict holding tasks as a task
    that rebuilds it from their results (bound in ``flow``, by default the flow being
    built); any other value as a Constant task.

    >>> as_task(3)
    <Task: 3>
    """
    if isinstance(x, Task):
        return x
    if not contains_task(x):
        return Constant(x)
    flow = flow if flow is not None else current_flow()
    if flow is None:
        raise NoFlowContextError(
            f"as_task({x!r:.60}) holds tasks, so it builds a task in a flow; call it inside "
            "`with Flow(...):` or pass flow=...")
    return task_or_value(x, flow)


@dataclass(frozen=True, slots=True)
class Edge:
    """``upstream_task`` feeds ``downstream_task`` (as argument ``key``, if any).

    Defined beside Task (the engine reads edges and never imports ``flow``); served as
    ``prefect_dask.Edge`` and ``prefect_dask.flow.Edge``."""

    upstream_task: Task
    downstream_task: Task
    key: str | None = None
    mapped: bool = False
    flattened: bool = False

    def __post_init__(self) -> None:
        if self.upstream_task is self.downstream_task:
            raise FlowValidationError(
                f"An edge cannot connect task {self.upstream_task.name!r} to itself; a task "
                "cannot be its own upstream task.")
        key = self.key
        if key is not None and not (isinstance(key, str) and key.isidentifier()
                                    and not keyword.iskeyword(key)):
            raise FlowValidationError(   # as Prefect 1: a key names an argument of run()
                f"Edge {self.upstream_task.name!r} -> {self.downstream_task.name!r}: key "
                f"{key!r} is not a valid argument name: pass the name of an argument of "
                f"run() of task {self.downstream_task.name!r}, or key=None for ordering only.")

    @property
    def tasks(self) -> set[Task]:
        """The edge's two tasks."""
        return {self.upstream_task, self.downstream_task}

    def __repr__(self) -> str:   # Prefect 1's form
        return (f"<Edge(key={self.key}, mapped={self.mapped}, flattened={self.flattened}): "
                f"{self.upstream_task.name} to {self.downstream_task.name}>")
