"""``run_flow``: validate, resolve parameters, compile and execute stage by stage.

The driver does no task work itself except Parameters and Constants, whose
values it already holds.  Everything else runs in graphs on the executor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import datetime
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from .. import executors, signals
from ..store.caching import CacheStore
from ..results import home
from ..errors import ExecutorError, ParameterError, RunArgumentError
from ..executors.base import NodeError
from ..configuration import config
from ..context import context
from ..utilities.dates import DateTime
from ..utilities.logging import Relay, configure_logging
from ..store.records import RunRecorder, find_run
from .console import Progress, summary
from ..states import (Cancelled, Failed, Finished, Mapped, MapStates, Resume, Running,
                      Scheduled, State, Success, through_handlers)
from ..store.targets import check_template, location_template
from ..task import Constant, Parameter, is_helper
from .compile import Layout, build_plans, next_stage, shared_slugs
from .nodes import (SHARED, CollectNode, GraphNode, GroupNode, HeadNode, ParentNode, parent_shell,
                    shared_node)
from .recovery import (EndCrashed, GatherHere, InputLost, RunAgain, Split, WorkerDied,
                       next_action)
from .resume import reuse
from .runner import TASK_RUN_ONLY, RunInfo, SystemClock, TaskPlan, run_task

__all__ = ["run_flow", "run_stage", "resolve_parameters", "final_flow_state"]

logger = logging.getLogger("prefect_dask")
SECRET = "********"


def resolve_parameters(flow: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values for a run: defaults overridden by ``given``; errors name the fix."""
    params = {p.name: p for p in flow.parameters()}
    unknown = sorted(set(given) - set(params))
    if unknown:  # a plain ValueError, the type Prefect 1 raised
        raise ValueError(
            f"Flow {flow.name!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(params)) or 'none'}."
        )
    missing = sorted(n for n, p in params.items() if p.required and n not in given)
    if missing:
        raise ValueError(
            f"Flow {flow.name!r} needs a value for required parameter(s) "
            f"{', '.join(map(repr, missing))}; pass flow.run(parameters={{{missing[0]!r}: ...}})."
        )
    return {n: given.get(n, p.default) for n, p in params.items()}


