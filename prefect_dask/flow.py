"""Flow: a graph of tasks and edges, built with ``with Flow(...)`` or imperatively.

>>> from prefect_dask import task
>>> @task
... def one():
...     return 1
>>> @task
... def inc(x):
...     return x + 1
>>> with Flow("tiny") as flow:
...     r = inc(one())
>>> flow.run().result[r].result
2
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .context import open_blocks, pop_flow, push_flow
from .engine.run import resolve_parameters, run_flow
from .engine.runner import SystemClock
from .errors import (CycleError, FlowRunContextError, FlowValidationError, MapError,
                     NeedsServerError, RunArgumentError, RunOptionError, TaskBindError)
from .utilities.logging import named_logger
from .states import State
from .task import (Constant, Parameter, Task, checked_handlers, flatten, is_sequence,
                   task_or_value, unmapped)
from .task import Edge
from .task import mapped as mapped_arg

__all__ = ["Flow", "Edge", "FlowTask"]


def _file_name(name: str) -> str:
    """A flow name as a file name: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "flow"


def _check_mappable(value: Any, task: Task, key: str | None) -> None:
    """A constant mapped over must be a sequence."""
    arg = f"argument {key!r}" if key else "an upstream_tasks entry"
    if not is_sequence(value):
        raise MapError(
            f"Task {task.name!r} cannot map over {arg} = {value!r:.60}: a "
            f"{type(value).__name__} is not a sequence. Map over a list or tuple, or wrap it "
            f"in unmapped(...) to pass it whole to every child."
        )


def _is_mapped(value: Any, mapped: bool) -> bool:
    """Whether an input is mapped over: ``mapped(x)``, or any input of ``.map`` but
    ``unmapped(x)``."""
    return isinstance(value, mapped_arg) or (mapped and not isinstance(value, unmapped))


