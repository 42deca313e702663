"""Prefect 1 names real programs use (issue 12, item 3), each checked against what Prefect
1.4.1 does with the same small program: loggers, ``tags``, ``defaults_from_attrs``,
``as_task``, ``mapped``, ``raise_on_exception``, Flow's positional arguments, iteration and
``sorted_tasks(root_tasks=)``, ``Edge.tasks``, ``flow.run(state=, flow_run_name=)``.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import (Edge, Flow, Parameter, Task, as_task, context, defaults_from_attrs,
                          get_logger, mapped, raise_on_exception, resource_manager, signals, tags,
                          task, triggers, unmapped)
from prefect_dask.errors import (FlowValidationError, NoFlowContextError, RunArgumentError,
                                 TaskDefinitionError, TaskOptionError)
from prefect_dask.store.records import list_runs, read_record
from prefect_dask.results import LocalResult, PrefectResult
from prefect_dask.schedules import (CronClock, DatesClock, IntervalClock, IntervalSchedule,
                                    RRuleClock, Schedule, at_time, between_dates, between_datetimes,
                                    between_times, is_day_of_week, is_month_end, is_month_start,
                                    is_weekday, is_weekend, next_weekday, on_date, on_datetime,
                                    shifted_by)
from prefect_dask.states import (Cached, Cancelling, ClientFailed, Failed, Finished, Looped,
                                 Mapped, Pending, Queued, Retrying, Skipped, State, Submitted,
                                 Success, TimedOut, TriggerFailed)
from prefect_dask.task import DateTimeParameter
from tasks import inc, one

pickle_by_value(__name__)

UTC = datetime.timezone.utc


class Collect(logging.Handler):
    """Keeps (logger name, message, thread of emission) of what it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.name, record.getMessage()))


@task(name="Task A")
def task_a():
    context.get("logger").info("from the context logger")
    return 3


class TaskB(Task):
    def run(self, x):  # type: ignore[override]
        self.logger.info("from self.logger %s", x)
        return x


# -- loggers ---------------------------------------------------------------------------

def test_a_handler_on_get_logger_of_a_task_name_sees_that_tasks_records(any_executor):
    with Flow("custom-logs") as flow:
        TaskB(name="Task B")(task_a())
    handlers = {}
    for t in flow:                      # iterating a flow gives its tasks
        handlers[t.name] = Collect()
        get_logger(t.name).addHandler(handlers[t.name])
    try:
        state = flow.run(executor=any_executor)
    finally:
        for name, h in handlers.items():
            get_logger(name).removeHandler(h)
    assert state.is_successful()
    assert handlers["Task A"].seen == [("prefect_dask.Task A", "from the context logger")]
    assert handlers["Task B"].seen == [("prefect_dask.Task B", "from self.logger 3")]


def test_task_and_flow_loggers_are_named_as_in_prefect_1():
    b = TaskB(name="Task B")
    with Flow("my flow") as flow:
        b(1)
    assert b.logger.name == "prefect_dask.Task B"
    assert b.logger.logger is get_logger("Task B").logger
    assert flow.logger is get_logger("my flow")
    assert flow.logger.logger is logging.getLogger("prefect_dask.my flow")
    h = Collect()
    b.logger.addHandler(h)          # the Logger's methods are reachable through task.logger
    try:
        b.logger.info("outside a run")
    finally:
        b.logger.removeHandler(h)
    assert h.seen == [("prefect_dask.Task B", "outside a run")]


LOGGER = context.get("logger")     # as Prefect 1 programs keep it, at module level
ETL_LOGGER = get_logger("etl")


@task
def uses_module_logger(x):
    LOGGER.info("module logger sees %s", x)
    ETL_LOGGER.warning("etl logger sees %s", x)
    return x


def test_a_task_or_flow_may_set_its_own_logger():
    class Own(Task):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.logger = logging.getLogger("mine")

    assert Own().logger is logging.getLogger("mine")
    flow = Flow("own")
    flow.logger = logging.getLogger("mine.flow")
    assert flow.logger.name == "mine.flow"


def test_context_logger_outside_a_run_is_the_package_logger():
    assert LOGGER is get_logger() and LOGGER.logger is logging.getLogger("prefect_dask")
    assert context.logger is LOGGER and "logger" in context


