"""Immutable task and flow states, Prefect 1's vocabulary and hierarchy.

A state is a frozen value.  A transition never mutates a state: it builds a new
one (``state.replace(...)`` or ``NewClass.from_state(old, ...)``).

The hierarchy is Prefect 1's::

    State
    ├── Pending ── Scheduled ── Retrying, Paused, Resume
    ├── Running ── Cancelling
    ├── Submitted, Queued, ClientFailed (meta states: they wrap another in ``state``)
    └── Finished
        ├── Success ── Cached, Mapped, Skipped
        ├── Failed ── TimedOut, TriggerFailed, ValidationFailed, Crashed
        ├── Looped
        └── Cancelled

>>> s = Success(result=3)
>>> s.is_successful(), s.is_failed(), s.result
(True, False, 3)
>>> Skipped().is_successful()
True
"""

from __future__ import annotations

import copyreg
import dataclasses
import datetime
import functools
import math
import pickle
import sys
import threading
import time
from array import array
from types import MappingProxyType
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, overload

from dask.sizeof import sizeof

from .context import context

__all__ = [
    "State", "Pending", "Scheduled", "Retrying", "Paused", "Resume", "Running", "Finished",
    "Success", "Cached", "Mapped", "Skipped", "Failed", "TimedOut", "TriggerFailed",
    "ValidationFailed", "Crashed", "Looped", "Cancelled", "Cancelling", "Submitted", "Queued",
    "ClientFailed", "MapStates", "StateResult", "Remote",
]