def _base_context(now: datetime.datetime, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """What every task of the run finds in ``context`` under its own values: the values set
    around ``flow.run`` (``with context(...)``), overridden by ``flow.run(context=...)``, over
    the run's dates (worked out from a given ``date``, if it is a datetime), as in Prefect 1."""
    given = {k: v for k, v in {**context.to_dict(), **(extra or {})}.items()
             if k not in TASK_RUN_ONLY}
    now = given["date"] if isinstance(given.get("date"), datetime.datetime) \
        else DateTime.instance(now)   # Prefect 1's type name (pendulum's DateTime)
    day = datetime.timedelta(days=1)
    return {
        "date": now, "scheduled_start_time": now, "today": now.strftime("%Y-%m-%d"),
        "yesterday": (now - day).strftime("%Y-%m-%d"),
        "tomorrow": (now + day).strftime("%Y-%m-%d"),
        "today_nodash": now.strftime("%Y%m%d"),
        "yesterday_nodash": (now - day).strftime("%Y%m%d"),
        "tomorrow_nodash": (now + day).strftime("%Y%m%d"),
        "checkpointing": config.flows.checkpointing,
        **given,
    }


def final_flow_state(flow: Any, states: Mapping[Any, State]) -> State:
    """Failed if any reference task (a mapped one counts as its children) failed, else Success.

    Still Running if a terminal task did not finish (a ``manual_only`` task paused).
    """

    def classes(tasks: Any) -> set[type]:
        out: set[type] = set()
        for t in tasks:
            s = states[t]
            if not isinstance(s, Mapped):
                out.add(type(s))
            elif isinstance(s.map_states, MapStates):
                out.update(s.map_states.classes())
            else:
                out.update(type(c) for c in s.map_states)
        return out

    if not all(issubclass(c, Finished) for c in classes(flow.terminal_tasks())):
        return Running("Some terminal tasks did not finish (paused or waiting).",
                       result=dict(states))
    key = classes(flow.reference_tasks())
    if any(issubclass(c, Failed) for c in key):
        return Failed("Some reference tasks failed.", result=dict(states))
    if all(issubclass(c, Success) for c in key):
        return Success("All reference tasks succeeded.", result=dict(states))
    return Success("No reference tasks failed.", result=dict(states))


def _terminal_state(flow: Any, state: State) -> State:
    """The flow's ``terminal_state_handler(flow, state, reference_task_states)`` may replace
    the final state (a mapped reference task counts as its children); a raising one fails
    the run."""
    handler = flow.terminal_state_handler
    if handler is None:
        return state
    keys: set[State] = set()
    for t in flow.reference_tasks():
        s = state.result[t]
        keys.update(s.map_states if isinstance(s, Mapped) else (s,))

    def terminal(flow: Any, _old: State, new: State) -> State | None:
        return handler(flow, new, keys)

    terminal.__name__ = getattr(handler, "__name__", "terminal_state_handler")
    try:
        return through_handlers([terminal], flow, state, state)
    except (Exception, signals.PrefectSignal) as exc:
        return Failed(f"Flow {flow.name!r}: its terminal_state_handler raised {exc!r}.",
                      result=exc)


def check_picklable(flow: Any, plans: Mapping[Any, Any], executor: Any,
                    params: Mapping[str, Any], run_context: Mapping[str, Any]) -> None:
    """For executors that ship tasks to other processes: fail now, naming what does not pickle."""
    if not executor.needs_pickle:
        return
    import cloudpickle

    users: dict[Any, list[str]] = {}
    for e in flow.edges:
        users.setdefault(e.upstream_task, []).append(e.downstream_task.name)

    def what_fails(obj: Any) -> str | None:
        try:
            cloudpickle.dumps(obj)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def fail(where: str, what: str, why: str) -> None:
        raise ExecutorError(
            f"Flow {flow.name!r}{where}: {what} cannot be pickled for {executor!r} ({why}). "
            "Tasks and their inputs must pickle to run in other processes: avoid locks, open "
            "files and connections in them (create those inside the task), or use the "
            "'threads' executor.")

    for name, value in params.items():
        why = what_fails(value)
        if why:
            fail("", f"the value of Parameter {name!r}", why)
    for key, value in run_context.items():
        why = what_fails(value)
        if why:
            fail("", f"the context value {key!r} (set around or given to flow.run)", why)
    for t, plan in plans.items():
        if isinstance(t, Parameter):
            continue
        why = what_fails(t)
        if why and isinstance(t, Constant):
            fail(f", task {', '.join(map(repr, users.get(t, [])))}", "the value it maps over", why)
        elif why:
            fail(f", task {t.name!r}", "the task", why)
        for key, value in plan.constants.items():
            why = what_fails(value)
            if why:
                fail(f", task {t.name!r}", f"input {key!r}", why)


def _flow_context(flow: Any, run_id: str, values: Mapping[str, Any],
                  params: Mapping[str, Any]) -> Any:
    """The context flow-level callbacks (state handlers, ``terminal_state_handler``) run in:
    the run's ``values`` (``flow.run(context=...)``, dates...), ``flow_name``,
    ``flow_run_id`` and ``parameters``, as in Prefect 1."""
    return context(**{**values, "flow_name": flow.name, "flow_run_id": run_id,
                      "parameters": dict(params)})


def _flow_transition(flow: Any, old: State, new: State) -> State:
    """Pass a flow transition through the flow's handlers (in ``_flow_context``); a raising
    handler fails the run.  On the Running transition a state signal (``raise
    signals.FAIL``) ends the run in its state, as Prefect 1.4.1's flow runner does; on the
    final one (where Prefect 1 crashes) it fails the run naming the flow, as any other
    error does."""
    try:
        return through_handlers(flow.state_handlers, flow, old, new)
    except (Exception, signals.PrefectSignal) as exc:
        if isinstance(exc, signals.PrefectStateSignal) and isinstance(new, Running):
            return exc.state
        return Failed(f"Unexpected error while calling state handlers: {exc!r} (flow "
                      f"{flow.name!r})", result=exc)


def run_flow(flow: Any, parameters: Mapping[str, Any], executor: Any = None,
             task_states: Mapping[Any, State] | None = None,
             extra_context: Mapping[str, Any] | None = None, clock: Any = None,
             concurrency_limits: Mapping[str, int] | None = None,
             resume: str | None = None, progress: bool | None = None,
             log_level: str | int | None = None) -> State:
    """Run ``flow`` once; see ``Flow.run``.  ``log_level`` holds for this run only."""
    root = logging.getLogger("prefect_dask")
    previous = root.level
    try:
        return _run_flow(flow, parameters, executor, task_states, extra_context, clock,
                         concurrency_limits, resume, progress, configure_logging(log_level))
    finally:
        if log_level is not None:
            root.setLevel(previous)


def _run_flow(flow: Any, parameters: Mapping[str, Any], executor: Any,
              task_states: Mapping[Any, State] | None, extra_context: Mapping[str, Any] | None,
              clock: Any, concurrency_limits: Mapping[str, int] | None, resume: str | None,
              progress: bool | None, level: int) -> State:
    flow.validate()
    order = flow.sorted_tasks()
    plans = build_plans(flow)
    _check_task_states(flow, task_states or {})
    # A given state that is not finished only sets where the task starts: it runs (a Resume
    # state lets a manual_only trigger pass), as in Prefect 1.
    plans.update({t: dataclasses.replace(plans[t], resume=True)
                  for t, s in (task_states or {}).items() if isinstance(s, Resume)})
    # A resource's setup and cleanup (rerun_on_restart) run again unless their given state
    # is Cached: the resource must exist for the tasks that run (Prefect 1).
    given: dict[Any, State] = {t: s for t, s in (task_states or {}).items() if s.is_finished()
                               and (s.is_cached() or not t.rerun_on_restart)}
    record = find_run(resume, flow.name) if resume is not None else None
    if record is not None:  # the recorded run's parameters, but secret ones were never kept
        recorded = {k: v for k, v in (record.get("parameters") or {}).items() if v != SECRET}
        parameters = {**recorded, **parameters}
    params = resolve_parameters(flow, parameters)
    reused = reuse(flow, plans, record, order, params) if record is not None else None
    if reused is not None:
        plans, given = reused.plans, {**reused.states, **given}
    limits = _check_limits(flow, concurrency_limits or {})
    base_context = _base_context(datetime.datetime.now(datetime.timezone.utc), extra_context)
    _check_targets(flow, plans, params, base_context)
    executor = executors.resolve(executor)
    check_picklable(flow, plans, executor, params, base_context)
    run_id = str(uuid.uuid4())
    flow_context = functools.partial(_flow_context, flow, run_id, base_context, params)
    with flow_context():
        state = _flow_transition(flow, Scheduled("Flow run scheduled."), Running("Running flow."))
    if not state.is_running():   # a handler ended the run before it started: no task runs
        return _ended_before_start(flow, run_id, params, _secret_names(flow), executor, state)
    # The record and the progress bar are closed however the run ends (an error in the
    # driver ends the record Failed); the executor stops first.
    with contextlib.ExitStack() as closing:
        with executor:
            secret = _secret_names(flow)
            recorder = closing.enter_context(RunRecorder(
                run_id, flow.name, _kept(params, secret), repr(executor),
                executor.dashboard_link, helpers={plans[t].slug for t in order
                                                  if is_helper(t)}))
            if reused is not None:
                recorder.resumed(record["run_id"], reused.sources)
            bar = closing.enter_context(Progress(flow.name, progress))
            relay = Relay()   # re-emits what task runs logged (a few tracebacks per task)

            raising = bool(context.get("raise_on_exception"))   # see context.raise_on_exception

            def on_node(key: Any, value: Any) -> None:
                relay(value)
                recorder.node(key, value)
                bar.node(key, value)
                if raising:
                    raise_task_exception(value)

            # The run's clock times task runs, retries, cache expiry and validators; the
            # flow run's start is wall time: records and cache entries of different runs
            # (some on a test's clock) are ordered by it.
            info = RunInfo(flow.name, run_id, params, clock or SystemClock(),
                           base_context, started=time.time(),
                           cache=CacheStore(home() / "cache"), flow_result=flow.result,
                           log_level=level, hard_timeouts=executor.needs_pickle,
                           secret_params=frozenset(secret),
                           limits={tag: executor.semaphore(f"{run_id}-{tag}", n)
                                   for tag, n in limits.items()})
            try:
                done = _run_stages(flow, plans, order, info, given, executor, recorder, bar,
                                   on_node)
            except KeyboardInterrupt as interrupt:
                done = interrupt.done   # type: ignore[attr-defined]
                for t in order:
                    if t not in done:
                        done[t] = Cancelled("The flow run was interrupted (Ctrl-C) before this "
                                            "task finished.", task_name=t.name)
                        recorder.node(plans[t].slug, done[t])   # the record shows them too
                final = Cancelled("The flow run was interrupted (Ctrl-C).",
                                  result={t: done[t] for t in order})
                with flow_context():
                    interrupt.flow_state = _flow_transition(  # type: ignore[attr-defined]
                        flow, state, final)
                recorder.end(interrupt.flow_state)  # type: ignore[attr-defined]
                relay.close(run_id)
                raise
            executor.release()   # stages done: free the cluster's copies
        final = final_flow_state(flow, {t: done[t] for t in order})
        with flow_context():
            final = _flow_transition(flow, state, _terminal_state(flow, final))
        recorder.end(final)
    relay.close(run_id)
    logger.info(summary(flow.name, final, {t: done[t] for t in order},
                        time.time() - info.started, run_id))
    return final


def _secret_names(flow: Any) -> set[str]:
    return {p.name for p in flow.parameters() if p.secret}


def _kept(params: Mapping[str, Any], secret: set[str]) -> dict[str, Any]:
    """The parameters as a run record keeps them (a secret one's value never)."""
    return {k: SECRET if k in secret else v for k, v in params.items()}


def _ended_before_start(flow: Any, run_id: str, params: Mapping[str, Any], secret: set[str],
                        executor: Any, state: State) -> State:
    """A flow state handler turned the Running transition into ``state`` (``raise
    signals.FAIL``, a returned Failed...): the run ends in it at once, no task runs and
    the executor never starts, as in Prefect 1.  The run is recorded like any other."""
    with RunRecorder(run_id, flow.name, _kept(params, secret), repr(executor)) as recorder:
        recorder.end(state)
    logger.info("Flow run %r ended %s before any task ran (a flow state handler): %s",
                flow.name, type(state).__name__, state.message)
    return state


def _run_stages(flow: Any, plans: Mapping[Any, TaskPlan], order: tuple, info: RunInfo,
                given: Mapping[Any, State], executor: Any, recorder: Any, bar: Any,
                on_node: Callable[[Any, Any], None]) -> dict[Any, State]:
    """Compile and run stage after stage until every task has its final State.

    On KeyboardInterrupt the States known so far ride on the exception (``.done``)."""
    done: dict[Any, State] = {}
    member_of: dict[str, tuple] = {}   # slug -> (group node key, index), see next_stage
    try:
        done, held, layouts = _start(plans, order, info, given)
        recorder.expect(len(done))
        bar.expect(len(done))
        for t, s in done.items():
            on_node(plans[t].slug, s)
        while len(done) < len(order):
            stage = next_stage(plans, order, done, layouts, executor.workers, member_of)
            if not stage.tasks:
                raise RuntimeError(
                    f"Flow {flow.name!r}: no task could be scheduled although "
                    f"{len(order) - len(done)} remain; this is a prefect_dask bug, "
                    "please report it."
                )
            expected = len(stage.tasks) + sum(lay.width for lay in stage.layouts.values())
            recorder.expect(expected)
            bar.expect(expected)
            member_of.update((slug, (key, i)) for key, node in stage.nodes.items()
                             if isinstance(node, GroupNode)
                             for i, slug in enumerate(node.slugs))
            later = _read_later(plans, order, {*done, *stage.tasks})
            run_stage(executor, stage.nodes, info, held, on_node, stage.annotations,
                      keep=_keys_of(stage.nodes, later, member_of), shared=shared_slugs(plans))
            layouts.update(stage.layouts)
            # children a Head stopped (their parent did not map) never ran: expect none
            unrun = sum(lay.width - sum(len(held[(plans[t].slug, j)]) for j in
                                        range(lay.n_batches))
                        for t, lay in stage.layouts.items())
            if unrun:
                recorder.expect(-unrun)
                bar.expect(-unrun)
            for t in stage.tasks:
                done[t] = held[plans[t].slug]
            # what no later stage reads leaves the cluster
            executor.release(keep=_keys_of(held, later, member_of))
    except KeyboardInterrupt as interrupt:
        interrupt.done = done   # type: ignore[attr-defined]
        raise
    return done


def _read_later(plans: Mapping[Any, TaskPlan], order: tuple, compiled: set[Any]) -> set[str]:
    """The slugs of the tasks whose results tasks not yet ``compiled`` read."""
    return {i.edge.upstream_task.slug for t in order if t not in compiled
            for i in plans[t].inputs}


def _keys_of(keys: Iterable[Any], slugs: set[str],
             member_of: Mapping[str, tuple]) -> set[Any]:
    """The graph keys (a task's slug, its batches ``(slug, j)``, or the group node it ran
    in, see ``member_of``) of the tasks in ``slugs``."""
    groups = {member_of[s][0] for s in slugs if s in member_of}
    return {k for k in keys if k in groups or (k[0] if isinstance(k, tuple) else k) in slugs}


def raise_task_exception(value: Any) -> None:
    """Raise the exception a finished node's task run raised (not a signal), if any."""
    for state in value if isinstance(value, (MapStates, tuple, list)) else (value,):
        if isinstance(state, State) and state.is_failed() \
                and isinstance(state.result, Exception) \
                and not isinstance(state.result, signals.PrefectSignal):
            raise state.result


def _check_targets(flow: Any, plans: Mapping[Any, TaskPlan], params: Mapping[str, Any],
                   run_context: Mapping[str, Any]) -> None:
    """Every ``target`` and result ``location`` template names only fields the task will have."""
    for t, plan in plans.items():
        template = location_template(t, flow.result)
        if isinstance(template, str):
            names = {*params, *run_context, *plan.constants,
                     *(i.key for i in plan.inputs if i.key)}
            check_template(template, f"Flow {flow.name!r}, task {t.name!r}", names,
                           "target" if t.target else "result location")


def _start(plans: Mapping[Any, Any], order: tuple, info: RunInfo,
           task_states: Mapping[Any, State]) -> tuple[dict, dict, dict]:
    """The states known before any graph runs: given ones, Parameters and Constants."""
    done: dict[Any, State] = dict(task_states)
    held: dict[Any, Any] = {}
    layouts: dict[Any, Layout] = {}
    for t, s in done.items():
        held[plans[t].slug] = s
        if isinstance(s, Mapped):  # a given Mapped state: one batch holding its children
            layouts[t] = Layout(len(s.map_states), max(1, len(s.map_states)))
            held[(plans[t].slug, 0)] = tuple(s.map_states)
    for t in order:
        if t not in done and isinstance(t, (Parameter, Constant)) and not plans[t].inputs:
            done[t] = held[plans[t].slug] = run_task(plans[t], info, None, ())
    return done, held, layouts


def _check_task_states(flow: Any, task_states: Mapping[Any, Any]) -> None:
    tasks = flow.tasks
    for t, s in task_states.items():
        if t not in tasks:
            raise RunArgumentError(
                f"Flow {flow.name!r}: task_states has {t!r}, which is not a task of this flow; "
                "key it by the flow's own task objects (flow.get_tasks(name=...) finds them).")
        if not isinstance(s, State):
            raise RunArgumentError(
                f"Flow {flow.name!r}: task_states[{t.name!r}] = {s!r:.60} is not a State; give "
                "one such as Success(result=...) (taken as the task's outcome) or Resume().")


def _check_limits(flow: Any, limits: Mapping[str, int]) -> dict[str, int]:
    for tag, n in limits.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ParameterError(
                f"Flow {flow.name!r}: concurrency_limits[{tag!r}]={n!r} must be an int >= 1 "
                "(the most task runs with that tag that may run at once)."
            )
    return dict(limits)




def run_stage(executor: Any, nodes: Mapping[Any, GraphNode], info: RunInfo, held: dict,
              on_node: Callable[[Any, Any], None] | None = None,
              annotations: Mapping[Any, dict] | None = None,
              keep: Collection[Any] | None = None,
              shared: Collection[str] = ()) -> None:
    """Compute ``nodes`` into ``held``; a node whose worker died holds Crashed states.

    Each round computes the pending nodes as one graph (with the run-wide ``SHARED``
    node, carrying the held States of the ``shared`` slugs); what did not come back goes through the recovery machine (``recovery.py``),
    whose actions make the next round.  A node marked ``alone`` runs in a round of its
    own.  In other processes (``executor.needs_pickle``), a mapped parent that no task reads
    there is gathered on the driver from its batches (no worker holds every child's State);
    one that a task reads runs on the cluster and comes back without its children, which
    the driver has from the batches; only the ``keep`` keys (read by later stages) stay
    on the cluster.
    """
    pending: dict[Any, GraphNode] = dict(nodes)
    keep = set(nodes) if keep is None else set(keep)
    # In other processes, a mapped parent that no node reads there is gathered on the driver
    # from the batches it holds anyway: in a worker it would need every child's State, and
    # its whole upstream, in one place.  (Only a cluster keeps results for later stages.)
    here = (_parents_here(nodes, keep if executor.on_cluster else ())
            if executor.needs_pickle else set())
    while pending:
        now = _next_round(pending)
        later = {k: n for k, n in pending.items() if k not in now}
        gather_here = {k: now.pop(k) for k in here & set(now)}

        def store(key: Any, value: Any,
                  now: Mapping[Any, GraphNode] = {**now, **gather_here}) -> None:
            """Hold a node's value: a mapped parent made whole, a group's States each under
            its task's slug too; report each task's State."""
            node = now[key]
            if isinstance(node, ParentNode):
                value = node.whole(value, held)
            held[key] = value
            if isinstance(node, (CollectNode, HeadNode)):
                return                   # its tasks were reported one by one / not a task run
            pairs = zip(node.slugs, value) if isinstance(node, GroupNode) else [(key, value)]
            for slug, state in pairs:
                held[slug] = state
                if on_node is not None:
                    on_node(slug, state)

        def finished(key: Any, value: Any, now: Mapping[Any, GraphNode] = now) -> None:
            if key in now and not isinstance(value, NodeError):
                store(key, value)

        if not now:
            for key, node in gather_here.items():
                store(key, node.gather(held, info))
            pending = later
            continue
        graph = {k: n.task() for k, n in now.items()}
        graph[SHARED] = shared_node(info, now, {k: held[k] for k in shared})
        deps = set().union(*(t.dependencies for t in graph.values())) - set(graph)
        extra = {} if not executor.on_cluster else {
            "annotations": {k: a for k, a in (annotations or {}).items() if k in now},
            "views": {k: parent_shell for k, n in now.items() if isinstance(n, ParentNode)},
            "keep": keep & set(now),
        }
        out = executor.compute(graph, list(now), {k: held[k] for k in deps},
                               on_result=finished, **extra)
        errors = {k: v for k, v in out.items() if isinstance(v, NodeError)}
        for k, v in out.items():
            if k not in errors and k not in held:
                store(k, v)
        if errors and all(e.crashed_key is None for e in errors.values()):
            first = next(iter(errors.values()))
            raise RuntimeError(f"A graph node raised instead of returning a State: "
                               f"{first.exc!r}. This is a prefect_dask bug, please report it."
                               ) from first.exc
        events = _events(errors, now)
        again: dict[Any, GraphNode] = {}   # nodes to run in the next round
        # Nodes that only gather others go last: they see what the others now hold.
        for key in sorted(errors, key=lambda k: now[k].kind == "gather"):
            node = now[key]
            event = events[key]
            if node.kind == "gather":
                event = dataclasses.replace(event, inputs_held=all(
                    d in held for d in node.task().dependencies if d != SHARED))
            action = next_action(node, event)
            if isinstance(action, RunAgain):
                again[key] = action.node
            elif isinstance(action, Split):
                again.update(action.nodes)
            elif isinstance(action, EndCrashed):
                store(key, action.value)
            elif isinstance(action, GatherHere):
                # a mapped parent gathers its batches (finished or Crashed), a split group
                # its tasks' States: done on the driver, so what finished is kept even if
                # the cluster is gone
                store(key, node.gather(held, info))
        pending = {**again, **later, **gather_here}


def _parents_here(nodes: Mapping[Any, GraphNode], keep: Collection[Any]) -> set:
    """The mapped parents among ``nodes`` that no other node reads and no later stage needs
    on the cluster: ``run_stage`` gathers them on the driver once their inputs are held."""
    read = set().union(*(n.task().dependencies for n in nodes.values()))
    return {k for k, n in nodes.items()
            if isinstance(n, ParentNode) and k not in read and k not in keep}


def _events(errors: Mapping[Any, NodeError],
            now: Mapping[Any, GraphNode]) -> dict[Any, WorkerDied | InputLost]:
    """What happened to each node that did not return (see ``recovery.py``).

    A node whose error names it died with its worker; one whose error names another node
    of this round lost that input.  An error naming a key that is no node of this round
    (the SHARED data, data sent from the driver, an earlier stage's result) means a worker
    died holding what the node reads; no task ran in it, so the nodes that could not run
    because of it are the suspects."""
    own = {e.crashed_key: e for e in errors.values() if e.crashed_key in now}
    elsewhere = Counter(e.crashed_key for e in errors.values()
                        if e.crashed_key is not None and e.crashed_key not in now)
    out: dict[Any, WorkerDied | InputLost] = {}
    for key, err in errors.items():
        if err.crashed_key in elsewhere:
            out[key] = WorkerDied(dataclasses.replace(err, suspects=elsewhere[err.crashed_key]))
        elif key in own:
            out[key] = WorkerDied(err if err.crashed_key == key else own[key])
        else:
            out[key] = InputLost()
    return out


def _next_round(pending: Mapping[Any, GraphNode]) -> dict[Any, GraphNode]:
    """The nodes to compute now: all of ``pending``, but a node marked ``alone`` runs in a
    round of its own, and nothing that reads it runs in the same round as it."""
    if not any(n.alone for n in pending.values()):
        return dict(pending)
    deps = {k: n.task().dependencies for k, n in pending.items()}
    alone = next((k for k, n in pending.items() if n.alone and not deps[k] & pending.keys()),
                 None)
    if alone is not None:
        return {alone: pending[alone]}
    blocked = {k for k, n in pending.items() if n.alone}
    grew = True
    while grew:
        more = {k for k in pending if k not in blocked and deps[k] & blocked}
        blocked |= more
        grew = bool(more)
    return {k: n for k, n in pending.items() if k not in blocked}
