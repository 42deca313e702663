"""Looping, resource managers, subflows, schedules and async tasks (issue 6).

LOOP follows what Prefect 1.4.1 was observed to do (``/tmp/prefect1_facts.md``
Q10, and a run of the oracle for LOOP with retries): the loop result chains
through ``context.task_loop_result``; ``task_loop_count`` is absent on the
first iteration, then 2, 3, ...; ``task_run_count`` restarts at 1 on each
iteration; handlers see ``Pending -> Running -> Looped "Task is looping (N)"``
per iteration; a failed iteration is retried with the same loop context.
``resource_manager`` follows ``prefect.tasks.core.resource_manager``.  Subflows,
schedules and ``async def`` tasks are beyond Prefect 1 (see the README).
Every run uses the in-process executors and, where time matters, the fake clock.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from datetime import timedelta

import pytest

from prefect_dask import (CronSchedule, Flow, IntervalSchedule, Parameter, context,
                          resource_manager, signals, task, unmapped)
from prefect_dask.store.records import list_runs
from prefect_dask.states import (Failed, Looped, Mapped, Skipped, Success, TriggerFailed)

UTC = datetime.timezone.utc


def recording_handler(rec):
    def handler(task, old, new):
        rec.add((context.get("map_index"), type(old).__name__, type(new).__name__, new.message))
        return new

    return handler


@task
def ident(x):
    return x


# -- LOOP ---------------------------------------------------------------------------

def test_loop_chains_results_through_the_context(executor, rec):
    @task(state_handlers=[recording_handler(rec)])
    def count_up():
        n = context.get("task_loop_result", 0)
        rec.add(("ctx", context.get("task_loop_result"), context.get("task_loop_count"),
                 context.get("task_run_count"), "task_loop_count" in context))
        if n < 3:
            raise signals.LOOP(result=n + 1)
        return n

    with Flow("loop") as flow:
        r = count_up()
        after = ident(r)
    state = flow.run(executor=executor)

    assert isinstance(state, Success)
    assert type(state.result[r]) is Success
    assert state.result[r].message == "Task run succeeded."
    assert state.result[r].result == 3
    assert state.result[after].result == 3
    ctx = [item[1:] for item in rec.items if item[0] == "ctx"]
    assert ctx == [(None, None, 1, False), (1, 2, 1, True), (2, 3, 1, True), (3, 4, 1, True)]


def test_loop_handler_transitions_follow_prefect1(executor, rec):
    """Q10: Pending->Running, Running->Looped "Task is looping (N)", repeated; then Success."""
    looped = []

    def keep_looped(task, old, new):
        if isinstance(new, Looped):
            looped.append((new.loop_count, new.result))
        return new

    @task(state_handlers=[recording_handler(rec), keep_looped])
    def count_up():
        n = context.get("task_loop_result", 0)
        if n < 3:
            raise signals.LOOP(result=n + 1)
        return n

    with Flow("loop-handlers") as flow:
        count_up()
    flow.run(executor=executor)
    assert rec.items == [
        (None, "Pending", "Running", "Starting task run."),
        (None, "Running", "Looped", "Task is looping (1)"),
        (None, "Pending", "Running", "Starting task run."),
        (None, "Running", "Looped", "Task is looping (2)"),
        (None, "Pending", "Running", "Starting task run."),
        (None, "Running", "Looped", "Task is looping (3)"),
        (None, "Pending", "Running", "Starting task run."),
        (None, "Running", "Success", "Task run succeeded."),
    ]
    assert looped == [(1, 1), (2, 2), (3, 3)]


def test_loop_message_is_kept(executor, rec):
    @task(state_handlers=[recording_handler(rec)])
    def once():
        if context.get("task_loop_count") is None:
            raise signals.LOOP(message="iter 1", result="first")
        return context.task_loop_result

    with Flow("loop-msg") as flow:
        r = once()
    state = flow.run(executor=executor)
    assert state.result[r].result == "first"
    assert (None, "Running", "Looped", "iter 1") in rec.items


def test_loop_with_retries_retries_the_failed_iteration(executor, rec, clock):
    """Observed in Prefect 1.4.1: the retried iteration keeps its loop context, runs with
    task_run_count 2, and the next iteration starts again at task_run_count 1."""

    @task(max_retries=2, retry_delay=timedelta(0), state_handlers=[recording_handler(rec)])
    def flaky_loop():
        n = context.get("task_loop_result", 0)
        rec.add(("ctx", n, context.get("task_loop_count"), context.task_run_count))
        if n == 2 and context.task_run_count == 1:
            raise ValueError("flaky")
        if n < 3:
            raise signals.LOOP(result=n + 1)
        return n

    with Flow("loop-retry") as flow:
        r = flaky_loop()
    state = flow.run(executor=executor, clock=clock)
    assert state.result[r].result == 3
    assert type(state.result[r]) is Success
    assert [i[1:] for i in rec.items if i[0] == "ctx"] == [
        (0, None, 1), (1, 2, 1), (2, 3, 1), (2, 3, 2), (3, 4, 1)]
    assert [i[1:] for i in rec.items if i[0] != "ctx"] == [
        ("Pending", "Running", "Starting task run."),
        ("Running", "Looped", "Task is looping (1)"),
        ("Pending", "Running", "Starting task run."),
        ("Running", "Looped", "Task is looping (2)"),
        ("Pending", "Running", "Starting task run."),
        ("Running", "Failed", "Error during execution of task: ValueError('flaky')"),
        ("Failed", "Retrying", "Retrying Task (after attempt 1 of 3)"),
        ("Retrying", "Running", "Starting task run."),
        ("Running", "Looped", "Task is looping (3)"),
        ("Pending", "Running", "Starting task run."),
        ("Running", "Success", "Task run succeeded."),
    ]


def test_an_exception_in_a_later_iteration_fails_the_task(executor):
    @task
    def breaks_on_two():
        n = context.get("task_loop_result", 0)
        if n == 2:
            raise ValueError("two")
        raise signals.LOOP(result=n + 1)

    with Flow("loop-fail") as flow:
        r = breaks_on_two()
        after = ident(r)
    state = flow.run(executor=executor)
    assert type(state.result[r]) is Failed
    assert state.result[r].message == "Error during execution of task: ValueError('two')"
    assert type(state.result[after]) is TriggerFailed
    assert isinstance(state, Failed)


def test_loop_in_mapped_children(executor, rec):
    @task(state_handlers=[recording_handler(rec)])
    def count_to(n):
        i = context.get("task_loop_result", 0)
        rec.add(("ctx", context.map_index, i, context.get("task_loop_count"),
                 context.task_full_name))
        if i < n:
            raise signals.LOOP(result=i + 1)
        return (context.map_index, i)

    with Flow("loop-map") as flow:
        r = count_to.map([0, 2, 3])
    state = flow.run(executor=executor)
    parent = state.result[r]
    assert isinstance(parent, Mapped)
    assert [type(s) for s in parent.map_states] == [Success, Success, Success]
    assert parent.result == [(0, 0), (1, 2), (2, 3)]
    ctx = [i[1:] for i in rec.items if i[0] == "ctx"]
    for idx, n in enumerate([0, 2, 3]):
        mine = [c[1:] for c in ctx if c[0] == idx]
        assert mine == [(k, None if k == 0 else k + 1, f"count_to[{idx}]") for k in range(n + 1)]
        looped = [i[3] for i in rec.items if i[0] == idx and i[2] == "Looped"]
        assert looped == [f"Task is looping ({k})" for k in range(1, n + 1)]


def test_loop_without_result_loops_on_the_signal_repr(executor, rec):
    # Prefect 1.4.1, same program: the loop runs on, each next iteration reading the LOOP's
    # repr as task_loop_result: None, "LOOP('again 1')", "LOOP('again 2')"; then Success
    @task
    def counts_to_three():
        rec.add(context.get("task_loop_result"))
        n = context.get("task_loop_count", 1)
        if n < 3:
            raise signals.LOOP(f"again {n}")
        return "done"

    with Flow("loop-no-result") as flow:
        r = counts_to_three()
    state = flow.run(executor=executor)
    assert state.result[r].is_successful() and state.result[r].result == "done"
    assert rec.items == [None, "LOOP('again 1')", "LOOP('again 2')"]


# -- resource_manager -----------------------------------------------------------------

def connection_manager(rec, fail_setup=False):
    @resource_manager
    class Conn:
        def __init__(self, name):
            rec.add(("init", name))
            self.name = name

        def setup(self):
            rec.add("setup")
            if fail_setup:
                raise RuntimeError("no connection")
            return f"conn-{self.name}"

        def cleanup(self, conn):
            rec.add(("cleanup", conn))

    return Conn


def by_name(state):
    return {t.name: s for t, s in state.result.items()}


def test_resource_manager_setup_block_cleanup_order(executor, rec):
    @task
    def use(conn, i):
        rec.add(("use", conn, i))
        return i

    Conn = connection_manager(rec)
    with Flow("resource") as flow:
        with Conn("db") as conn:
            a = use(conn, 1)
            b = use(conn, 2)
            c = ident(a)
    state = flow.run(executor=executor)
    assert isinstance(state, Success)
    items = rec.items
    assert items[:2] == [("init", "db"), "setup"]
    assert sorted(items[2:4]) == [("use", "conn-db", 1), ("use", "conn-db", 2)]
    assert items[4:] == [("cleanup", "conn-db")]
    states = by_name(state)
    assert states["Conn.setup"].result == "conn-db"
    assert type(states["Conn.cleanup"]) is Success
    assert state.result[c].result == 1
    cleanup = next(t for t in flow.tasks if t.name == "Conn.cleanup")
    assert {a, b, c} - flow.upstream_tasks(cleanup) == {a}   # only the block's last tasks


def test_cleanup_runs_after_a_failing_task_in_the_block(executor, rec):
    @task
    def boom(conn):
        rec.add("boom")
        raise ValueError("boom")

    Conn = connection_manager(rec)
    with Flow("resource-fail") as flow:
        with Conn("db") as conn:
            b = boom(conn)
    state = flow.run(executor=executor)
    assert rec.items == [("init", "db"), "setup", "boom", ("cleanup", "conn-db")]
    states = by_name(state)
    assert type(states["boom"]) is Failed
    assert type(states["Conn.cleanup"]) is Success


@pytest.mark.parametrize("fail_setup", [False, True], ids=["task-fails", "setup-fails"])
def test_a_failure_in_the_block_fails_the_flow(executor, rec, fail_setup):
    @task
    def maybe_boom(conn):
        raise ValueError("boom")

    Conn = connection_manager(rec, fail_setup=fail_setup)
    with Flow("resource-flow-state") as flow:
        with Conn("db") as conn:
            (ident if fail_setup else maybe_boom)(conn)
    state = flow.run(executor=executor)
    assert isinstance(state, Failed)
    assert state.message == "Some reference tasks failed."


def test_cleanup_is_skipped_when_setup_fails(executor, rec):
    @task
    def use(conn):
        rec.add("use")

    Conn = connection_manager(rec, fail_setup=True)
    with Flow("resource-setup-fails") as flow:
        with Conn("db") as conn:
            u = use(conn)
    state = flow.run(executor=executor)
    assert rec.items == [("init", "db"), "setup"]            # neither the block nor cleanup ran
    states = by_name(state)
    assert type(states["Conn.setup"]) is Failed
    assert "RuntimeError('no connection')" in states["Conn.setup"].message
    assert type(state.result[u]) is TriggerFailed
    assert type(states["Conn.cleanup"]) is Skipped
    assert states["Conn.cleanup"].message == "Resource manager setup failed"


def test_resource_init_arguments_may_be_tasks(executor, rec):
    @task
    def use(conn):
        return conn.upper()

    Conn = connection_manager(rec)
    with Flow("resource-args") as flow:
        with Conn(ident(Parameter("name"))) as conn:
            u = use(conn)
    state = flow.run(parameters={"name": "warehouse"}, executor=executor)
    assert state.result[u].result == "CONN-WAREHOUSE"
    assert rec.items[-1] == ("cleanup", "conn-warehouse")


def test_a_parameter_first_used_inside_a_resource_block(executor, rec):
    @task
    def use(conn, x):
        return (conn, x)

    Conn = connection_manager(rec)
    with Flow("resource-param") as flow:
        with Conn("db") as conn:
            u = use(conn, Parameter("x"))
    state = flow.run(parameters={"x": 1}, executor=executor)
    assert state.result[u].result == ("conn-db", 1)


def test_resource_manager_outside_a_flow_is_an_error(rec):
    Conn = connection_manager(rec)
    with pytest.raises(ValueError, match=r"'Conn' was used outside a flow.*with Flow"):
        Conn("db")


def test_a_resource_class_without_setup_gets_no_setup_task(executor, rec):
    """Prefect 1.4.1: no setup task, the block gives None, cleanup gets resource=None."""
    @resource_manager
    class Scratch:
        def __init__(self, n):
            self.n = n

        def cleanup(self, resource):
            rec.add(("cleanup", self.n, resource))

    with Flow("resource-no-setup") as flow:
        with Scratch(3) as nothing:
            u = ident(5)
    assert nothing is None
    assert sorted(t.name for t in flow.tasks) == ["Scratch", "Scratch.cleanup", "ident"]
    state = flow.run(executor=executor)
    assert state.is_successful() and state.result[u].result == 5
    assert rec.items == [("cleanup", 3, None)]


def test_a_resource_class_without_cleanup_fails_its_cleanup_task_clearly(executor):
    @resource_manager
    class Leaky:
        def setup(self):
            return "r"

    with Flow("resource-no-cleanup") as flow:
        with Leaky() as r:
            u = ident(r)
    state = flow.run(executor=executor)
    cleanup = by_name(state)["Leaky.cleanup"]
    assert type(cleanup) is Failed and isinstance(cleanup.result, AttributeError)
    with pytest.raises(AttributeError, match=r"'Leaky.cleanup': Leaky has no cleanup\(resource\) "
                                             r"method; define one"):
        raise cleanup.result
    assert state.is_successful() and state.result[u].result == "r"   # cleanup is bookkeeping


def test_a_resource_is_not_checkpointed_with_a_flow_result(executor, tmp_path):
    """Prefect 1 gives setup and cleanup checkpoint=False: a flow-level result does not try
    to write a resource that cannot be pickled (a lock, a connection)."""
    import threading

    from prefect_dask import LocalResult

    @resource_manager
    class Locked:
        def setup(self):
            return threading.Lock()

        def cleanup(self, lock):
            pass

    @task
    def kind(x):
        return type(x).__name__

    with Flow("resource-checkpoint", result=LocalResult(dir=str(tmp_path))) as flow:
        with Locked() as lock:
            k = kind(lock)
    state = flow.run(executor=executor)
    assert state.is_successful(), state.message
    assert state.result[k].result == "lock"


# -- subflows -----------------------------------------------------------------------

@task
def double(x):
    return 2 * x


@task
def fail_if(x, bad):
    if x == bad:
        raise ValueError(f"bad value {x}")
    return x


def child_flow():
    with Flow("child") as child:
        n = Parameter("n")
        bad = Parameter("bad", default=None)
        doubled = double.map(fail_if.map(Parameter("xs", default=[1, 2]), unmapped(bad)))
        total = double(n)
    return child, doubled, total


def test_subflow_takes_parameters_from_tasks_and_nests_its_states(executor):
    child, doubled, total = child_flow()
    with Flow("parent") as parent:
        n = ident(Parameter("m"))
        sub = child(n=n, xs=ident([5, 6]))
        after = ident(sub)

    state = parent.run(parameters={"m": 21}, executor=executor)
    assert isinstance(state, Success)
    child_state = state.result[sub].result
    assert isinstance(child_state, Success)
    assert child_state.result[total].result == 42
    assert child_state.result[doubled].result == [10, 12]
    assert [s.result for s in child_state.result[doubled].map_states] == [10, 12]
    assert state.result[after].result is child_state
    assert state.result[sub].task_name == "child"


def test_a_failing_child_flow_fails_the_flow_task(executor):
    child, doubled, total = child_flow()
    with Flow("parent-fails") as parent:
        sub = child(n=1, bad=2)
        after = ident(sub)
    state = parent.run(executor=executor)
    assert isinstance(state, Failed)
    sub_state = state.result[sub]
    assert type(sub_state) is Failed
    assert sub_state.message == "Subflow 'child' failed: Some reference tasks failed."
    child_state = sub_state.result
    assert isinstance(child_state, Failed)
    children = child_state.result[doubled].map_states
    assert [type(s) for s in children] == [Success, TriggerFailed]
    assert type(state.result[after]) is TriggerFailed


def test_subflow_with_an_unknown_parameter_names_the_known_ones():
    child, _, _ = child_flow()
    with Flow("parent-bad"):
        with pytest.raises(TypeError, match=r"Flow 'child' used as a task got unknown "
                                            r"parameter\(s\) 'zz'; its parameters are: "
                                            r"\['bad', 'n', 'xs'\]"):
            child(n=1, zz=2)


def test_a_subflow_missing_a_required_parameter_is_an_error_before_the_run(executor, rec):
    with Flow("child-required") as child:
        double(Parameter("n"))

    @task
    def noted():
        rec.add("ran")

    with pytest.raises((TypeError, ValueError), match=r"'n'"):
        with Flow("parent-missing") as parent:
            sub = child()
            sub.set_upstream(noted())
        parent.run(executor=executor)
    assert rec.items == []


def test_a_subflow_uses_the_parent_runs_clock(executor, clock, rec):
    @task(max_retries=1, retry_delay=timedelta(seconds=0.2))
    def flaky():
        rec.add(context.task_run_count)
        if context.task_run_count == 1:
            raise RuntimeError("first try")
        return "ok"

    with Flow("child-retry") as child:
        flaky()
    with Flow("parent-clock") as parent:
        sub = child()
    state = parent.run(executor=executor, clock=clock)
    assert isinstance(state.result[sub], Success)
    assert rec.items == [1, 2]
    assert clock.sleeps == [0.2]


# -- schedules ----------------------------------------------------------------------

T0 = 1_000_000.0          # the FakeClock's start, as a timestamp


def at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(T0 + seconds, UTC)


def scheduled_flow(schedule, rec, clock):
    @task
    def tick():
        rec.add((clock.now(), context.flow_run_id))

    with Flow("scheduled", schedule=schedule) as flow:
        tick()
    return flow


def test_interval_schedule_with_the_fake_clock_and_max_runs(executor, rec, clock):
    flow = scheduled_flow(IntervalSchedule(timedelta(minutes=10)), rec, clock)
    state = flow.run(max_runs=3, clock=clock, executor=executor)
    assert isinstance(state, Success)
    assert clock.sleeps == [0.0, 600.0, 600.0]
    assert [t for t, _ in rec.items] == [T0, T0 + 600, T0 + 1200]
    run_ids = [r for _, r in rec.items]
    assert len(set(run_ids)) == 3
    assert sorted(r["run_id"] for r in list_runs()) == sorted(run_ids)


def test_interval_schedule_waits_for_its_start_date_and_stops_at_its_end(executor, rec, clock):
    schedule = IntervalSchedule(timedelta(minutes=1), start_date=at(90), end_date=at(210))
    flow = scheduled_flow(schedule, rec, clock)
    flow.run(clock=clock, executor=executor)        # max_runs=None: until the schedule ends
    assert [t for t, _ in rec.items] == [T0 + 90, T0 + 150, T0 + 210]
    assert clock.sleeps == [90.0, 60.0, 60.0]


def test_run_on_schedule_false_runs_once_now(executor, rec, clock):
    flow = scheduled_flow(IntervalSchedule(timedelta(hours=1), start_date=at(3600)), rec, clock)
    state = flow.run(run_on_schedule=False, clock=clock, executor=executor)
    assert isinstance(state, Success)
    assert len(rec.items) == 1 and clock.sleeps == []


def test_a_schedule_that_has_ended_is_an_error(executor, rec, clock):
    schedule = IntervalSchedule(timedelta(minutes=1), start_date=at(-600), end_date=at(-300))
    flow = scheduled_flow(schedule, rec, clock)
    with pytest.raises(ValueError, match="Flow 'scheduled' has no more scheduled runs"):
        flow.run(clock=clock, executor=executor)
    assert rec.items == []


def test_a_naive_start_date_is_read_as_utc(executor, rec, clock):
    naive = at(90).replace(tzinfo=None)
    flow = scheduled_flow(IntervalSchedule(timedelta(minutes=1), start_date=naive), rec, clock)
    flow.run(max_runs=2, clock=clock, executor=executor)
    assert [t for t, _ in rec.items] == [T0 + 90, T0 + 150]


def test_interval_schedule_next_values():
    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    s = IntervalSchedule(timedelta(minutes=15), start_date=start,
                         end_date=start + timedelta(hours=1))
    assert s.next(2, after=start) == [start, start + timedelta(minutes=15)]
    assert s.next(3, after=start + timedelta(minutes=20)) == [
        start + timedelta(minutes=m) for m in (30, 45, 60)]
    assert s.next(3, after=start + timedelta(minutes=50)) == [start + timedelta(minutes=60)]
    assert s.next(2, after=start - timedelta(days=1)) == [start, start + timedelta(minutes=15)]


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=-1), 60])
def test_interval_schedule_needs_a_positive_timedelta(interval):
    with pytest.raises(ValueError, match="needs a positive datetime.timedelta"):
        IntervalSchedule(interval)


def test_cron_schedule_next_values():
    s = CronSchedule("*/5 * * * *")
    after = datetime.datetime(2026, 1, 1, 0, 3, tzinfo=UTC)
    assert s.next(3, after=after) == [datetime.datetime(2026, 1, 1, 0, m, tzinfo=UTC)
                                      for m in (5, 10, 15)]
    exact = datetime.datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert s.next(1, after=exact) == [exact]                   # "at or after"
    later = CronSchedule("0 * * * *", start_date=datetime.datetime(2026, 3, 1, 12, 30,
                                                                  tzinfo=UTC))
    assert later.next(1, after=after) == [datetime.datetime(2026, 3, 1, 13, 0, tzinfo=UTC)]
    weekdays = CronSchedule("0 9 * * 1-5")
    friday_late = datetime.datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    assert weekdays.next(2, after=friday_late) == [
        datetime.datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        datetime.datetime(2026, 1, 6, 9, 0, tzinfo=UTC)]


def test_cron_schedule_runs_on_the_fake_clock(executor, rec, clock):
    flow = scheduled_flow(CronSchedule("*/5 * * * *"), rec, clock)   # T0 is 13:46:40 UTC
    flow.run(max_runs=2, clock=clock, executor=executor)
    assert [datetime.datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S") for t, _ in rec.items] \
        == ["13:50:00", "13:55:00"]
    assert clock.sleeps == [200.0, 300.0]


@pytest.mark.parametrize("cron", ["every 5 minutes", "61 * * * *", "* * *"])
def test_a_bad_cron_string_error_shows_it(cron):
    with pytest.raises(ValueError, match=r"CronSchedule\('" + re.escape(cron)
                       + r"'\): not a cron string"):
        CronSchedule(cron)


# -- async def tasks ------------------------------------------------------------------

@task
async def add_async(x, y):
    await asyncio.sleep(0)
    return x + y


@task
async def boom_async(x):
    await asyncio.sleep(0)
    raise ValueError(f"async boom {x}")


def test_async_tasks_plain_and_mapped(executor):
    with Flow("async") as flow:
        one = add_async(1, 2)
        many = add_async.map([1, 2, 3], unmapped(one))
        total = ident(many)
    state = flow.run(executor=executor)
    assert isinstance(state, Success)
    assert state.result[one].result == 3
    assert [s.result for s in state.result[many].map_states] == [4, 5, 6]
    assert state.result[total].result == [4, 5, 6]


def test_an_async_task_that_raises_fails(executor):
    with Flow("async-fail") as flow:
        b = boom_async(1)
        mb = boom_async.map([2, 3])
    state = flow.run(executor=executor)
    assert type(state.result[b]) is Failed
    assert state.result[b].message == "Error during execution of task: ValueError('async boom 1')"
    assert isinstance(state.result[b].result, ValueError)
    assert [s.message for s in state.result[mb].map_states] == [
        "Error during execution of task: ValueError('async boom 2')",
        "Error during execution of task: ValueError('async boom 3')"]
    assert isinstance(state, Failed)


def test_async_task_with_retries(executor, rec, clock):
    @task(max_retries=2, retry_delay=timedelta(seconds=5))
    async def flaky():
        rec.add(context.task_run_count)
        if context.task_run_count < 3:
            raise RuntimeError("not yet")
        return "done"

    with Flow("async-retry") as flow:
        r = flaky()
    state = flow.run(executor=executor, clock=clock)
    assert state.result[r].result == "done"
    assert rec.items == [1, 2, 3]
    assert clock.sleeps == [5.0, 5.0]


def test_an_async_task_times_out(executor):
    @task(timeout=timedelta(seconds=0.2))
    async def too_slow():
        await asyncio.sleep(1)
        return "late"

    with Flow("async-timeout") as flow:
        r = too_slow()
    state = flow.run(executor=executor)
    assert type(state.result[r]).__name__ == "TimedOut"
    assert state.result[r].message == "Task timed out during execution."


def test_flow_run_from_inside_a_running_event_loop(executor):
    """The calling thread already runs a loop (a notebook, an async app): async tasks still run."""
    with Flow("async-in-loop") as flow:
        r = add_async(20, 22)

    async def main():
        return flow.run(executor=executor)

    state = asyncio.run(main())
    assert state.result[r].result == 42