class Flow:
    """A named graph of tasks (Prefect 1's ``Flow``).

    Reference tasks (by default the terminal tasks) decide the flow's final
    state: Failed if any of them failed, else Success.
    """

    def __init__(self, name: str, schedule: Any = None, executor: Any = None,
                 run_config: Any = None, storage: Any = None,
                 tasks: Iterable[Task] | None = None, edges: Iterable[Edge] | None = None,
                 reference_tasks: Iterable[Task] | None = None,
                 state_handlers: Iterable[Callable] | None = None,
                 on_failure: Callable | None = None, validate: bool | None = None,
                 result: Any = None, terminal_state_handler: Callable | None = None) -> None:
        """The arguments in Prefect 1's order, so ``Flow("name", schedule)`` works as it did.

        ``run_config`` and ``storage`` are kept but not used: they tell a Prefect server how
        to deploy a flow, and local runs need neither (Prefect 1's ``flow.run`` ignored them
        too)."""
        if not isinstance(name, str) or not name:
            raise FlowValidationError(f"Flow name must be a non-empty string, got {name!r}.")
        self.name = name
        self._tasks: dict[Task, None] = {}
        self.edges: set[Edge] = set()
        self._by_key: dict[tuple[Task, str], Edge] = {}
        self.constants: dict[Task, dict[str, Any]] = {}
        self._slugs: set[str] = set()
        self._reference: list[Task] = []
        self.state_handlers = checked_handlers(f"Flow {name!r}", "flow", state_handlers,
                                               on_failure)
        self.on_failure = on_failure
        self.result = result
        self.executor = executor
        if schedule is not None and not callable(getattr(schedule, "next", None)):
            raise FlowValidationError(
                f"Flow {name!r}: schedule={schedule!r:.60} is not a schedule. Flow's second "
                "argument is the schedule, as in Prefect 1; pass tasks as tasks=[...] and a "
                "schedule such as IntervalSchedule(timedelta(hours=1)).")
        self.schedule = schedule
        self.run_config, self.storage = run_config, storage
        if terminal_state_handler is not None and not callable(terminal_state_handler):
            raise FlowValidationError(
                f"Flow {name!r}: terminal_state_handler={terminal_state_handler!r} must be a "
                "callable handler(flow, state, reference_task_states) -> State or None.")
        self.terminal_state_handler = terminal_state_handler
        self._token: list[contextvars.Token] = []
        self.created: list[Task] = []   # tasks made in the with block (unused ones: a warning)
        for t in tasks or ():
            self.add_task(t)
        for e in edges or ():
            self.add_edge(e.upstream_task, e.downstream_task, key=e.key, mapped=e.mapped,
                          flattened=e.flattened)
        if reference_tasks:
            self.set_reference_tasks(reference_tasks)

    def __repr__(self) -> str:
        return f'<Flow: name="{self.name}">'

    def __iter__(self) -> Iterator[Task]:
        """The tasks, each after its upstream tasks (``sorted_tasks()``)."""
        return iter(self.sorted_tasks())

    @property
    def logger(self) -> Any:
        """``prefect_dask.<flow name>``, as Prefect 1's ``flow.logger`` was ``prefect.<name>``
        (or the logger set with ``flow.logger = ...``)."""
        return self.__dict__.get("_logger") or named_logger(self.name)

    @logger.setter
    def logger(self, value: Any) -> None:
        self.__dict__["_logger"] = value

    # -- context manager ---------------------------------------------------------
    def __enter__(self) -> "Flow":
        self._token.append(push_flow(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        pop_flow(self._token.pop())
        unused = [t for t in getattr(self, "created", ()) if t not in self._tasks]
        self.created = []
        if unused and exc[0] is None and not self._token:
            warnings.warn(
                f"Flow {self.name!r}: tasks were created in its `with` block but never added "
                f"to it: {unused}. Call them on their inputs (task(...)) or add them with "
                "flow.add_task(...); a Parameter is added when a task uses it.",
                UserWarning, stacklevel=2)

    # -- building ------------------------------------------------------------------
    @property
    def tasks(self) -> set[Task]:
        """Every task in the flow (a new set)."""
        return set(self._tasks)

    @property
    def slugs(self) -> dict[Task, str]:
        """Each task's slug (Prefect 1's ``flow.slugs``; here the slug lives on the task)."""
        return {t: t.slug for t in self._tasks}

    def add_task(self, task: Task) -> Task:
        """Add ``task`` (no edges); returns it."""
        if not isinstance(task, Task):
            raise TypeError(
                f"Flow {self.name!r}: add_task() needs a Task, got {task!r}; wrap functions "
                "with @task first."
            )
        if task in self._tasks:
            return task
        if task.slug is None:
            task.slug = self._free_slug(task)
            task.auto_slug = True
        elif task.slug in self._slugs:
            if getattr(task, "auto_slug", False):
                raise FlowValidationError(
                    f"Flow {self.name!r}: task {task.name!r} belongs to another flow, which "
                    f"named it {task.slug!r}, and this flow has a task named so too. Merge "
                    "the other flow with flow.update(other), or add a copy (task.copy()).")
            kind = "Parameter" if isinstance(task, Parameter) else "task with slug"
            raise FlowValidationError(
                f"Flow {self.name!r} already has a {kind} {task.slug!r}; names of Parameters "
                "and explicit task slugs must be unique within a flow."
            )
        self._slugs.add(task.slug)
        self._tasks[task] = None
        if not isinstance(task, (Parameter, Constant)):  # they stay root tasks (Prefect 1)
            for block in open_blocks().values():
                block.add_task(task, self)
        return task

    def _free_slug(self, task: Task, taken: set[str] = frozenset()) -> str:  # type: ignore
        """Prefect 1's slug: name, then the sorted tags, then a count (``add-etl-1``)."""
        prefix = "-".join([task.name, *sorted(task.tags)])
        n = 1
        while f"{prefix}-{n}" in self._slugs or f"{prefix}-{n}" in taken:
            n += 1
        return f"{prefix}-{n}"

    def _reslug(self, task: Task, taken: set[str]) -> None:
        """Give ``task`` (slugged by this flow) a slug free here and in ``taken``."""
        self._slugs.discard(task.slug)
        task.slug = self._free_slug(task, taken)
        self._slugs.add(task.slug)

    def add_edge(self, upstream_task: Any, downstream_task: Task, key: str | None = None,
                 mapped: bool = False, flattened: bool = False,
                 validate: bool | None = None) -> Edge:
        """Make ``upstream_task`` feed ``downstream_task`` (as argument ``key``)."""
        if isinstance(upstream_task, unmapped):
            upstream_task, mapped = upstream_task.value, False
        if isinstance(upstream_task, mapped_arg):
            upstream_task, mapped = upstream_task.value, True
        if isinstance(upstream_task, flatten):
            upstream_task, flattened = upstream_task.value, True
        if isinstance(downstream_task, Parameter):
            raise FlowValidationError(
                f"Flow {self.name!r}: Parameter {downstream_task.name!r} cannot have upstream "
                "tasks; Parameters are the flow's inputs."
            )
        if not isinstance(upstream_task, Task):
            if mapped:
                _check_mappable(upstream_task, downstream_task, key)
            upstream_task = Constant(upstream_task)
        if key is not None and (downstream_task, key) in self._by_key:
            raise FlowValidationError(
                f"Flow {self.name!r}: argument {key!r} of task {downstream_task.name!r} "
                "is already bound; each argument takes one input."
            )
        if validate and key is not None:   # as Prefect 1: validation checks run() takes it
            try:
                inspect.signature(downstream_task.run).bind_partial(**{key: None})
            except TypeError as exc:
                raise TaskBindError(
                    f"Flow {self.name!r}: task {downstream_task.name!r} cannot take argument "
                    f"{key!r} ({exc}); its run() signature is {downstream_task.name}"
                    f"{inspect.signature(downstream_task.run)}. Use one of its arguments as "
                    "the key, or key=None for ordering only.") from None
        edge = Edge(upstream_task, downstream_task, key, mapped, flattened)
        self.add_task(upstream_task)
        self.add_task(downstream_task)
        self.edges.add(edge)
        if key is not None:
            self._by_key[(downstream_task, key)] = edge
        if validate:
            self.validate()
        return edge

    def set_dependencies(self, task: Task, upstream_tasks: Iterable[Any] | None = None,
                         downstream_tasks: Iterable[Task] | None = None,
                         keyword_tasks: dict[str, Any] | None = None, mapped: bool = False,
                         validate: bool | None = None) -> None:
        """Add ``task`` with ordering edges and keyword inputs (tasks or constants)."""
        self.add_task(task)
        for t in upstream_tasks or ():
            self.add_edge(self._input(t), task, mapped=_is_mapped(t, mapped), validate=validate)
        for t in downstream_tasks or ():   # a value becomes a Constant task, as in Prefect 1
            self.add_edge(task, t if isinstance(t, Task) else Constant(t), validate=validate)
        for key, value in (keyword_tasks or {}).items():
            is_mapped = _is_mapped(value, mapped)
            value = self._input(value)
            if isinstance(value, (Task, flatten)) or is_mapped:
                self.add_edge(value, task, key=key, mapped=is_mapped, validate=validate)
            else:
                if key in self.constants.get(task, {}) or (task, key) in self._by_key:
                    raise FlowValidationError(
                        f"Flow {self.name!r}: argument {key!r} of task {task.name!r} is "
                        "already bound; each argument takes one input."
                    )
                self.constants.setdefault(task, {})[key] = value
        if validate:
            self.validate()

    def _input(self, value: Any) -> Any:
        """Unwrap ``unmapped``/``mapped`` and turn task-holding collections into tasks."""
        if isinstance(value, (unmapped, mapped_arg)):
            value = value.value
        if isinstance(value, flatten):
            return flatten(task_or_value(value.value, self))
        return task_or_value(value, self)

    def replace(self, old: Task, new: Any, validate: bool = True) -> None:
        """Put ``new`` (a task, or a value made a Constant) where ``old`` is: its edges, its
        constant arguments and its place among the reference tasks."""
        if old not in self._tasks:
            raise ValueError(f"Flow {self.name!r}: task {old!r} is not in the flow, so it "
                             "cannot be replaced.")
        new = new if isinstance(new, Task) else Constant(new)
        edges = [e for e in self.edges if old in (e.upstream_task, e.downstream_task)]
        for e in edges:
            self.edges.discard(e)
            if e.key is not None:
                self._by_key.pop((e.downstream_task, e.key), None)
        del self._tasks[old]
        self._slugs.discard(old.slug)
        self.add_task(new)
        if old in self.constants:
            self.constants[new] = self.constants.pop(old)
        for e in edges:
            self.add_edge(new if e.upstream_task is old else e.upstream_task,
                          new if e.downstream_task is old else e.downstream_task,
                          key=e.key, mapped=e.mapped, flattened=e.flattened)
        self._reference = [new if t is old else t for t in self._reference]
        if validate:
            self.validate()

    def update(self, flow: "Flow", merge_parameters: bool = False, validate: bool | None = None,
               merge_reference_tasks: bool = False) -> None:
        """Add every task, edge and constant of ``flow`` to this flow.

        ``merge_parameters``: a Parameter of this flow with the name of one of ``flow``'s is
        replaced by it (and the flow is validated).  ``merge_reference_tasks``: ``flow``'s
        reference tasks become reference tasks here too."""
        if merge_parameters:
            validate = True
            theirs = {p.name: p for p in flow.parameters()}
            for p in self.parameters():
                if p.name in theirs and theirs[p.name] is not p:
                    self.replace(p, theirs[p.name], validate=False)
        references = self.reference_tasks() | flow.reference_tasks()
        for t in flow.tasks:
            if t not in self._tasks and t.slug in self._slugs and getattr(t, "auto_slug", False):
                # two flows each slugged a task of the same name: both tasks stay (Prefect 1)
                flow._reslug(t, taken=self._slugs)
            self.add_task(t)
        for e in flow.edges:
            if e not in self.edges:
                self.add_edge(e.upstream_task, e.downstream_task, key=e.key, mapped=e.mapped,
                              flattened=e.flattened)
        for t, consts in flow.constants.items():
            self.constants.setdefault(t, {}).update(consts)
        if merge_reference_tasks:
            self.set_reference_tasks(references)
        if validate:
            self.validate()

    def chain(self, *tasks: Task, validate: bool | None = None) -> list[Edge]:
        """Add ordering edges ``tasks[0] -> tasks[1] -> ...``."""
        return [self.add_edge(a, b, validate=validate) for a, b in zip(tasks, tasks[1:])]

    # -- queries -------------------------------------------------------------------
    def edges_to(self, task: Task) -> set[Edge]:
        return {e for e in self.edges if e.downstream_task is task}

    def edges_from(self, task: Task) -> set[Edge]:
        return {e for e in self.edges if e.upstream_task is task}

    def all_upstream_edges(self) -> dict[Task, set[Edge]]:
        """Each task's incoming edges."""
        out: dict[Task, set[Edge]] = {t: set() for t in self._tasks}
        for e in self.edges:
            out[e.downstream_task].add(e)
        return out

    def all_downstream_edges(self) -> dict[Task, set[Edge]]:
        """Each task's outgoing edges."""
        out: dict[Task, set[Edge]] = {t: set() for t in self._tasks}
        for e in self.edges:
            out[e.upstream_task].add(e)
        return out

    def upstream_tasks(self, task: Task) -> set[Task]:
        return {e.upstream_task for e in self.edges_to(task)}

    def downstream_tasks(self, task: Task) -> set[Task]:
        return {e.downstream_task for e in self.edges_from(task)}

    def root_tasks(self) -> set[Task]:
        """Tasks with no upstream tasks."""
        has_up = {e.downstream_task for e in self.edges}
        return {t for t in self._tasks if t not in has_up}

    def terminal_tasks(self) -> set[Task]:
        """Tasks with no downstream tasks."""
        has_down = {e.upstream_task for e in self.edges}
        return {t for t in self._tasks if t not in has_down}

    def reference_tasks(self) -> set[Task]:
        """The tasks whose states decide the flow's state.

        By default the terminal tasks, where bookkeeping tasks (a resource's init and
        cleanup) do not count: a task whose only downstream tasks are resource cleanups
        (``hides_upstream``) is terminal for this purpose, as in Prefect 1 (a task feeding
        a resource's init is not).
        """
        if self._reference:
            return set(self._reference)
        downs: dict[Task, list[Task]] = {}
        for e in self.edges:
            downs.setdefault(e.upstream_task, []).append(e.downstream_task)
        return {t for t in self._tasks if not t.bookkeeping
                and all(d.hides_upstream for d in downs.get(t, ()))}

    def set_reference_tasks(self, tasks: Iterable[Task]) -> None:
        tasks = list(tasks)
        missing = [t for t in tasks if t not in self._tasks]
        if missing:
            raise FlowValidationError(
                f"Flow {self.name!r}: reference tasks {missing!r} are not in the flow; add "
                "them (call them inside the `with Flow` block) first."
            )
        self._reference = tasks

    def parameters(self) -> set[Parameter]:
        return {t for t in self._tasks if isinstance(t, Parameter)}

    def get_tasks(self, name: str | None = None, slug: str | None = None,
                  tags: Iterable[str] | None = None, task_type: type | None = None) -> list[Task]:
        """The tasks matching every filter given."""
        tags = set(tags or ())
        return [t for t in self._tasks
                if (name is None or t.name == name) and (slug is None or t.slug == slug)
                and tags <= t.tags and (task_type is None or isinstance(t, task_type))]

    def sorted_tasks(self, root_tasks: Iterable[Task] | None = None) -> tuple[Task, ...]:
        """The tasks in an order where every task comes after its upstream tasks; with
        ``root_tasks``, only those tasks and the tasks downstream of them."""
        order = self._sorted()
        if root_tasks is None:
            return order
        keep = set(root_tasks)
        missing = [t for t in keep if t not in self._tasks]
        if missing:
            raise FlowValidationError(
                f"Flow {self.name!r}: sorted_tasks(root_tasks=...) got {missing[0]!r}, which "
                "is not a task of this flow; pass tasks of the flow.")
        downs = self.all_downstream_edges()
        for t in order:   # upstream first, so each task's downstream tasks follow it
            if t in keep:
                keep.update(e.downstream_task for e in downs[t])
        return tuple(t for t in order if t in keep)

    def _sorted(self) -> tuple[Task, ...]:
        ups: dict[Task, set[Task]] = {t: set() for t in self._tasks}
        downs: dict[Task, list[Task]] = {t: [] for t in self._tasks}
        for e in self.edges:
            if e.upstream_task not in ups[e.downstream_task]:
                ups[e.downstream_task].add(e.upstream_task)
                downs[e.upstream_task].append(e.downstream_task)
        waiting = {t: len(u) for t, u in ups.items()}
        ready = [t for t, n in waiting.items() if n == 0]
        order: list[Task] = []
        while ready:
            t = ready.pop()
            order.append(t)
            for d in downs[t]:
                waiting[d] -= 1
                if waiting[d] == 0:
                    ready.append(d)
        if len(order) < len(self._tasks):
            raise CycleError(self._cycle_message({t for t, n in waiting.items() if n > 0}, ups))
        # Prefect 1's order: sweep the tasks (in the order they joined the flow) again and
        # again, taking each whose upstream tasks are all taken.  Sweep p takes task t when
        # every upstream task u was taken in an earlier sweep, or in sweep p before t.
        index = {t: i for i, t in enumerate(self._tasks)}
        sweep: dict[Task, int] = {}
        for t in order:
            sweep[t] = max((sweep[u] + (index[u] > index[t]) for u in ups[t]), default=0)
        return tuple(sorted(order, key=lambda t: (sweep[t], index[t])))

    def _cycle_message(self, stuck: set[Task], ups: dict[Task, set[Task]]) -> str:
        start = next(iter(stuck))
        path, seen = [start], {start}
        while True:
            nxt = next(u for u in ups[path[-1]] if u in stuck)
            if nxt in seen:
                cycle = path[path.index(nxt):] + [nxt]
                break
            path.append(nxt)
            seen.add(nxt)
        names = " <- ".join(repr(t.name) for t in cycle)
        return (f"Flow {self.name!r} has a cycle: {names}. Flows must be acyclic; "
                "remove one of these edges.")

    def validate(self) -> None:
        """Check the flow can run: no cycle, every edge's tasks in the flow, references in it."""
        for e in self.edges:
            for t in (e.upstream_task, e.downstream_task):
                if t not in self._tasks:
                    raise FlowValidationError(
                        f"Flow {self.name!r}: edge {e!r} names task {t.name!r}, which is not "
                        "in the flow; use add_edge() or set_dependencies() to build edges."
                    )
        for t in self._reference:
            if t not in self._tasks:
                raise FlowValidationError(
                    f"Flow {self.name!r}: reference task {t.name!r} is not in the flow.")
        self.sorted_tasks()

    def copy(self) -> "Flow":
        """A new flow with the same tasks and edges."""
        new = Flow(self.name, tasks=self._tasks, edges=self.edges,
                   reference_tasks=self._reference, state_handlers=self.state_handlers,
                   on_failure=self.on_failure, result=self.result, executor=self.executor,
                   schedule=self.schedule, terminal_state_handler=self.terminal_state_handler)
        new.constants = {t: dict(c) for t, c in self.constants.items()}
        return new

    def save(self, fpath: str | None = None) -> str:
        """Write the flow to ``fpath`` (default: ``flows/<name>.prefect`` under the
        prefect_dask home) as results are written: cloudpickle, atomically, with a digest
        (an HMAC with ``PREFECT_DASK_RESULT_KEY``); returns the path."""
        from .results import home, write_value

        path = Path(fpath) if fpath else home() / "flows" / f"{_file_name(self.name)}.prefect"
        write_value(path, self)
        return str(path)

    @classmethod
    def load(cls, fpath: str) -> "Flow":
        """A flow written by ``save``: a path, or the name it was saved under by default.
        A file whose digest does not match is refused before it is unpickled; still, load
        only files you trust, as unpickling runs code."""
        from .results import home, read_value

        path = Path(fpath)
        if not path.is_absolute() and not path.exists():
            path = home() / "flows" / f"{_file_name(fpath)}.prefect"
        try:
            flow = read_value(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"No saved flow at {str(path)!r}; save one with "
                                    "flow.save() first.") from None
        if not isinstance(flow, cls):
            raise TypeError(f"{str(path)!r} holds a {type(flow).__name__}, not a Flow.")
        return flow

    def register(self, *args: Any, **kwargs: Any) -> None:
        """Prefect 1 sent the flow to Prefect Server or Cloud; there is none here."""
        raise NeedsServerError(f"flow.register() (flow {self.name!r})",
                               "run it with flow.run(), `prefect-dask run FILE` or `python -m "
                               "prefect_dask.compat FILE`; a schedule on the flow is followed "
                               "by flow.run()")

    def run_agent(self, *args: Any, **kwargs: Any) -> None:
        """Prefect 1 started an agent for the flow's registered runs; there is none here."""
        raise NeedsServerError(f"flow.run_agent() (flow {self.name!r})",
                               "run the flow with flow.run(); with a schedule it runs at each "
                               "scheduled time")

    def visualize(self, flow_state: State | None = None, filename: str | None = None,
                  format: str = "svg") -> str:
        """The flow as a Graphviz graph, coloured by ``flow_state`` if given (app/visualize.py)."""
        from .app.visualize import visualize

        return visualize(self, flow_state, filename, format)

    # -- running -------------------------------------------------------------------
    def run(self, parameters: dict[str, Any] | None = None, executor: Any = None,
            *, task_states: dict[Task, State] | None = None, context: dict | None = None,
            clock: Any = None, concurrency_limits: dict[str, int] | None = None,
            resume: str | None = None, progress: bool | None = None,
            log_level: str | int | None = None, run_on_schedule: bool | None = None,
            max_runs: int | None = None, state: State | None = None,
            flow_run_name: str | None = None, **kwargs: Any) -> State:
        """Run the flow once and return its final State.

        ``state.result`` maps every task to its final State.  Parameters come from
        ``parameters={...}`` or, as in Prefect 1, from keyword arguments named
        after them.  ``executor`` is an Executor or a name ("local", "threads").
        ``concurrency_limits={"db": 2}`` lets at most 2 runs of tasks tagged "db"
        run at once.  ``task_states={task: State}`` starts from given states (those
        tasks do not run); ``resume=run_id`` (or "last") re-runs only what did not
        succeed in that recorded run, loading its checkpointed results; ``clock``
        replaces the clock retries sleep on.  ``progress`` shows a progress bar
        (default: when stderr is a terminal); ``log_level`` sets the level of the
        ``prefect_dask`` logger (default ``PREFECT_DASK_LOGGING_LEVEL`` or INFO).
        With a ``schedule`` on the flow, the flow runs at each scheduled time (as in
        Prefect 1, unless ``run_on_schedule=False``), at most ``max_runs`` times, with
        the ``parameter_defaults`` of the clock giving each time over ``parameters``; the
        last run's state is returned.  ``state``: the state the run starts from (a
        finished one is returned as it is, nothing runs); ``flow_run_name`` is what tasks
        read as ``context.flow_run_name`` (default: the run id).
        """

        if self._token:
            raise FlowRunContextError(
                f"Flow {self.name!r}: flow.run() was called inside its own `with Flow(...)` "
                "block, before the flow is built. Call it after the block:\n\n"
                f"    with Flow({self.name!r}) as flow:\n        ...\n    flow.run()")

        if state is not None:
            if not isinstance(state, State):
                raise RunArgumentError(
                    f"Flow {self.name!r}: run(state={state!r:.60}) is not a State; pass one "
                    "such as Pending(), or leave it out.")
            if state.is_finished():
                return state
        if flow_run_name is not None:
            context = {**(context or {}), "flow_run_name": flow_run_name}

        if "return_tasks" in kwargs:
            raise RunOptionError(
                f"Flow {self.name!r}: flow.run() takes no return_tasks; the final state "
                "holds every task's state (state.result[task]); pick the ones you need from it.")
        names = {p.name for p in self.parameters()}
        params = dict(parameters or {})
        unknown_kw = sorted(k for k in kwargs if k not in names)
        if unknown_kw:  # a plain TypeError, the type Prefect 1 raised (after the ValueError
            # for missing required parameters, which Prefect 1 checked first)
            resolve_parameters(self, {**params, **{k: v for k, v in kwargs.items() if k in names}})
            raise TypeError(
                f"Flow {self.name!r}: run() got unexpected keyword argument(s) "
                f"{', '.join(map(repr, unknown_kw))}; keyword arguments of run() must name "
                f"the flow's parameters: {sorted(names) or 'none'}."
            )
        params.update(kwargs)

        def once(parameter_defaults: dict | None = None) -> State:
            # a scheduled run's clock may set parameters (over the given ones, as Prefect 1)
            return run_flow(self, {**params, **(parameter_defaults or {})},
                            executor=executor if executor is not None
                            else self.executor, task_states=task_states, extra_context=context,
                            clock=clock, concurrency_limits=concurrency_limits, resume=resume,
                            progress=progress, log_level=log_level)

        if self.schedule is not None and run_on_schedule is not False:
            from .schedules import run_on_schedule as scheduled

            return scheduled(self, self.schedule, max_runs, clock or SystemClock(), once)
        return once()

    def __call__(self, task_args: dict | None = None, **parameters: Any) -> Task:
        """Use this flow as a task of the flow being built: ``result = child(n=3)``.

        The task runs the flow (on the local executor, inside the parent's worker) with
        these parameters (values or tasks); its result is the child flow's final State,
        so ``state.result[task].result[child_task]`` reaches the child's task states.  It
        fails if the child flow fails.
        """
        known = {p.name for p in self.parameters()}
        unknown = sorted(set(parameters) - known)
        if unknown:
            raise RunArgumentError(
                f"Flow {self.name!r} used as a task got unknown parameter(s) "
                f"{', '.join(map(repr, unknown))}; its parameters are: {sorted(known) or 'none'}."
            )
        missing = sorted(p.name for p in self.parameters() if p.required and p.name not in
                         parameters)
        if missing:
            raise RunArgumentError(
                f"Flow {self.name!r} used as a task needs its required parameter(s) "
                f"{', '.join(map(repr, missing))}: call it as {self.name}({missing[0]}=...)."
            )
        return FlowTask(self, **(task_args or {})).bind(**parameters)


class FlowTask(Task):
    """A task that runs a whole flow (a subflow); see ``Flow.__call__``."""

    def __init__(self, flow: Flow, executor: Any = None, **kwargs: Any) -> None:
        self.flow, self.executor = flow, executor
        kwargs.setdefault("name", flow.name)
        super().__init__(**kwargs)

    def run(self, **parameters: Any) -> State:  # type: ignore[override]
        from . import signals

        from .context import context

        state = self.flow.run(parameters=parameters, executor=self.executor or "local",
                              progress=False, clock=context.get("clock"))
        if state.is_failed():
            raise signals.FAIL(f"Subflow {self.flow.name!r} failed: {state.message}",
                               result=state)
        return state