def test_module_level_loggers_used_in_tasks_log_on_the_driver(any_executor, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")
    with Flow("module-logger") as flow:
        uses_module_logger.map([1, 2])
    assert flow.run(executor=any_executor).is_successful()
    seen = sorted((r.name, r.getMessage(), r.task_name, r.map_index, r.flow_name)
                  for r in caplog.records if " logger sees " in r.getMessage())
    assert seen == [
        ("prefect_dask", "module logger sees 1", "uses_module_logger", 0, "module-logger"),
        ("prefect_dask", "module logger sees 2", "uses_module_logger", 1, "module-logger"),
        ("prefect_dask.etl", "etl logger sees 1", "uses_module_logger", 0, "module-logger"),
        ("prefect_dask.etl", "etl logger sees 2", "uses_module_logger", 1, "module-logger")]


# -- tags ------------------------------------------------------------------------------

def test_tags_tag_the_tasks_created_or_called_in_the_block():
    with Flow("tagged") as flow:
        with tags("a", "b"):
            r = inc(1)
            with tags("c"):
                s = inc(r)
        t = inc(2)
    with tags("a"), tags("c"):
        made = Task(name="made")
    assert (r.tags, s.tags, made.tags, t.tags, inc.tags) == (
        {"a", "b"}, {"a", "b", "c"}, {"a", "c"}, set(), set())
    assert flow.get_tasks(tags=["c"]) == [s]


def test_tags_take_strings():
    with pytest.raises(TaskDefinitionError, match=r"tags\(\) takes tag strings.*tags\(\*names\)"):
        with tags(["a", "b"]):
            pass


def test_tagged_tasks_share_a_concurrency_limit(executor):
    with Flow("limited") as flow:
        with tags("db"):
            r = inc.map([1, 2, 3])
    state = flow.run(executor=executor, concurrency_limits={"db": 1})
    assert state.result[r].result == [2, 3, 4]


# -- defaults_from_attrs, as_task, mapped ----------------------------------------------

class Scaled(Task):
    def __init__(self, factor=2, offset=0, **kwargs):
        self.factor, self.offset = factor, offset
        super().__init__(**kwargs)

    @defaults_from_attrs("factor", "offset")
    def run(self, x, factor=None, offset=None):  # type: ignore[override]
        return x * factor + offset


def test_defaults_from_attrs_fills_what_the_call_leaves_out(executor):
    s = Scaled(factor=10)
    assert (s.run(1), s.run(1, factor=3), s.run(1, 3, 1)) == (10, 3, 4)
    with Flow("defaults") as flow:
        a = s(1)
        b = s(2, offset=5)
        c = Scaled()(x=3, factor=4)
    state = flow.run(executor=executor)
    assert [state.result[t].result for t in (a, b, c)] == [10, 25, 12]


def test_defaults_from_attrs_keeps_an_explicit_none():
    class Echo(Task):
        def __init__(self, v=1, **kwargs):
            self.v = v
            super().__init__(**kwargs)

        @defaults_from_attrs("v")
        def run(self, v=None):  # type: ignore[override]
            return v

    assert (Echo().run(), Echo().run(v=None)) == (1, None)   # as Prefect 1


def test_defaults_from_attrs_misuse_names_the_fix():
    with pytest.raises(TypeError, match=r"run\(\) has no argument 'y'"):
        class Bad(Task):
            @defaults_from_attrs("y")
            def run(self, x=None):  # type: ignore[override]
                return x

    class NoAttr(Task):
        @defaults_from_attrs("x")
        def run(self, x=None):  # type: ignore[override]
            return x

    with pytest.raises(TaskOptionError, match=r"Task 'NoAttr'.*self.x.*set self.x in __init__"):
        NoAttr().run()
    with pytest.raises(TypeError, match=r"as strings"):
        defaults_from_attrs(lambda self: None)


def test_as_task(executor):
    assert as_task(inc) is inc
    const = as_task([1, 2])
    assert const.run() == [1, 2] and repr(as_task(3)) == "<Task: 3>"
    with Flow("as-task") as flow:
        both = as_task([one(), 5])
    assert flow.run(executor=executor).result[both].result == [1, 5]
    with pytest.raises(NoFlowContextError, match=r"inside `with Flow\(...\):` or pass flow="):
        as_task([one, 2])


def test_mapped_annotation_maps_one_argument(any_executor):
    with Flow("annotated") as flow:
        xs = Parameter("xs", default=[1, 2, 3])
        a = inc(mapped(xs))
        b = inc.map(x=mapped(xs))
        total = add_up(mapped(a), unmapped(10))
    assert {(e.key, e.mapped) for e in flow.edges_to(a)} == {("x", True)}
    state = flow.run(executor=any_executor)
    assert isinstance(state.result[a], Mapped)
    assert state.result[a].result == state.result[b].result == [2, 3, 4]
    assert state.result[total].result == [12, 13, 14]


@task
def add_up(x, y):
    return x + y


# -- raise_on_exception ------------------------------------------------------------------

@task
def boom():
    raise ValueError("bad record")


@task
def fail_signal():
    raise signals.FAIL("a signal is not raised")


def test_raise_on_exception_raises_the_task_exception_at_flow_run(any_executor):
    with Flow("debug") as flow:
        inc(boom())
    with raise_on_exception():
        with pytest.raises(ValueError, match="bad record"):
            flow.run(executor=any_executor)
    assert flow.run(executor=any_executor).is_failed()    # outside the block: a state


def test_raise_on_exception_leaves_signals_and_mapped_children(executor):
    with Flow("signals") as flow:
        fail_signal()
    with Flow("children") as mapped_flow:
        add_up.map([1, "a"], unmapped(1))
    with raise_on_exception():
        assert flow.run(executor=executor).is_failed()
        with pytest.raises(TypeError):
            mapped_flow.run(executor=executor)


# -- Flow: positional arguments, iteration, sorted_tasks, edges, run(state=...) ----------

def test_flow_takes_prefect_1_positional_arguments():
    schedule = IntervalSchedule(__import__("datetime").timedelta(hours=1))
    flow = Flow("scheduled", schedule, "threads")
    assert flow.schedule is schedule and flow.executor == "threads"
    flow = Flow("deploy", None, None, "run-config", "storage")
    assert (flow.run_config, flow.storage) == ("run-config", "storage")
    with pytest.raises(FlowValidationError, match=r"Flow 'old': schedule=\[<Task: one>\] is "
                       r"not a schedule.*pass tasks as tasks=\[...\]"):
        Flow("old", [one])


def test_iterating_a_flow_and_sorted_tasks_from_roots():
    with Flow("chain") as flow:
        a = one()
        b = inc(a)
        c = inc(b)
        d = inc(1)
    order = list(flow)
    assert order.index(a) < order.index(b) < order.index(c) and len(order) == 4
    assert flow.sorted_tasks(root_tasks=[b]) == (b, c)
    assert set(flow.sorted_tasks(root_tasks=[a, d])) == {a, b, c, d}
    with pytest.raises(FlowValidationError, match=r"Flow 'chain'.*not a task of this flow"):
        flow.sorted_tasks(root_tasks=[inc])


def test_edge_tasks():
    e = Edge(one, inc, key="x")
    assert e.tasks == {one, inc}


def test_run_from_a_finished_state_runs_nothing(executor, rec):
    @task
    def note():
        rec.add("ran")

    with Flow("given") as flow:
        note()
    given = Success("already done")
    assert flow.run(executor=executor, state=given) is given
    assert rec.items == []
    assert flow.run(executor=executor, state=Pending()).is_successful()
    assert rec.items == ["ran"]
    with pytest.raises(RunArgumentError, match=r"Flow 'given': run\(state='done'\) is not a State"):
        flow.run(state="done")


@task
def run_name():
    return context.flow_run_name, context.flow_run_id


def test_flow_run_name(any_executor):
    with Flow("named") as flow:
        n = run_name()
    name, run_id = flow.run(executor=any_executor, flow_run_name="nightly").result[n].result
    assert name == "nightly" and run_id != "nightly"
    name, run_id = flow.run(executor=any_executor).result[n].result
    assert name == run_id          # without a name, the run id (Prefect 1: a generated name)
    name, _ = flow.run(executor=any_executor, context={"flow_run_name": "ctx"}).result[n].result
    assert name == "ctx"


def test_failed_state_from_run_is_unchanged():
    assert Flow("f").run(state=Failed("no")).message == "no"


# -- an unchanged Prefect 1 program using these names, through Prefect 1's module paths ----

PROGRAM = """import datetime
import json
import logging
import sys

import prefect
from prefect import Flow, Parameter, Task, mapped, tags, task
from prefect.utilities.debug import raise_on_exception
from prefect.utilities.edges import unmapped
from prefect.utilities.logging import get_logger
from prefect.utilities.tasks import as_task, defaults_from_attrs

LOGGER = prefect.context.get("logger")
LOGGER.info("loaded")


class Seen(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class Power(Task):
    def __init__(self, exponent=2, **kwargs):
        self.exponent = exponent
        super().__init__(**kwargs)

    @defaults_from_attrs("exponent")
    def run(self, x, exponent=None):
        self.logger.info("%s ** %s", x, exponent)
        return x ** exponent


@task(name="shift")
def shift(x, by):
    prefect.context.get("logger").info("shift %s", x)
    return x + by


@task
def explode(values):
    raise KeyError("no such key")


with Flow("names-program") as flow:
    xs = Parameter("xs", default=[1, 2, 3])
    with tags("math"):
        squares = Power(name="square")(mapped(xs))
    cubes = Power(exponent=3, name="cube").map(xs)
    shifted = shift(mapped(squares), unmapped(10))
    both = as_task([squares, cubes])

with Flow("exploding") as bad:
    explode([1])

seen = {name: Seen() for name in ("square", "shift")}
for t in flow:
    if t.name in seen:
        get_logger(t.name).addHandler(seen[t.name])
state = flow.run()
out = {
    "flow": type(state).__name__,
    "shifted": state.result[shifted].result,
    "both": state.result[both].result,
    "tags": sorted(squares.tags),
    "cube tags": sorted(cubes.tags),
    "seen square": sorted(seen["square"].messages),
    "seen shift": sorted(seen["shift"].messages),
    "order": [t.name for t in flow.sorted_tasks(root_tasks=[cubes])],
}
try:
    with raise_on_exception():
        bad.run()
except KeyError as exc:
    out["raised"] = repr(exc)
json.dump(out, open(sys.argv[1], "w"), indent=1, sort_keys=True)
"""

# What Prefect 1.4.1 wrote for PROGRAM, but for "seen shift": Prefect 1 logs a mapped child's
# context logger records to ``prefect.shift[0]``..., which a handler on ``get_logger("shift")``
# does not see; here every record of task "shift" goes to ``prefect_dask.shift``.
EXPECTED = {
    "both": [[1, 4, 9], [1, 8, 27]], "cube tags": [], "flow": "Success",
    "order": ["cube", "List"], "raised": "KeyError('no such key')",
    "seen shift": ["shift 1", "shift 4", "shift 9"],
    "seen square": ["1 ** 2", "2 ** 2", "3 ** 2"], "shifted": [11, 14, 19], "tags": ["math"],
}


def test_an_unchanged_prefect_1_program_using_these_names(tmp_path):
    (tmp_path / "program.py").write_text(PROGRAM)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)}
    out = subprocess.run([sys.executable, "-m", "prefect_dask.compat", "program.py", "out.json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == EXPECTED
    # the module-level LOGGER logs from the first line, to stdout as Prefect 1 did
    assert "INFO - prefect_dask | loaded" in out.stdout.splitlines()[0]


# -- signals.RETRY(start_time=, run_count=), TaskTimeoutSignal ---------------------------

def test_retry_runs_again_at_its_start_time_on_the_run_clock(executor, clock, rec):
    @task
    def again():
        rec.add(context.task_run_count)
        if len(rec.items) < 3:
            when = datetime.datetime.fromtimestamp(context.clock.now() + 90, UTC)
            raise signals.RETRY("later", start_time=when, run_count=0)
        return "done"

    with Flow("retry-later") as flow:
        r = again()
    state = flow.run(executor=executor, clock=clock)
    assert state.result[r].result == "done"
    assert rec.items == [1, 1, 1]                 # run_count=0: every attempt is the first
    assert clock.sleeps == [90.0, 90.0]


def test_a_handler_retrying_at_a_datetime_runs_the_task_again(executor, clock, rec):
    # Prefect 1.4.1, same program: the handler's Retrying(start_time=<datetime>) runs the
    # task again and it ends Success; Retrying(...).start_time is a (pendulum) datetime
    # in UTC.  Here the run crashed with a TypeError (start_time was a float timestamp).
    def retry_once(t, old, new):
        if isinstance(new, Failed) and len(rec.items) == 1:
            when = datetime.datetime.fromtimestamp(clock.now() + 30, UTC)
            return Retrying("handler says again", start_time=when)
        return new

    @task(state_handlers=[retry_once])
    def fails_first():
        rec.add("ran")
        if len(rec.items) == 1:
            raise ValueError("first")
        return "ok"

    with Flow("handler-retry") as flow:
        r = fails_first()
    state = flow.run(executor=executor, clock=clock)
    assert state.result[r].result == "ok" and rec.items == ["ran", "ran"]
    assert clock.sleeps == pytest.approx([30.0])
    naive = Retrying(start_time=datetime.datetime(2030, 1, 2, 3, 4)).start_time
    assert naive == datetime.datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    assert Retrying(start_time=60).start_time == datetime.datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    with pytest.raises(TypeError, match=r"Retrying\(start_time='soon'\): give a datetime"):
        Retrying(start_time="soon")


@task
def retry_counting():
    n = context.task_run_count
    if n < 3:
        raise signals.RETRY(start_time=datetime.datetime.now(UTC), run_count=n + 1)
    return n


def test_retry_run_count_sets_the_next_attempt_number(any_executor):
    with Flow("retry-count") as flow:
        r = retry_counting()
    assert flow.run(executor=any_executor).result[r].result == 3     # attempts 1, then 3


def test_retry_start_time_misuse():
    with pytest.raises(TypeError, match=r"RETRY\(start_time='soon'\): give a datetime"):
        signals.RETRY(start_time="soon")
    with pytest.raises(TypeError, match=r"RETRY\(run_count=-1\).*int >= 0"):
        signals.RETRY(run_count=-1)
    naive = datetime.datetime(2026, 1, 1)
    assert signals.RETRY(start_time=naive).state.start_time == naive.replace(tzinfo=UTC)


@task(timeout=datetime.timedelta(milliseconds=500))
def sleeps_too_long():
    import time
    time.sleep(30)


def test_a_timed_out_task_has_a_task_timeout_signal(any_executor):
    with Flow("too-slow") as flow:
        t = sleeps_too_long()
    state = flow.run(executor=any_executor).result[t]
    assert isinstance(state, TimedOut)
    assert isinstance(state.result, signals.TaskTimeoutSignal)
    assert isinstance(state.result, signals.PrefectSignal)
    assert not isinstance(state.result, Exception)   # a BaseException, as in Prefect 1
    assert "timed out after 0.5 s" in str(state.result)


# -- DateTimeParameter ---------------------------------------------------------------------

@task
def show(value):
    return value


def test_datetime_parameter(executor):
    with Flow("dates") as flow:
        day = DateTimeParameter("day")
        maybe = DateTimeParameter("maybe", required=False)
        a, b = show(day), show(maybe)
    state = flow.run(executor=executor, day="2024-05-06T07:08:09+02:00")
    tz = datetime.timezone(datetime.timedelta(hours=2))
    assert state.result[a].result == datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=tz)
    assert state.result[b].result is None
    state = flow.run(executor=executor, day="2024-05-06",
                     maybe=datetime.datetime(2024, 1, 2, 3))
    assert state.result[a].result == datetime.datetime(2024, 5, 6, tzinfo=UTC)
    assert state.result[b].result == datetime.datetime(2024, 1, 2, 3, tzinfo=UTC)
    state = flow.run(executor=executor, day="2024-05-06T01:02:03Z")
    assert state.result[a].result == datetime.datetime(2024, 5, 6, 1, 2, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="required parameter.*'day'"):
        flow.run(executor=executor)


def test_datetime_parameter_that_is_not_a_date_fails_the_parameter(executor):
    with Flow("bad-date") as flow:
        day = DateTimeParameter("day")
        a = show(day)
    state = flow.run(executor=executor, day="next tuesday")
    assert state.is_failed() and isinstance(state.result[a], TriggerFailed)
    assert "DateTimeParameter 'day': 'next tuesday' is not an ISO 8601 date" \
        in state.result[day].message



def test_datetime_parameter_given_a_number_fails_the_parameter(executor):
    """Prefect 1.4.1 failed the Parameter on an int (a date passes through unchanged)."""
    with Flow("int-date") as flow:
        day = DateTimeParameter("day")
        a = show(day)
    state = flow.run(executor=executor, day=5)
    assert isinstance(state.result[day].result, TypeError)
    assert isinstance(state.result[a], TriggerFailed)
    with pytest.raises(TypeError, match=r"DateTimeParameter 'day': got 5 \(int\), which is not "
                                        r"a date and time; pass an ISO 8601 string"):
        raise state.result[day].result
    state = flow.run(executor=executor, day=datetime.date(2024, 1, 2))
    assert state.result[day].result == datetime.date(2024, 1, 2)


def test_datetime_parameter_is_required_even_with_a_default(executor):
    """Prefect 1.4.1's DateTimeParameter(name, default=..., required=True): a default does
    not make it optional (a plain Parameter's does)."""
    with Flow("dated-default") as flow:
        day = DateTimeParameter("day", default="2024-01-01")
        maybe = DateTimeParameter("maybe", default="2024-01-02", required=False)
        a, b = show(day), show(maybe)
    assert day.required and not maybe.required
    with pytest.raises(ValueError, match="required parameter.*'day'"):
        flow.run(executor=executor)
    state = flow.run(executor=executor, day="2024-03-04")
    assert state.result[b].result == datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)