@dataclass(frozen=True, slots=True)
class StateResult:
    """A state's result and where it was checkpointed (``state._result``, Prefect 1's name).

    >>> Success(result=3)._result
    <Result: 3>
    """

    value: Any
    location: str | None = None

    def __repr__(self) -> str:
        return f"<Result: {self.value!r:.60}>"


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
    location: str | None = None
    logs: tuple = ()
    worker: str | None = None
    context: dict | None = None          # Prefect 1's state.context ({} when None)
    cached_inputs: dict | None = None    # Prefect 1's state.cached_inputs ({} when None)
    _extra: dict | None = None           # attributes a state handler set (see _setattr)
    _editable: bool = field(default=False, init=False, repr=False, compare=False)

    def replace(self, **changes: Any) -> "State":
        """Return a copy of this state with ``changes`` applied."""
        if "result" not in changes:   # a result left on a cluster stays there
            changes["result"] = raw_result(self)
        for name in _DICT_SLOTS:      # as stored (None, not the {} a read gives)
            if name not in changes:
                changes[name] = _stored(self, name)
        return dataclasses.replace(self, **changes)

    def with_result(self, result: Any) -> "State":
        """A copy with another ``result`` (fast: the runner calls it per mapped child)."""
        cls = type(self)
        slots = _FIELD_SLOTS.get(cls) or _field_slots(cls)
        new = object.__new__(cls)
        for slot in slots:   # every field as stored, then the new result
            slot.__set__(new, slot.__get__(self, cls))
        _RESULT_SLOT.__set__(new, result)
        _EDITABLE_SLOT.__set__(new, False)
        return new

    @classmethod
    def from_state(cls, old: "State", message: Any = None, result: Any = None, **changes: Any) -> "State":
        """Build a state of this class carrying ``old``'s bookkeeping fields over."""
        keep = {f.name: getattr(old, f.name) for f in dataclasses.fields(State)
                if f.init and f.name not in _NOT_CARRIED}
        keep.update(changes)
        return cls(message, result, **keep)

    @property
    def _result(self) -> "StateResult":
        """Prefect 1's ``state._result``: ``.value`` is the result, ``.location`` where it
        was checkpointed (None if it was not)."""
        return StateResult(self.result, self.location)

    def __getattr__(self, name: str) -> Any:
        """An attribute a state handler set on the state (Prefect 1 states took any)."""
        if not name.startswith("__") and name != "_extra":
            extra = _EXTRA_SLOT.__get__(self, State)
            if extra is not None and name in extra:
                return extra[name]
        raise AttributeError(f"{type(self).__name__!r} state has no attribute {name!r}")

    @property
    def run_count(self) -> int:
        """Prefect 1's name for ``attempts`` (on Retrying: the attempts made so far)."""
        return self.attempts

    @classmethod
    def children(cls, include_self: bool = False, names_only: bool = False) -> list[Any]:
        """Every subclass of this state class, at any depth (and the class itself, last,
        with ``include_self``); their names with ``names_only``.

        >>> Failed.children(include_self=True, names_only=True)[-1]
        'Failed'
        """
        out, todo = [], list(cls.__subclasses__())
        while todo:
            sub = todo.pop(0)
            # @dataclass(slots=True) leaves the class it replaced among the subclasses
            if getattr(sys.modules.get(sub.__module__), sub.__qualname__, sub) is sub \
                    and not sub.__name__.startswith("_"):   # not _MetaState, as in Prefect 1
                out.append(sub)
            todo.extend(sub.__subclasses__())
        return _classes(out + [cls] if include_self else out, names_only)

    @classmethod
    def parents(cls, include_self: bool = False, names_only: bool = False) -> list[Any]:
        """The state classes this one derives from, nearest first (and the class itself,
        last, with ``include_self``); their names with ``names_only``.

        >>> TimedOut.parents(names_only=True)
        ['Failed', 'Finished', 'State']
        """
        out = [c for c in cls.__mro__[1:] if issubclass(c, State)
               and not c.__name__.startswith("_")]   # not _MetaState, as in Prefect 1
        return _classes(out + [cls] if include_self else out, names_only)

    def load_result(self, result: Any = None) -> "State":
        """Prefect 1 loaded a checkpointed result here; results are always loaded: self."""
        return self

    # -- predicates, Prefect 1 names -------------------------------------
    def is_queued(self) -> bool:
        return isinstance(self, Queued)

    def is_submitted(self) -> bool:
        return isinstance(self, Submitted)

    def is_pending(self) -> bool:
        return isinstance(self, Pending)

    def is_scheduled(self) -> bool:
        """Scheduled (Retrying, Paused, Resume) or Queued, as in Prefect 1."""
        return isinstance(self, (Scheduled, Queued))

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
        """A state that wraps another (Submitted, Queued, ClientFailed)."""
        return isinstance(self, _MetaState)

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled as usual, but a big ``bytes`` result travels out of band with protocol 5
        (Dask sends it as its own frame instead of copying it into the pickle)."""
        result = _RESULT_SLOT.__get__(self, State)
        if protocol >= 5 and type(result) is bytes and len(result) >= OUT_OF_BAND:
            return (_state_with_result, (self.with_result(None), pickle.PickleBuffer(result)))
        cls = type(self)
        slots = _FIELD_SLOTS.get(cls) or _field_slots(cls)
        # the fields as stored (context None, not the {} a read gives), in order
        return (copyreg.__newobj__, (cls,), [slot.__get__(self, cls) for slot in slots])

    #: What Prefect 1.4.1's constructor takes positionally after message and result (the
    #: order differs between classes; ``_positional_args`` maps them to fields).
    _positional: ClassVar[tuple[str, ...]] = ("context", "cached_inputs")

    #: Fields besides ``result`` (and those a subclass adds) that equality compares.
    _compared: ClassVar[tuple[str, ...]] = ()

    def __eq__(self, other: object) -> bool:
        """Prefect 1's equality: the same class and data (result, and what the class adds,
        e.g. ``map_states`` or ``start_time``); message, timings and names do not count.

        >>> Success("a", result=1) == Success("b", result=1), Success(result=1) == Cached(result=1)
        (True, False)
        """
        if type(self) is not type(other):
            return False
        names = ("result", *self._compared,
                 *(f for f in type(self).__dataclass_fields__ if f not in _BASE_FIELDS))
        return (all(_same(getattr(self, n), getattr(other, n)) for n in names)
                and _same(self._extra or {}, other._extra or {}))

    __hash__ = object.__hash__   # by identity, as in Prefect 1: states stay usable as keys

    def __repr__(self) -> str:
        if self.message is None:
            return f"<{type(self).__name__}>"
        return f'<{type(self).__name__}: "{self.message}">'


def _same(a: Any, b: Any) -> bool:
    """``a == b`` as a bool; values whose ``==`` is not a bool (arrays) count as equal only
    when they are the same object."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _classes(classes: list[type], names_only: bool) -> list[Any]:
    return [c.__name__ for c in classes] if names_only else classes


