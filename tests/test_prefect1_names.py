"""Prefect 1 names real programs use (issue 12, item 3), each checked against what Prefect
1.4.1 does with the same small program: loggers, ``tags``, ``defaults_from_attrs``,
``as_task``, ``mapped``, ``raise_on_exception``, Flow's positional arguments, iteration and
``sorted_tasks(root_tasks=)``, ``Edge.tasks``, ``flow.run(state=, flow_run_name=)``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import (Edge, Flow, Parameter, Task, as_task, context, defaults_from_attrs,
                          get_logger, mapped, raise_on_exception, signals, tags, task, unmapped)
from prefect_dask.errors import (FlowValidationError, NoFlowContextError, RunArgumentError,
                                 TaskDefinitionError, TaskOptionError)
from prefect_dask.schedules import IntervalSchedule
from prefect_dask.states import Failed, Mapped, Pending, Success
from tasks import inc, one

pickle_by_value(__name__)


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
    assert b.logger.logger is get_logger("Task B")
    assert flow.logger is get_logger("my flow")
    h = Collect()
    b.logger.addHandler(h)          # the Logger's methods are reachable through task.logger
    try:
        b.logger.info("outside a run")
    finally:
        b.logger.removeHandler(h)
    assert h.seen == [("prefect_dask.Task B", "outside a run")]


def test_context_logger_outside_a_run_is_the_package_logger():
    assert context.get("logger") is logging.getLogger("prefect_dask")
    assert context.logger is get_logger()


# -- tags ------------------------------------------------------------------------------

def test_tags_tag_the_tasks_created_or_called_in_the_block():
    with Flow("tagged") as flow:
        with tags("a", "b"):
            r = inc(1)
            with tags("c"):
                s = inc(r)
                made = Task(name="made")
        t = inc(2)
    assert (r.tags, s.tags, made.tags, t.tags, inc.tags) == (
        {"a", "b"}, {"a", "b", "c"}, {"a", "b", "c"}, set(), set())
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

PROGRAM = """import json
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
    assert "INFO - prefect_dask | loaded" in out.stderr.splitlines()[0]   # module-level LOGGER