def test_run_dates_and_datetime_parameters_are_named_datetime(executor):
    """Prefect 1 handed out pendulum DateTime objects: context.date,
    scheduled_start_time and a DateTimeParameter's value are datetimes named DateTime."""
    @task
    def kinds(d):
        return [type(d).__name__, type(context.date).__name__,
                type(context.scheduled_start_time).__name__, isinstance(d, datetime.datetime)]

    with Flow("date-kinds") as flow:
        k = kinds(DateTimeParameter("d"))
    state = flow.run(executor=executor, d="2024-01-01")
    assert state.result[k].result == ["DateTime", "DateTime", "DateTime", True]

# -- states: children/parents, _result; PrefectResult ---------------------------------------

def test_state_children_and_parents_options():
    assert Failed.children(include_self=True, names_only=True)[-1] == "Failed"
    assert {"TimedOut", "TriggerFailed"} <= set(Failed.children(names_only=True))
    assert TimedOut.parents(include_self=True, names_only=True) == [
        "Failed", "Finished", "State", "TimedOut"]
    assert Success.children() == [Cached, Mapped, Skipped]
    assert TimedOut.parents() == [Failed, Finished, State]


def test_meta_states_and_cancelling_and_their_predicates():
    # Prefect 1.4.1 (run under /work/oracle):
    #   Submitted()     -> is_submitted, is_meta_state;  Queued() -> is_queued, is_scheduled,
    #   is_meta_state;  ClientFailed() -> is_meta_state only;  Cancelling() -> is_running,
    #   parents ['Running', 'State'];  Submitted.parents(names_only=True) == ['State'] (the
    #   private _MetaState is hidden, also from State.children());
    #   Submitted("m", state=Queued(state=Retrying("r"))).state -> <Retrying: "r">
    preds = ["is_pending", "is_queued", "is_running", "is_finished", "is_scheduled",
             "is_submitted", "is_failed", "is_meta_state"]

    def true(state):
        return [p for p in preds if getattr(state, p)()]

    assert true(Submitted()) == ["is_submitted", "is_meta_state"]
    assert true(Queued()) == ["is_queued", "is_scheduled", "is_meta_state"]
    assert true(ClientFailed(state=Failed())) == ["is_meta_state"]
    assert true(Cancelling()) == ["is_running"]
    assert true(Retrying()) == ["is_pending", "is_scheduled"]
    wrapped = Submitted("m", state=Queued(state=Retrying("r")))
    assert repr(wrapped) == '<Submitted: "m">' and repr(wrapped.state) == '<Retrying: "r">'
    assert Submitted.parents(names_only=True) == ["State"]
    assert Queued.parents(include_self=True, names_only=True) == ["State", "Queued"]
    assert Cancelling.parents(names_only=True) == ["Running", "State"]
    assert not [n for n in State.children(names_only=True) if n.startswith("_")]
    assert {"Submitted", "Queued", "ClientFailed", "Cancelling"} <= set(
        State.children(names_only=True))