_BASE_FIELDS = State.__dataclass_fields__.keys()
#: Fields a new state (``from_state``) does not take from the old one: Prefect 1 built each
#: state afresh, so what a handler set on one state is not on the next.
_NOT_CARRIED = frozenset({"message", "result", "context", "cached_inputs", "_extra"})

#: ``bytes`` results at least this big are pickled out of band (see ``State.__reduce_ex__``).
OUT_OF_BAND = 64 * 1024


def _as_bytes(buffer: Any) -> bytes:
    return buffer if type(buffer) is bytes else bytes(buffer)


def _state_with_result(state: State, buffer: Any) -> State:
    return state.with_result(_as_bytes(buffer))


# -- results left where they were computed -------------------------------------------------

class Remote:
    """A task's result left where it was computed (``DaskExecutor(results_on_cluster=True)``).

    A State holds one in place of its result; reading ``state.result`` fetches the value
    once (``source.fetch([key])``) and keeps it.  Pickled, it is its value.

    >>> class Store:
    ...     def fetch(self, keys): return [k * 2 for k in keys]
    >>> s = Success(result=Remote(Store(), 21))
    >>> s.result
    42
    """

    __slots__ = ("source", "key", "_value", "_lock")

    def __init__(self, source: Any, key: Any) -> None:
        self.source, self.key = source, key     # source.fetch(keys) -> values, in order
        self._value: Any = _UNFETCHED
        self._lock = threading.Lock()

    @property
    def fetched(self) -> bool:
        return self._value is not _UNFETCHED

    def get(self) -> Any:
        """The value, fetched on the first call."""
        with self._lock:
            if self._value is _UNFETCHED:
                self._value = self.source.fetch([self.key])[0]
            return self._value

    def __reduce__(self) -> tuple:
        return (_identity, (self.get(),))

    def __repr__(self) -> str:
        return f"<Remote result{'' if self.fetched else ' (not fetched)'}>"


_UNFETCHED = object()


def _identity(value: Any) -> Any:
    return value


def fetch_all(values: Sequence[Any]) -> list:
    """``values`` with every Remote among them fetched: one ``fetch`` per source."""
    todo: dict[int, list[Remote]] = {}
    sources = {}
    for v in values:
        if type(v) is Remote and not v.fetched:
            todo.setdefault(id(v.source), []).append(v)
            sources[id(v.source)] = v.source
    for sid, remotes in todo.items():
        for r, value in zip(remotes, sources[sid].fetch([r.key for r in remotes])):
            with r._lock:
                if r._value is _UNFETCHED:
                    r._value = value
    return [v.get() if type(v) is Remote else v for v in values]


class _RemoteList:
    """The source of a mapped parent's result whose children's results were left remote."""

    def fetch(self, keys: list) -> list:
        return [fetch_all(values) for values in keys]


# ``result`` is a slot; reading it through this property fetches a Remote (Prefect 1 also
# read ``state.result`` through a property over its Result object).
_RESULT_SLOT = State.__dict__["result"]


def _get_result(self: State) -> Any:
    value = _RESULT_SLOT.__get__(self, State)
    return value.get() if type(value) is Remote else value


def raw_result(state: State) -> Any:
    """``state``'s result as stored: a Remote is not fetched."""
    return _RESULT_SLOT.__get__(state, State)


State.result = property(_get_result, _RESULT_SLOT.__set__,   # type: ignore[assignment]
                        doc="The task's return value (or exception); fetched if Remote.")

_EXTRA_SLOT = State.__dict__["_extra"]
_EDITABLE_SLOT = State.__dict__["_editable"]
_DICT_SLOTS = {name: State.__dict__[name] for name in ("context", "cached_inputs")}
_CONTEXT_SLOT, _CACHED_SLOT = _DICT_SLOTS.values()
_EMPTY: Any = MappingProxyType({})
_FIELD_SLOTS: dict[type, list] = {}   # state class -> the slot of each field, in order


def _field_slots(cls: type) -> list:
    raw = {"result": _RESULT_SLOT, "_extra": _EXTRA_SLOT, **_DICT_SLOTS}
    slots = _FIELD_SLOTS[cls] = [
        raw.get(f.name) or next(c.__dict__[f.name] for c in cls.__mro__ if f.name in c.__dict__)
        for f in dataclasses.fields(cls)]
    return slots