def test_retrying_run_count_and_mapped_default_map_states():
    # Prefect 1.4.1: Retrying(run_count=3).run_count == 3; Mapped().map_states == [] and
    # Mapped() == Mapped(map_states=[]); outside a task Retrying().run_count == 1 and
    # Looped().loop_count == 1; inside one, the attempt and iteration running then
    assert Retrying(run_count=3).run_count == 3
    assert Retrying().run_count == 1 and Looped().loop_count == 1
    with context(task_run_count=2, task_loop_count=4):
        assert Retrying().run_count == 2 and Looped().loop_count == 4
    # 1.4.1: equal with the same start_time (each Retrying() without one is "now": unequal)
    t = datetime.datetime(2030, 1, 1, tzinfo=UTC)
    assert Retrying("again", start_time=t, run_count=2) == Retrying(start_time=t, run_count=2) \
        != Retrying(start_time=t, run_count=1)
    assert Mapped().map_states == [] and Mapped().n_map_states == 0
    assert Mapped() == Mapped(map_states=[])


def test_reprs_slugs_and_timeout_read_back_as_prefect_1():
    # Prefect 1.4.1: repr(Parameter("p")) == '<Parameter: p>'; an edge reads
    # '<Edge(key=x, mapped=True, flattened=False): [1, 2] to inc>'; flow.slugs is a dict
    # {task: slug}, a slug being name, sorted tags, count ('add-a-b-1'; a Parameter's is its
    # name); Task(timeout=timedelta(seconds=3)).timeout == 3 (an int)
    @task(tags=["b", "a"])
    def add(x, y):
        return x + y

    with Flow("reprs") as flow:
        p = Parameter("p", default=1)
        m = inc.map([1, 2])
        s = add(p, y=2)
    assert repr(p) == str(p) == "<Parameter: p>"
    assert repr(DateTimeParameter("d")) == "<Parameter: d>"
    (edge,) = flow.edges_to(m)
    assert repr(edge) == "<Edge(key=x, mapped=True, flattened=False): [1, 2] to inc>"
    assert str(Edge(p, s)) == "<Edge(key=None, mapped=False, flattened=False): p to add>"
    assert isinstance(flow.slugs, dict)
    assert flow.slugs[p] == "p" and flow.slugs[s] == "add-a-b-1" and flow.slugs[m] == "inc-1"
    timeout = Task(timeout=datetime.timedelta(seconds=3)).timeout
    assert timeout == 3 and type(timeout) is int
    assert Task(timeout=datetime.timedelta(milliseconds=1500)).timeout == 1.5   # README


def test_timeout_0_means_no_timeout(executor):
    # Prefect 1.4.1: Task(timeout=0) is accepted (.timeout == 0) and the task runs with no
    # timeout, as does timeout=timedelta(0)
    @task(timeout=0)
    def quick():
        return "ran"

    with Flow("no-timeout") as flow:
        q = quick()
        z = quick.copy(timeout=datetime.timedelta(0))()
    state = flow.run(executor=executor)
    assert state.result[q].result == state.result[z].result == "ran"
    assert quick.timeout == 0 and Task(timeout=datetime.timedelta(0)).timeout == 0


def test_edge_key_must_name_an_argument():
    # Prefect 1.4.1: Edge(a, b, key=3) and key="x y" raise ValueError('Key must be a valid
    # identifier (received "3")'); so does a keyword ("class"); key="x" is taken
    a, b = Task(name="a"), Task(name="b")
    for bad in (3, "x y", "class"):
        with pytest.raises(ValueError, match=r"Edge 'a' -> 'b': key .* is not a valid argument "
                                             r"name: pass the name of an argument of run\(\) "
                                             r"of task 'b', or key=None"):
            Edge(a, b, key=bad)
    with pytest.raises(FlowValidationError, match="not a valid argument name"):
        Flow("keys").add_edge(a, b, key="not valid")
    assert Edge(a, b, key="x").key == "x"


def test_copy_with_tags_adds_them():
    # Prefect 1.4.1: @task(tags=["t1"]) inc; inc.copy(tags=["t2"]).tags == {"t1", "t2"};
    # so does task_args=dict(tags=[...]) when calling it in a flow
    @task(tags=["t1"])
    def tagged(x):
        return x

    assert tagged.copy(tags=["t2"]).tags == {"t1", "t2"}
    with Flow("copy-tags") as flow:
        t = tagged(1, task_args=dict(tags=["t3"]))
    assert t.tags == {"t1", "t3"} and flow.slugs[t] == "tagged-t1-t3-1"
    assert tagged.tags == {"t1"}