def _stored(state: State, name: str) -> Any:
    """``state.context`` or ``state.cached_inputs`` as stored: None when none was given."""
    return _DICT_SLOTS[name].__get__(state, State)


def _dict_field(name: str, doc: str) -> property:
    """``state.<name>`` over its slot: the dict, or ``{}`` when none was given (kept on an
    editable copy, so a handler's ``state.context["k"] = v`` stays; read-only otherwise)."""
    slot = _DICT_SLOTS[name]

    def get(self: State) -> Any:
        value = slot.__get__(self, State)
        if value is None:
            if not self._editable:
                return _EMPTY
            value = {}
            slot.__set__(self, value)
        return value

    return property(get, slot.__set__, doc=doc)


State.context = _dict_field(  # type: ignore[assignment]
    "context", "Prefect 1's state context: a dict of what a handler noted.")
State.cached_inputs = _dict_field(  # type: ignore[assignment]
    "cached_inputs", "Prefect 1's cached inputs (a handler may set them; the engine does not).")


# -- editable copies for handlers ---------------------------------------------------
# Prefect 1's handlers edit the state they are given (``new_state.result = ...``,
# ``state.message = ...``).  States stay frozen in the engine: a handler gets an editable
# copy (same class, flagged editable), and the engine freezes whatever the handler returns
# (or the copy, if it returned None).

def _setattr(self: State, name: str, value: Any) -> None:
    if self._editable and not name.startswith("_"):
        if name in type(self).__dataclass_fields__:
            object.__setattr__(self, name, value)
            return
        if not hasattr(type(self), name):   # any other attribute, as Prefect 1 allowed
            # (``new_state.timestamp = ...``): kept in ``_extra``, a copy of this state's own
            object.__setattr__(self, "_extra", {**(self._extra or {}), name: value})
            return
    raise dataclasses.FrozenInstanceError(
        f"cannot assign to {name!r}: states are immutable. Make a changed copy with "
        f"state.replace({name}=...); a state handler may assign to the state it is given.")


def _delattr(self: State, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}: states are immutable.")


def _positional_args(cls: type) -> None:
    """Let ``cls(message, result, *more)`` take ``more`` as Prefect 1.4.1's constructor
    does, by the names in ``cls._positional``
    (``Retrying("m", None, start_time, cached_inputs, context, run_count)``)."""
    init, names = cls.__dict__["__init__"], cls._positional

    @functools.wraps(init)
    def __init__(self: State, message: Any = None, result: Any = None, *more: Any,
                 **fields: Any) -> None:
        if more:
            if len(more) > len(names):
                raise TypeError(
                    f"{cls.__name__}() takes message, result and at most {len(names)} more "
                    f"positional arguments ({', '.join(names)}), but {2 + len(more)} were "
                    "given; pass the others by keyword.")
            for name, value in zip(names, more):
                if name in fields:
                    raise TypeError(f"{cls.__name__}() got {name!r} both by position and by "
                                    "keyword; give it once.")
                fields[name] = value
        init(self, message, result, **fields)

    cls.__init__ = __init__


def _guard(cls: type) -> None:
    """Give ``cls`` the assignment rule above (dataclass(frozen=True) gave it a stricter one)."""
    if cls.__dict__.get("__setattr__") is not _setattr:
        cls.__setattr__, cls.__delattr__ = _setattr, _delattr


def editable(state: State) -> State:
    """A copy of ``state`` whose fields can be assigned; ``frozen`` makes it immutable again.

    >>> s = editable(Success("ok", result=1))
    >>> s.result = 2
    >>> type(s) is Success, frozen(s), frozen(s).result
    (True, <Success: "ok">, 2)
    """
    _guard(type(state))
    copy = state.replace(**{n: dict(d) for n in _DICT_SLOTS   # its own dicts to edit
                            if (d := _stored(state, n)) is not None})
    object.__setattr__(copy, "_editable", True)
    return copy


def frozen(state: Any) -> Any:
    """``state``, made immutable again if it is an editable copy (in place: a handler that
    kept it cannot change it later); anything else as is."""
    if isinstance(state, State) and state._editable:
        object.__setattr__(state, "_editable", False)
    return state