def test_add_edge_with_validate_checks_run_takes_the_key():
    # Prefect 1.4.1: flow.add_edge(x, y, key="k", validate=True) where y.run(self, a) raises
    # TypeError("got an unexpected keyword argument 'k'"); without validate it is accepted
    # (the run then fails y with that TypeError); key="a" is accepted
    class Takes(Task):
        def run(self, a):
            return a

    x, y = Task(name="x"), Takes(name="y")
    flow = Flow("validated")
    with pytest.raises(TypeError, match=r"Flow 'validated': task 'y' cannot take argument 'k' "
                                        r".*its run\(\) signature is y\(a\)"):
        flow.add_edge(x, y, key="k", validate=True)
    assert not flow.edges   # checked before the edge is added
    with pytest.raises(TypeError, match="cannot take argument 'k'"):
        flow.set_dependencies(y, keyword_tasks=dict(k=x), validate=True)
    assert flow.add_edge(x, y, key="a", validate=True).key == "a"
    Flow("lenient").add_edge(x, Takes(name="z"), key="k")


def test_indexing_by_a_task_names_the_item_by_that_task(executor):
    # Prefect 1.4.1: with d() -> {"a": 1} and k() -> "a", d[k] is <Task: d[k]> and its
    # result is 1; d["a"] is <Task: d['a']>
    @task
    def d():
        return {"a": 1}

    @task
    def k():
        return "a"

    with Flow("getitem") as flow:
        x = d()
        item, literal = x[k()], x["a"]
    assert repr(item) == "<Task: d[k]>" and repr(literal) == "<Task: d['a']>"
    state = flow.run(executor=executor)
    assert state.result[item].result == state.result[literal].result == 1


def test_retry_on_reads_back_as_a_set():
    # Prefect 1.4.1: Task(max_retries=1, retry_delay=..., retry_on=ValueError).retry_on ==
    # {ValueError}; retry_on=[ValueError, KeyError] -> {ValueError, KeyError}
    delay = datetime.timedelta(seconds=1)
    assert Task(max_retries=1, retry_delay=delay, retry_on=ValueError).retry_on == {ValueError}
    assert Task(max_retries=1, retry_delay=delay, retry_on=[ValueError, KeyError]).retry_on \
        == {ValueError, KeyError}


def test_run_states_print_as_prefect_1s(executor):
    # Prefect 1.4.1, same program: the mapped-over list's Constant task ends
    # <Success> (no message: its state is made, not run); print(state.result[m].map_states)
    # prints a list: [<Success: "Task run succeeded.">, <Success: "Task run succeeded.">]
    with Flow("printed") as flow:
        m = inc.map([1, 2])
    state = flow.run(executor=executor)
    (constant,) = flow.upstream_tasks(m)
    assert repr(state.result[constant]) == "<Success>"
    assert state.result[constant].result == [1, 2]
    assert repr(state.result[m].map_states) == (
        '[<Success: "Task run succeeded.">, <Success: "Task run succeeded.">]')
    assert state.result[m].map_states == [Success(result=2), Success(result=3)]


@task(result=PrefectResult())
def as_json():
    return {"rows": [1, 2]}


@task(result=PrefectResult())
def not_json():
    return object()


@task(result=LocalResult())
def on_disk():
    return 7


def test_prefect_result_keeps_the_value_in_the_run_record(any_executor):
    with Flow("json-results") as flow:
        j, d = as_json(), on_disk()
    state = flow.run(executor=any_executor)
    assert state.result[j]._result.value == {"rows": [1, 2]}
    assert state.result[j]._result.location == '{"rows": [1, 2]}'
    assert repr(state.result[j]._result) == "<Result: {'rows': [1, 2]}>"
    assert Path(state.result[d]._result.location).is_file()
    assert Success(result=1)._result.location is None
    (run,) = list_runs()
    assert read_record(run["path"])["tasks"][j.slug]["location"] == '{"rows": [1, 2]}'
    again = flow.run(executor=any_executor, resume="last")   # read back from the record
    assert isinstance(again.result[j], Cached) and again.result[j].result == {"rows": [1, 2]}


def test_prefect_result_that_is_not_json_fails_the_task_naming_it(executor):
    with Flow("not-json") as flow:
        n = not_json()
    state = flow.run(executor=executor).result[n]
    assert state.is_failed()
    assert "Task 'not_json': its result could not be checkpointed: PrefectResult keeps a " \
        "result as JSON" in state.message and "use LocalResult()" in state.message


# -- resource_manager(init_task_kwargs=, ...) and the block's tasks ------------------------

class Counter:
    def __init__(self, start):
        self.start = start

    def setup(self):
        return self.start

    def cleanup(self, resource):
        pass


def test_resource_manager_task_kwargs_and_block_tasks(any_executor):
    manager = resource_manager(
        Counter, init_task_kwargs={"name": "make", "tags": ["res"]},
        setup_task_kwargs={"max_retries": 2},
        cleanup_task_kwargs={"name": "tidy", "trigger": triggers.always_run})
    with Flow("resources") as flow:
        with manager(3) as value:
            out = inc(value)
        block = manager(10)
    assert (block.init_task.name, block.init_task.tags) == ("make", {"res"})
    assert (block.setup_task.name, block.setup_task.max_retries) == ("Counter.setup", 2)
    assert (block.cleanup_task.name, block.cleanup_task.trigger) == ("tidy", triggers.always_run)
    state = flow.run(executor=any_executor)
    assert state.result[out].result == 4 and state.result[block.setup_task].result == 10
    with pytest.raises(TaskDefinitionError, match=r"Resource manager 'Counter': "
                       r"setup_task_kwargs has 'retries', which is not a Task option"):
        resource_manager(Counter, setup_task_kwargs={"retries": 2})


# -- Schedule(clocks=..., filters=...) -----------------------------------------------------

T0 = 1_000_000.0   # the FakeClock's start (Monday 1970-01-12 13:46:40 UTC)


def at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(T0 + seconds, UTC)


def test_schedule_clocks_give_their_parameter_defaults(executor, clock, rec):
    @task
    def greet(who):
        rec.add((clock.now() - T0, who))

    schedule = Schedule(clocks=[
        IntervalClock(datetime.timedelta(minutes=10), start_date=at(0),
                      parameter_defaults={"who": "interval"}),
        DatesClock([at(300)], parameter_defaults={"who": "dates"})])
    with Flow("greetings", schedule) as flow:
        greet(Parameter("who", default="nobody"))
    flow.run(executor=executor, clock=clock, max_runs=4, who="given")
    assert rec.items == [(0, "interval"), (300, "dates"), (600, "interval"), (1200, "interval")]