def through_handlers(handlers: Iterable[Any], owner: Any, old: State, new: State) -> State:
    """``new`` after each of ``handlers(owner, old, new)`` in turn (Prefect 1's state handlers).

    Each handler gets an editable copy; what it returns (or the copy, if it returns None)
    is frozen and goes on to the next.  A handler returning anything else is a TypeError.
    """
    for handler in handlers:
        given = editable(new)
        out = handler(owner, old, given)
        if out is not None and not isinstance(out, State):
            raise TypeError(
                f"state handler {getattr(handler, '__name__', handler)!r} of {owner!r} returned "
                f"{out!r:.60}, not a State; return the new state, or None to keep it.")
        new = frozen(given if out is None else out)
    return new


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Pending(State):
    """Not yet run."""

    _positional = ("cached_inputs", "context")


def as_utc(when: Any, owner: str) -> datetime.datetime | None:
    """A ``start_time`` as an aware UTC datetime, as Prefect 1 kept it: a datetime (naive
    means UTC) or a number of seconds since the epoch; None stays None.

    >>> as_utc(60, "Scheduled")
    datetime.datetime(1970, 1, 1, 0, 1, tzinfo=datetime.timezone.utc)
    """
    if when is None:
        return None
    if isinstance(when, datetime.datetime):
        utc = datetime.timezone.utc
        return when.replace(tzinfo=utc) if when.tzinfo is None else when.astimezone(utc)
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    raise TypeError(f"{owner}(start_time={when!r}): give a datetime (e.g. "
                    "datetime.now(timezone.utc) + timedelta(minutes=5)) or a timestamp.")


def _utc_start_time(state: Any, now_if_none: bool = True) -> None:
    """Make ``state.start_time`` an aware UTC datetime; None becomes now on the run's clock
    (``context.clock``, so a fake clock in tests; the wall clock outside a run), as
    Prefect 1's ``Scheduled()`` is "now", unless ``now_if_none`` is False."""
    when = state.start_time
    if when is None and now_if_none:
        clock = context.get("clock")
        when = clock.now() if clock is not None else time.time()
    object.__setattr__(state, "start_time", as_utc(when, type(state).__name__))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Scheduled(Pending):
    """Waiting for ``start_time`` (an aware UTC datetime; by default now) before running."""

    start_time: datetime.datetime | None = field(default=None, kw_only=True)
    _start_now: ClassVar[bool] = True   # no start_time: now (Paused: None, waits for ever)
    _positional = ("start_time", "cached_inputs", "context")

    def __post_init__(self) -> None:
        _utc_start_time(self, self._start_now)