def test_schedule_filters_and_adjustments():
    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)          # a Thursday
    daily = IntervalClock(datetime.timedelta(days=1), start_date=start)
    assert [d.day for d in Schedule([daily], filters=[is_weekday]).next(4, after=start)] == \
        [1, 2, 5, 6]
    assert [d.day for d in Schedule([daily], filters=[is_weekend]).next(2, after=start)] == [3, 4]
    month_edges = Schedule([daily], or_filters=[is_month_start, is_month_end, on_date(1, 10)],
                           filters=[between_datetimes(start, start + datetime.timedelta(days=40))])
    assert [str(d.date()) for d in month_edges.next(9, after=start)] == [
        "2026-01-01", "2026-01-10", "2026-01-31", "2026-02-01"]
    hourly = IntervalClock(datetime.timedelta(hours=7), start_date=start)
    night = Schedule([hourly], filters=[between_times(datetime.time(20), datetime.time(5))])
    assert [d.hour for d in night.next(4, after=start)] == [0, 21, 4, 1]
    new_year_fridays = Schedule([daily], filters=[between_dates(12, 30, 1, 2),
                                                  is_day_of_week(4)])
    assert [str(d.date()) for d in new_year_fridays.next(2, after=start)] == [
        "2026-01-02", "2027-01-01"]
    only = Schedule([daily], filters=[on_datetime(datetime.datetime(2026, 1, 3))],
                    not_filters=[at_time(datetime.time(1))])
    assert only.next(2, after=start) == [datetime.datetime(2026, 1, 3, tzinfo=UTC)]
    twice = Schedule([daily, IntervalClock(datetime.timedelta(days=2), start_date=start)],
                     adjustments=[lambda d: d + datetime.timedelta(minutes=5)])
    assert [(d.day, d.minute) for d in twice.next(3, after=start)] == [(1, 5), (2, 5), (3, 5)]
    to_monday = Schedule([daily], adjustments=[next_weekday,
                                               shifted_by(datetime.timedelta(hours=9))])
    assert [(d.day, d.hour) for d in to_monday.next(4, after=start)] == [
        (1, 9), (2, 9), (5, 9), (5, 9)]           # Saturday 3rd and Sunday 4th: Monday 5th
    events = Schedule([DatesClock([start], parameter_defaults={"x": 1})]).next(
        1, after=start, return_events=True)
    assert events[0].parameter_defaults == {"x": 1} and events[0] == start


def test_cron_clock_and_prefect_1_interval_schedule_order():
    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    cron = Schedule([CronClock("0 6 * * *", start_date=start, parameter_defaults={"a": 1})])
    assert [d.hour for d in cron.next(2, after=start)] == [6, 6]
    hourly = IntervalSchedule(start, datetime.timedelta(hours=1))     # Prefect 1's order
    assert hourly.next(2, after=start) == [start, start + datetime.timedelta(hours=1)]


def test_rrule_clock():
    from dateutil.rrule import DAILY, MO, WEEKLY, rrule

    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    naive = RRuleClock(rrule(freq=DAILY, count=2, dtstart=datetime.datetime(2026, 1, 1, 9)),
                       parameter_defaults={"n": 1})
    assert Schedule([naive]).next(3, after=start) == [
        datetime.datetime(2026, 1, d, 9, tzinfo=UTC) for d in (1, 2)]   # count=2: then none
    mondays = RRuleClock(rrule(freq=WEEKLY, byweekday=MO, dtstart=start),
                         start_date=datetime.datetime(2026, 2, 1, tzinfo=UTC))
    assert [d.day for d in Schedule([mondays]).next(2, after=start)] == [2, 9]
    with pytest.raises(TaskDefinitionError, match=r"RRuleClock\('daily'\): give a dateutil rrule"):
        RRuleClock("daily")


def test_schedule_misuse_names_the_fix():
    with pytest.raises(TaskDefinitionError, match=r"Schedule\(clocks=...\) needs a list of "
                       r"clocks.*IntervalClock\(timedelta"):
        Schedule([datetime.timedelta(hours=1)])
    with pytest.raises(TaskDefinitionError, match=r"filter or adjustment 'weekdays' is not "
                       "callable"):
        Schedule([IntervalClock(datetime.timedelta(hours=1))], filters=["weekdays"])
    with pytest.raises(TaskDefinitionError, match=r"IntervalClock\(interval=5\) needs a "
                       r"positive datetime.timedelta"):
        IntervalClock(5)
    with pytest.raises(TaskDefinitionError, match=r"DatesClock: '2026-01-01' is not a datetime"):
        DatesClock(["2026-01-01"])


# -- names Prefect 1.4.1 serves that programs import (ConstantResult, NoResult, DotDict,
#    engine.runner.ENDRUN, utilities.tasks.pause_task) ------------------------------------

def test_constant_result_and_no_result_as_prefect_1():
    from prefect_dask.engine.result import NoResult, NoResultType
    from prefect_dask.engine.results import ConstantResult
    from prefect_dask.engine.results.constant_result import ConstantResult as same
    # 1.4.1: <ConstantResult: 5> 5 None True 5 True / ValueError on write / True False
    c = ConstantResult(value=5)
    assert same is ConstantResult
    assert (repr(c), c.value, c.location, c.exists("anything")) == ("<ConstantResult: 5>", 5,
                                                                     None, True)
    assert c.read("x") is c and c.read("x").value == 5
    with pytest.raises(ValueError, match="ConstantResult holds one fixed value.*LocalResult"):
        c.write(3)
    assert c == ConstantResult(value=5) and c != ConstantResult(value=6)
    # 1.4.1: <NoResultType: None> None None, and NoResultType() == NoResult
    assert (repr(NoResult), NoResult.value, NoResult.location) == ("<NoResultType: None>",
                                                                   None, None)
    assert NoResultType() == NoResult and isinstance(NoResult, NoResultType)