@dataclass(frozen=True, slots=True, eq=False, repr=False, init=False)
class Retrying(Scheduled):
    """Failed, and will run again at ``start_time``.  ``run_count=n`` (Prefect 1's name)
    sets ``attempts``; by default, as in Prefect 1, the attempt running now
    (``context.task_run_count``), or 1.

    >>> Retrying(run_count=3).run_count, Retrying().run_count
    (3, 1)
    """

    _compared = ("attempts",)   # Prefect 1's run_count
    _positional = ("start_time", "cached_inputs", "context", "run_count")

    def __init__(self, message: Any = None, result: Any = None, *,
                 run_count: int | None = None, **fields: Any) -> None:
        if run_count is not None:
            fields["attempts"] = run_count
        elif "attempts" not in fields:
            fields["attempts"] = context.get("task_run_count", 1)
        Scheduled.__init__(self, message, result, **fields)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Paused(Scheduled):
    """Waiting for someone to resume it (``manual_only`` trigger); ``start_time`` stays
    None unless given, as in Prefect 1."""

    _start_now = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Resume(Scheduled):
    """Given to a paused task (``flow.run(task_states={task: Resume()})``): it runs, and a
    ``manual_only`` trigger lets it."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Running(State):
    """The task function is running."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Cancelling(Running):
    """A run being cancelled whose tasks may still be running (Prefect 1's name; the
    engine does not use it)."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _MetaState(State):
    """A state about another one, held in ``state`` (a meta state given as ``state`` is
    unwrapped).  The engine does not produce these: a Prefect server did; they are here
    for programs that build or test for them.

    >>> Submitted(state=Queued(state=Retrying())).state
    <Retrying>
    """

    state: State | None = field(default=None, kw_only=True)
    _positional = ("state", "context", "cached_inputs")

    def __post_init__(self) -> None:
        inner = self.state
        while isinstance(inner, _MetaState):
            inner = inner.state
        object.__setattr__(self, "state", inner)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Submitted(_MetaState):
    """``state`` (usually Scheduled) has been handed to something that will run it."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Queued(_MetaState):
    """``state`` could not start running yet; it waits until ``start_time`` (as Scheduled's)."""

    start_time: datetime.datetime | None = field(default=None, kw_only=True)
    _positional = ("state", "start_time", "context", "cached_inputs")

    def __post_init__(self) -> None:
        _MetaState.__post_init__(self)
        _utc_start_time(self)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ClientFailed(_MetaState):
    """Setting ``state`` through a Prefect server failed."""


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
    _positional = ("cached_inputs", "cached_parameters", "cached_result_expiration", "context",
                   "hashed_inputs")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Mapped(Success):
    """The parent of a mapped task; ``map_states`` holds one State per child, in order."""

    map_states: Sequence[State] = field(default_factory=list, kw_only=True)
    _positional = ("map_states", "context", "cached_inputs")

    @property
    def n_map_states(self) -> int:
        """How many children."""
        return len(self.map_states)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Skipped(Success):
    """Not run: a SKIP signal, an upstream skip, or a ``case`` branch not taken."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Failed(Finished):
    """Finished with an error; ``result`` is the exception."""

    _positional = ("cached_inputs", "context")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TimedOut(Failed):
    """The task ran longer than its ``timeout``."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TriggerFailed(Failed):
    """Not run because its trigger did not pass."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ValidationFailed(Failed):
    """The task's result did not validate (``signals.VALIDATIONFAIL``)."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Crashed(Failed):
    """The process or worker running the task died."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Looped(Finished):
    """One iteration of a looping task finished (``signals.LOOP``); ``loop_count`` is by
    default, as in Prefect 1, the iteration running now (``context.task_loop_count``), or 1."""

    _compared = ("loop_count",)
    _positional = ("loop_count", "context", "cached_inputs")

    def __post_init__(self) -> None:
        if not self.loop_count:
            object.__setattr__(self, "loop_count", context.get("task_loop_count", 1))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Cancelled(Finished):
    """Stopped before it finished (Ctrl-C, or the run was cancelled)."""


for _cls in (State, _MetaState, *State.children()):
    _guard(_cls)
    _positional_args(_cls)
del _cls

_KINDS: tuple[type[State], ...] = (Success, Failed, Skipped, TriggerFailed, TimedOut, Crashed,
                                   Cancelled, Looped, Pending, Running)
_KIND_INDEX = {cls: i for i, cls in enumerate(_KINDS)}


class MapStates(Sequence):
    """The children of a mapped task, stored by column instead of one object per child.

    Reads like a list of States (``len``, indexing, iteration); each State is
    rebuilt on access.  Children with fields beyond the common ones (a Cached
    entry, a Retrying time) are kept whole.

    >>> ms = MapStates.from_states("inc", [Success(result=1, map_index=0), Failed("x", map_index=1)])
    >>> len(ms), [type(s).__name__ for s in ms], ms[0].result, ms[1].map_index
    (2, ['Success', 'Failed'], 1, 1)
    """

    __slots__ = ("task_name", "offset", "kinds", "results", "attempts", "started", "finished",
                 "messages", "locations", "logs", "workers", "whole")

    def __init__(self, task_name: str | None, offset: int = 0) -> None:
        self.task_name, self.offset = task_name, offset
        self.kinds = bytearray()
        self.results: list[Any] = []
        self.attempts = array("l")
        self.started = array("d")
        self.finished = array("d")
        self.messages: dict[int, Any] = {}
        self.locations: dict[int, str] = {}
        self.logs: dict[int, tuple] = {}
        self.workers: list[str | None] = []
        self.whole: dict[int, State] = {}

    @classmethod
    def from_states(cls, task_name: str | None, states: Iterable[State],
                    offset: int = 0) -> "MapStates":
        """Children ``offset, offset + 1, ...`` from their States."""
        out = cls(task_name, offset)
        out.extend(states)
        return out

    @classmethod
    def concat(cls, task_name: str | None, chunks: Iterable[Sequence[State]]) -> "MapStates":
        """One MapStates from consecutive chunks (MapStates or plain sequences of States)."""
        out = cls(task_name)
        for chunk in chunks:
            if not isinstance(chunk, MapStates):
                out.extend(chunk)
                continue
            base = len(out.kinds)
            out.kinds += chunk.kinds
            out.results += chunk.results
            out.workers += chunk.workers
            out.attempts += chunk.attempts
            out.started += chunk.started
            out.finished += chunk.finished
            out.messages.update((base + i, m) for i, m in chunk.messages.items())
            out.locations.update((base + i, loc) for i, loc in chunk.locations.items())
            out.logs.update((base + i, logs) for i, logs in chunk.logs.items())
            out.whole.update((base + i, w) for i, w in chunk.whole.items())
        return out

    def extend(self, states: Iterable[State]) -> None:
        nan = math.nan
        result = _RESULT_SLOT.__get__   # as stored: a Remote stays one
        for s in states:
            i = len(self.kinds)
            kind = _KIND_INDEX.get(type(s))
            if kind is None or s.loop_count or s.map_index != self.offset + i \
                    or s.task_name != self.task_name:
                self.whole[i] = s
                kind = 0
            self.kinds.append(kind)
            self.results.append(result(s, State))
            self.workers.append(s.worker)
            self.attempts.append(s.attempts)
            self.started.append(nan if s.started is None else s.started)
            self.finished.append(nan if s.finished is None else s.finished)
            if s.message is not None:
                self.messages[i] = s.message
            if s.location is not None:
                self.locations[i] = s.location
            if s.logs:
                self.logs[i] = s.logs

    def __len__(self) -> int:
        return len(self.kinds)

    @overload
    def __getitem__(self, i: int) -> State: ...

    @overload
    def __getitem__(self, i: slice) -> list[State]: ...

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"map index {i} out of range for {len(self)} children")
        whole = self.whole.get(i)
        if whole is not None:
            return whole
        started, finished = self.started[i], self.finished[i]
        return _KINDS[self.kinds[i]](
            self.messages.get(i), self.results[i], attempts=self.attempts[i],
            started=None if started != started else started,
            finished=None if finished != finished else finished,
            task_name=self.task_name, map_index=self.offset + i, location=self.locations.get(i),
            logs=self.logs.get(i, ()), worker=self.workers[i])

    def classes(self) -> list[type[State]]:
        """The state class of each child, without building the States."""
        out = [_KINDS[k] for k in self.kinds]
        for i, state in self.whole.items():
            out[i] = type(state)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def type_names(self) -> list[str]:
        """The state class name of each child, without building the States."""
        return [cls.__name__ for cls in self.classes()]

    def __repr__(self) -> str:   # a list's, as Prefect 1's map_states was one
        return repr(list(self))

    def __reduce_ex__(self, protocol: Any) -> Any:
        """As ``State.__reduce_ex__``: big ``bytes`` results go out of band (protocol 5)."""
        state = {name: getattr(self, name) for name in MapStates.__slots__}
        if protocol >= 5:
            big = [i for i, r in enumerate(self.results)
                   if type(r) is bytes and len(r) >= OUT_OF_BAND]
            if big:
                results = state["results"] = list(self.results)
                for i in big:
                    results[i] = pickle.PickleBuffer(results[i])
                return (_map_states, (state, big))
        return (_map_states, (state, ()))

    def result_list(self) -> Any:
        """The children's results as a list (a mapped parent's result); if some were left on
        a cluster, a Remote that fetches them all on first read."""
        out = list(self.results)
        if not any(type(x) is Remote for x in out):
            return out
        return Remote(_RemoteList(), out)


def _map_states(state: dict, big: Sequence[int]) -> MapStates:
    out = MapStates.__new__(MapStates)
    for name, value in state.items():
        setattr(out, name, value)
    for i in big:
        out.results[i] = _as_bytes(out.results[i])
    return out


# -- sizes for Dask: what a State holds is mostly its result -------------------------------
# Dask's scheduler decides where to run tasks, when workers spill to disk and how the driver
# fetches values by these sizes; without them every State would count as ~100 bytes.

@sizeof.register(State)
def _sizeof_state(state: State) -> int:
    inner = state.map_states if isinstance(state, Mapped) and state.map_states is not None \
        else raw_result(state)
    return 200 + sizeof(inner) + sizeof(state.logs)


@sizeof.register(MapStates)
def _sizeof_map_states(states: MapStates) -> int:
    return 64 * len(states.kinds) + sizeof(states.results) + sizeof(list(states.whole.values()))