def test_dot_dict_reads_and_writes_keys_as_attributes():
    from prefect_dask.utilities.collections import DotDict
    # 1.4.1: <DotDict: 'a', 'b'> 1 {'c': 2}; d.x = 3 -> d['x'] == 3; <DotDict> when empty
    d = DotDict({"a": 1}, b={"c": 2})
    assert (repr(d), d.a, d.b) == ("<DotDict: 'a', 'b'>", 1, {"c": 2})
    d.x = 3
    assert d["x"] == 3 and d.get("zz") is None and list(d) == ["a", "b", "x"] and len(d) == 3
    with pytest.raises(AttributeError):
        d.nope
    del d["x"]
    assert d == {"a": 1, "b": {"c": 2}} and type(d.copy()) is DotDict
    # 1.4.1: {'a': [{'x': 1}], 'b': {'c': ({'y': 2},)}}
    nested = DotDict(a=[DotDict(x=1)], b=DotDict(c=(DotDict(y=2),)))
    assert nested.to_dict() == {"a": [{"x": 1}], "b": {"c": ({"y": 2},)}}
    assert repr(DotDict()) == "<DotDict>"


def test_engine_runner_endrun_is_the_signal():
    from prefect_dask.engine.runner import ENDRUN
    assert ENDRUN is signals.ENDRUN     # 1.4.1: True


@task
def gate(x):
    from prefect_dask.utilities.tasks import pause_task
    if x:
        pause_task("wait for me")
    else:
        pause_task(duration=datetime.timedelta(hours=1))
    return x + 1


def test_pause_task_pauses_until_resumed(executor):
    from prefect_dask.states import Paused, Resume
    with Flow("pause-task") as flow:
        a, b = gate(1), gate(0)
    # 1.4.1 (FlowRunner.run): Paused 'wait for me' start_time None; Paused 'Pause signal
    # raised during task execution.' with a start_time; then with Resume(): Success 2 and 1
    state = flow.run(executor=executor)
    pa, pb = state.result[a], state.result[b]
    assert isinstance(pa, Paused) and (pa.message, pa.start_time) == ("wait for me", None)
    assert pb.message == "Pause signal raised during task execution."
    assert pb.start_time > datetime.datetime.now(UTC) + datetime.timedelta(minutes=59)
    again = flow.run(executor=executor, task_states={a: Resume(), b: Resume()})
    assert (again.result[a].result, again.result[b].result) == (2, 1)


# -- Scheduled()/Retrying() without start_time: now, as in Prefect 1.4.1 --------------------

def test_scheduled_states_built_without_start_time_start_now():
    from prefect_dask.states import Paused, Resume, Scheduled
    # 1.4.1: Scheduled(), Retrying(), Resume(), Queued() -> now (aware, UTC offset 0);
    # Paused() -> None; two Scheduled() made apart are not equal
    before = datetime.datetime.now(UTC)
    for cls in (Scheduled, Retrying, Resume, Queued):
        when = cls().start_time
        assert when.utcoffset() == datetime.timedelta(0)
        assert before <= when <= datetime.datetime.now(UTC), cls
    assert Paused().start_time is None
    first = Scheduled(start_time=before - datetime.timedelta(seconds=1))
    assert first != Scheduled()


def test_a_handler_returning_retrying_without_start_time_retries_at_once(executor, clock, rec):
    # 1.4.1, same program: the handler's Retrying() (start_time now) runs the task again
    # at once and it ends Success 'ok' after 2 runs
    def again(t, old, new):
        if isinstance(new, Failed) and len(rec.items) == 1:
            return Retrying("handler says again")
        return new

    @task(state_handlers=[again])
    def flaky():
        rec.add("ran")
        if len(rec.items) == 1:
            raise ValueError("first")
        return "ok"

    with Flow("retry-now") as flow:
        r = flaky()
    state = flow.run(executor=executor, clock=clock)    # now on the run's (fake) clock
    assert state.result[r].result == "ok" and rec.items == ["ran", "ran"]
    assert not any(clock.sleeps)
    rec.items.clear()
    assert flow.run(executor=executor).result[r].result == "ok"   # the wall clock


# -- state constructors' positional arguments, in each class's Prefect 1.4.1 order ---------

def test_state_constructors_take_prefect_1_positional_arguments():
    from prefect_dask.states import Cached, Looped, Paused, Scheduled
    t = datetime.datetime(2030, 1, 1)
    # 1.4.1: 2030-01-01 00:00:00+00:00 4 {'a': 1}
    assert Scheduled("m", 3, t).start_time == t.replace(tzinfo=UTC)
    r = Retrying("m", 3, t, None, {"a": 1}, 4)
    assert (r.start_time, r.run_count, r.context) == (t.replace(tzinfo=UTC), 4, {"a": 1})
    # 1.4.1: 2030-01-01 00:00:00 (naive there; here UTC, as every start_time) 5 1
    assert Queued("m", None, Scheduled(), t).start_time == t.replace(tzinfo=UTC)
    assert Looped("x", 1, 5).loop_count == 5
    assert Mapped("m", None, [Success()]).n_map_states == 1
    # 1.4.1: {'k': 1} {'x': 1} None {'p': 1} <Scheduled>
    assert Success("m", 1, {"k": 1}).context == {"k": 1}
    assert Failed("m", None, {"x": 1}).cached_inputs == {"x": 1}
    assert Paused("m", None, None).start_time is None
    assert Cached("m", 1, None, {"p": 1}).cached_parameters == {"p": 1}
    assert repr(Submitted("m", None, Scheduled()).state) == "<Scheduled>"
    # 1.4.1: TypeError, "takes from 1 to 5 positional arguments but 6 were given"
    with pytest.raises(TypeError, match=r"Success\(\) takes message, result and at most 2 "
                                        r"more.*\(context, cached_inputs\).*by keyword"):
        Success("m", 1, {}, {}, 5)
    with pytest.raises(TypeError, match=r"Scheduled\(\) got 'start_time' both by position "
                                        "and by keyword"):
        Scheduled("m", 1, t, start_time=t)
