"""The run contract of issue 2, once per local executor (the ``executor`` fixture).

Every test builds a flow through the public API, runs it with
``flow.run(executor=executor)`` and checks final States, results and side
effects.  Expected behaviour is Prefect 1.4.1's, recorded with the oracle where
it was unclear (noted inline).  Retry delays use the FakeClock from conftest,
so nothing here sleeps except the timeout tests.
"""

from __future__ import annotations

import itertools
import logging
import time
from datetime import timedelta
from typing import Tuple

import pytest

from prefect_dask import Flow, Parameter, Task, context, get_logger, signals, states, task, triggers
from tasks import one, inc, add
from prefect_dask.states import (Failed, Paused, Retrying, Running, Skipped, Success,
                                 TimedOut, TriggerFailed)


def run(flow, executor, **kwargs):
    """Run ``flow`` on ``executor``; the result is the flow's final State."""
    state = flow.run(executor=executor, **kwargs)
    assert isinstance(state, states.State)
    assert state.is_finished()
    return state


def names(transitions):
    return [(type(old).__name__, type(new).__name__) for old, new in transitions]


@task
def boom():
    raise ValueError("boom")


# -- results and states ------------------------------------------------------------

def test_linear_chain_results(executor):
    with Flow("chain") as flow:
        a = one()
        b = inc(a)
        c = inc(b)
    state = run(flow, executor)
    assert state.is_successful()
    assert type(state) is Success
    assert {t: s.result for t, s in state.result.items()} == {a: 1, b: 2, c: 3}
    assert all(type(s) is Success for s in state.result.values())


def test_result_maps_every_task_to_its_final_state(executor):
    @task
    def total(xs, k):
        return sum(xs) * k

    with Flow("every") as flow:
        p = Parameter("k", default=2)
        t = total([one(), inc(1)], p)
    state = run(flow, executor)
    assert set(state.result) == flow.tasks          # including the Parameter and the list task
    assert all(s.is_finished() for s in state.result.values())
    assert state.result[p].result == 2
    assert state.result[t].result == 6


def test_diamond_runs_the_shared_upstream_once(executor, rec):
    @task
    def source():
        rec.add("source")
        return 10

    @task
    def left(x):
        return x + 1

    @task
    def right(x):
        return x * 2

    with Flow("diamond") as flow:
        s = source()
        j = add(left(s), right(s))
    state = run(flow, executor)
    assert state.result[j].result == 31
    assert rec.items == ["source"]           # the shared upstream ran once


def test_independent_branches_all_run(executor, rec):
    @task
    def work(i):
        rec.add(i)
        return i

    with Flow("wide") as flow:
        tasks = [work(i) for i in range(8)]
    state = run(flow, executor)
    assert sorted(rec.items) == list(range(8))
    assert [state.result[t].result for t in tasks] == list(range(8))


def test_failed_task_state_and_downstream_triggerfailed(executor, rec):
    @task
    def after(x):
        rec.add("after ran")
        return x

    with Flow("fail") as flow:
        b = boom()
        a = after(b)
        ok = one()
    state = run(flow, executor)
    assert state.is_failed()
    fb = state.result[b]
    assert type(fb) is Failed
    assert isinstance(fb.result, ValueError) and str(fb.result) == "boom"
    assert "boom" in str(fb.message)
    assert type(state.result[a]) is TriggerFailed
    assert state.result[ok].is_successful()
    assert rec.items == []


def test_attempts_counted_in_state(executor):
    with Flow("attempts") as flow:
        a = one()
    assert run(flow, executor).result[a].attempts == 1


def test_nout_and_tuple_unpacking(executor):
    @task(nout=2)
    def pair():
        return 1, 2

    @task
    def trio() -> Tuple[int, int, int]:
        return 10, 20, 30

    with Flow("unpack") as flow:
        a, b = pair()
        x, y, z = trio()
        s = add(a, z)
    state = run(flow, executor)
    assert [state.result[t].result for t in (a, b, x, y, z, s)] == [1, 2, 10, 20, 30, 31]


def test_ordering_only_edges(executor, rec):
    @task
    def first():
        rec.add("first")

    @task
    def second():
        rec.add("second")

    with Flow("order") as flow:
        f = first()
        s = second(upstream_tasks=[f])
        t = second(upstream_tasks=[s])
    run(flow, executor)
    assert rec.items == ["first", "second", "second"]


def test_ordering_edge_on_failed_task_triggerfails(executor):
    with Flow("order-fail") as flow:
        b = boom()
        o = one(upstream_tasks=[b])
    state = run(flow, executor)
    assert type(state.result[o]) is TriggerFailed


def test_task_subclass_runs(executor):
    class Power(Task):
        def __init__(self, exp, **kwargs):
            self.exp = exp
            super().__init__(**kwargs)

        def run(self, x, offset=0):
            return x ** self.exp + offset

    with Flow("subclass") as flow:
        a = Power(2)(3)
        b = Power(3, name="cube")(a, offset=1)
    state = run(flow, executor)
    assert (state.result[a].result, state.result[b].result) == (9, 730)


def test_executor_by_name(executor):
    with Flow("named") as flow:
        a = inc(1)
    for name in ("local", "threads"):
        assert flow.run(executor=name).result[a].result == 2


def test_flow_executor_argument(executor):
    with Flow("own-executor", executor=executor) as flow:
        a = inc(1)
    state = flow.run()
    assert state.result[a].result == 2


def test_same_flow_runs_twice_independently(executor):
    counter = itertools.count(1)

    @task
    def tick():
        return next(counter)

    with Flow("twice") as flow:
        t = tick()
    first = run(flow, executor)
    second = run(flow, executor)        # the same executor object, started again
    assert (first.result[t].result, second.result[t].result) == (1, 2)


# -- parameters --------------------------------------------------------------------

def make_param_flow():
    @task
    def greet(name, times):
        return " ".join([f"hello {name}"] * times)

    with Flow("params") as flow:
        name = Parameter("name", default="world")
        times = Parameter("times", default=1)
        g = greet(name, times)
    return flow, name, times, g


def test_parameter_defaults(executor):
    flow, name, times, g = make_param_flow()
    state = run(flow, executor)
    assert state.result[g].result == "hello world"
    assert (state.result[name].result, state.result[times].result) == ("world", 1)
    assert state.result[name].is_successful()


def test_parameters_argument(executor):
    flow, name, times, g = make_param_flow()
    state = run(flow, executor, parameters={"name": "dask", "times": 2})
    assert state.result[g].result == "hello dask hello dask"


def test_parameters_prefect1_keyword_form(executor):
    flow, name, times, g = make_param_flow()
    state = run(flow, executor, times=3)
    assert state.result[g].result == "hello world hello world hello world"
    state = run(flow, executor, parameters={"name": "a"}, times=2)
    assert state.result[g].result == "hello a hello a"


def test_required_parameter_given(executor):
    with Flow("required") as flow:
        p = Parameter("p")
        r = inc(p)
    assert run(flow, executor, parameters={"p": 41}).result[r].result == 42
    assert run(flow, executor, p=1).result[r].result == 2


def test_parameter_default_none_is_not_required(executor):
    @task
    def show(x):
        return repr(x)

    with Flow("none-default") as flow:
        r = show(Parameter("p", default=None))
    assert run(flow, executor).result[r].result == "None"


# -- the flow state and reference tasks --------------------------------------------

def test_flow_failed_iff_a_terminal_task_failed(executor):
    with Flow("terminal") as flow:
        b = boom()
        c = inc(b)
    state = run(flow, executor)
    assert type(state) is Failed and state.is_failed()
    assert state.result[c].is_failed()


def test_failure_upstream_of_all_finished_cleanup_is_success(executor):
    @task(trigger=triggers.all_finished)
    def cleanup(x):
        return type(x).__name__

    with Flow("cleanup") as flow:
        b = boom()
        c = cleanup(b)
    state = run(flow, executor)
    assert state.result[b].is_failed()
    assert state.result[c].result == "ValueError"        # it got the exception as its input
    assert state.is_successful()                         # only the terminal task counts


def test_reference_tasks_decide_flow_state(executor):
    with Flow("refs") as flow:
        good = one()
        bad = boom()
    assert run(flow, executor).is_failed()
    flow.set_reference_tasks([good])
    assert run(flow, executor).is_successful()
    flow.set_reference_tasks([bad])
    assert run(flow, executor).is_failed()


def test_non_terminal_reference_task(executor):
    @task(trigger=triggers.always_run)
    def last(x):
        return "done"

    with Flow("ref-middle") as flow:
        b = boom()
        last(b)
    flow.set_reference_tasks([b])
    assert run(flow, executor).is_failed()


def test_skipped_terminal_task_flow_succeeds(executor):
    @task
    def skip():
        raise signals.SKIP("not today")

    with Flow("skip-terminal") as flow:
        s = skip()
    state = run(flow, executor)
    assert state.result[s].is_skipped()
    assert state.is_successful()


# -- signals -----------------------------------------------------------------------

def test_fail_signal(executor, rec):
    @task
    def check(x):
        if x > 1:
            raise signals.FAIL(f"value {x} too large")
        return x

    @task
    def after(x):
        rec.add("after")

    with Flow("fail-signal") as flow:
        c = check(5)
        a = after(c)
    state = run(flow, executor)
    fc = state.result[c]
    assert type(fc) is Failed
    assert fc.message == "value 5 too large"
    assert isinstance(fc.result, signals.FAIL)          # Prefect 1: the signal is the result
    assert type(state.result[a]) is TriggerFailed
    assert state.is_failed()
    assert rec.items == []


def test_success_signal_with_result(executor):
    @task
    def early():
        raise signals.SUCCESS("done early", result=7)

    with Flow("success-signal") as flow:
        e = early()
        d = inc(e)
    state = run(flow, executor)
    assert type(state.result[e]) is Success
    assert (state.result[e].message, state.result[e].result) == ("done early", 7)
    assert state.result[d].result == 8


def test_skip_signal(executor):
    @task
    def skip():
        raise signals.SKIP("nope")

    with Flow("skip-signal") as flow:
        s = skip()
    st = run(flow, executor).result[s]
    assert type(st) is Skipped and st.message == "nope"
    assert isinstance(st.result, signals.SKIP)


def test_endrun_signal_sets_exact_state(executor):
    @task
    def end_ok():
        raise signals.ENDRUN(Success(message="ended", result=9))

    @task
    def end_failed():
        raise signals.ENDRUN(Failed(message="gave up", result="why"))

    with Flow("endrun") as flow:
        a = end_ok()
        b = end_failed()
        c = inc(a)
    state = run(flow, executor)
    assert type(state.result[a]) is Success
    assert (state.result[a].message, state.result[a].result) == ("ended", 9)
    assert type(state.result[b]) is Failed
    assert (state.result[b].message, state.result[b].result) == ("gave up", "why")
    assert state.result[c].result == 10


def test_fail_signal_is_retried_skip_is_not(executor, clock):
    # recorded from Prefect 1.4.1: FAIL is a failure like any other, SKIP is not
    fails, skips = itertools.count(1), itertools.count(1)

    @task(max_retries=2)
    def failing():
        next(fails)
        raise signals.FAIL("f")

    @task(max_retries=2)
    def skipping():
        next(skips)
        raise signals.SKIP("s")

    with Flow("signal-retries") as flow:
        f = failing()
        s = skipping()
    state = run(flow, executor, clock=clock)
    assert type(state.result[f]) is Failed and state.result[f].attempts == 3
    assert type(state.result[s]) is Skipped
    assert (next(fails), next(skips)) == (4, 2)


def test_endrun_is_not_retried(executor, clock):
    # recorded from Prefect 1.4.1: the task runs once and ends Failed
    calls = itertools.count(1)

    @task(max_retries=2)
    def end():
        next(calls)
        raise signals.ENDRUN(Failed("stop here"))

    with Flow("endrun-retries") as flow:
        e = end()
    state = run(flow, executor, clock=clock)
    assert type(state.result[e]) is Failed and state.result[e].message == "stop here"
    assert next(calls) == 2
    assert clock.sleeps == []


def test_retry_signal_retries_then_succeeds(executor, clock):
    calls = itertools.count(1)

    @task(max_retries=3, retry_delay=2)
    def again():
        n = next(calls)
        if n < 3:
            raise signals.RETRY(f"try {n}")
        return n

    with Flow("retry-signal") as flow:
        a = again()
    st = run(flow, executor, clock=clock).result[a]
    assert type(st) is Success and st.result == 3 and st.attempts == 3
    assert sum(clock.sleeps) == 0      # Prefect 1.4.1: RETRY retries at once, not after retry_delay


def test_retry_signal_ignores_max_retries(executor, clock):
    # recorded from Prefect 1.4.1: RETRY always schedules another attempt, even
    # with max_retries=0 (a task that always raises RETRY retries forever)
    calls = itertools.count(1)

    @task
    def again():
        n = next(calls)
        if n < 4:
            raise signals.RETRY(f"try {n}")
        return n

    with Flow("retry-unbounded") as flow:
        a = again()
    st = run(flow, executor, clock=clock).result[a]
    assert type(st) is Success and st.result == 4
    assert st.attempts == 4


def test_signals_are_not_generic_failures(executor):
    """A signal raised inside a task's own ``try/except ValueError`` still ends the task as asked."""
    @task
    def guarded():
        try:
            raise signals.SKIP("skip me")
        except ValueError:          # not caught: signals are not ValueErrors
            return "swallowed"

    with Flow("guarded") as flow:
        g = guarded()
    assert run(flow, executor).result[g].is_skipped()


# -- skip propagation --------------------------------------------------------------

def test_skip_propagates_downstream(executor, rec):
    @task
    def skip():
        raise signals.SKIP("nope")

    @task
    def down(x):
        rec.add("down ran")
        return x

    @task(trigger=triggers.all_finished)
    def finisher(x):
        rec.add("finisher ran")

    with Flow("skip-prop") as flow:
        s = skip()
        d1 = down(s)
        d2 = down(d1)
        f = finisher(s)
        free = one()
    state = run(flow, executor)
    for t in (s, d1, d2, f):
        assert type(state.result[t]) is Skipped, t
    assert "skip_on_upstream_skip" in state.result[d1].message
    assert state.result[free].result == 1
    assert rec.items == []            # Prefect 1: the skip check comes before the trigger
    assert state.is_successful()


def test_skip_on_upstream_skip_false_runs(executor):
    @task
    def skip():
        raise signals.SKIP("nope")

    @task(skip_on_upstream_skip=False)
    def runs_anyway(x):
        return type(x).__name__

    with Flow("skip-optout") as flow:
        r = runs_anyway(skip())
        after = inc(1, upstream_tasks=[r])
    state = run(flow, executor)
    assert type(state.result[r]) is Success
    assert state.result[r].result == "SKIP"        # Prefect 1: a skipped result is the signal
    assert state.result[after].result == 2


def test_skip_with_result(executor):
    @task
    def skip():
        raise signals.SKIP("nope", result=5)

    @task(skip_on_upstream_skip=False)
    def take(x):
        return x

    with Flow("skip-result") as flow:
        t = take(skip())
    assert run(flow, executor).result[t].result == 5


# -- triggers in a flow ------------------------------------------------------------

@task
def skip_task():
    raise signals.SKIP("skipped")


def trig(trigger, **kw):
    @task(trigger=trigger, **kw)
    def guarded():
        return "ran"
    return guarded


def collect(trigger, ups, **kw):
    """A task with ``trigger`` downstream of ``ups`` (ordering edges)."""
    return trig(trigger, **kw)(upstream_tasks=ups)


TRIGGER_CASES = [
    # (trigger, upstream kinds, expected state class)
    (triggers.all_successful, "ss", Success),
    (triggers.all_successful, "sf", TriggerFailed),
    (triggers.all_failed, "ff", Success),
    (triggers.all_failed, "fs", TriggerFailed),
    (triggers.any_successful, "fs", Success),
    (triggers.any_successful, "ff", TriggerFailed),
    (triggers.any_failed, "sf", Success),
    (triggers.any_failed, "ss", TriggerFailed),
    (triggers.all_finished, "sf", Success),
    (triggers.always_run, "ff", Success),
    (triggers.some_successful(at_least=2), "ssf", Success),
    (triggers.some_successful(at_least=2), "sff", TriggerFailed),
    (triggers.some_successful(at_most=0.5), "sff", Success),
    (triggers.some_successful(at_most=0.5), "ssf", TriggerFailed),
    (triggers.some_failed(at_least=1, at_most=1), "ssf", Success),
    (triggers.some_failed(at_least=1, at_most=1), "sff", TriggerFailed),
    (triggers.some_failed(at_least=0.5), "sff", Success),
    (triggers.some_failed(at_least=0.5), "ssf", TriggerFailed),
]


@pytest.mark.parametrize("trigger, kinds, expected", TRIGGER_CASES,
                         ids=[f"{getattr(t, '__name__', 't')}-{k}-{e.__name__}-{i}"
                              for i, (t, k, e) in enumerate(TRIGGER_CASES)])
def test_triggers_in_a_flow(executor, trigger, kinds, expected):
    with Flow("trigger") as flow:
        ups = [one() if k == "s" else boom() for k in kinds]
        t = collect(trigger, ups)
    st = run(flow, executor).result[t]
    assert type(st) is expected
    if expected is Success:
        assert st.result == "ran"


def test_trigger_sees_data_edges_too(executor):
    @task(trigger=triggers.any_failed)
    def handle(x):
        return type(x).__name__

    with Flow("trigger-data") as flow:
        h = handle(boom())
    assert run(flow, executor).result[h].result == "ValueError"


@pytest.mark.parametrize("kinds, expected", [("ks", Success), ("kk", Skipped),
                                             ("kf", TriggerFailed)])
def test_not_all_skipped_in_a_flow(executor, kinds, expected):
    # recorded from Prefect 1.4.1: with skip_on_upstream_skip=False, (skip, ok) runs,
    # (skip, skip) ends Skipped, (skip, fail) ends TriggerFailed
    tasks = {"s": one, "k": skip_task, "f": boom}
    with Flow("nas") as flow:
        t = collect(triggers.not_all_skipped, [tasks[k]() for k in kinds],
                    skip_on_upstream_skip=False)
    assert type(run(flow, executor).result[t]) is expected


def test_manual_only_pauses(executor, rec):
    @task(trigger=triggers.manual_only)
    def approve(x):
        rec.add("ran")

    with Flow("manual") as flow:
        a = approve(one())
    state = flow.run(executor=executor)
    assert isinstance(state.result[a], Paused)
    assert not state.result[a].is_finished()
    assert rec.items == []
    assert not state.is_failed()


def test_trigger_raising_an_error_ends_triggerfailed(executor, rec):
    # recorded from Prefect 1.4.1: TriggerFailed with the error as result; the task does not run
    def broken(upstream_states):
        raise KeyError("oops")

    @task(trigger=broken)
    def guarded():
        rec.add("ran")

    with Flow("broken-trigger") as flow:
        g = guarded()
    st = run(flow, executor).result[g]
    assert type(st) is TriggerFailed
    assert isinstance(st.result, KeyError)
    assert rec.items == []


def test_custom_trigger_function(executor):
    def only_if_two(upstream_states):
        return len(upstream_states) == 2

    with Flow("custom") as flow:
        ok = collect(only_if_two, [one(), one()])
        no = collect(only_if_two, [one()])
    state = run(flow, executor)
    assert state.result[ok].result == "ran"
    assert type(state.result[no]) is TriggerFailed


# -- retries -----------------------------------------------------------------------

def test_retries_until_success(executor, clock, rec):
    calls = itertools.count(1)

    @task(max_retries=3, retry_delay=timedelta(seconds=5))
    def flaky():
        n = next(calls)
        rec.add(context.task_run_count)
        if n < 3:
            raise RuntimeError(f"attempt {n} failed")
        return n

    with Flow("retries") as flow:
        f = flaky()
        a = inc(f)
    state = run(flow, executor, clock=clock)
    assert type(state.result[f]) is Success
    assert state.result[f].result == 3
    assert state.result[f].attempts == 3
    assert state.result[a].result == 4 and state.result[a].attempts == 1
    assert rec.items == [1, 2, 3]                  # context.task_run_count per attempt
    assert clock.sleeps == [5.0, 5.0]
    assert state.is_successful()


def test_retries_exhausted(executor, clock):
    calls = itertools.count(1)

    @task(max_retries=2, retry_delay=1.5)
    def never():
        raise RuntimeError(f"attempt {next(calls)}")

    with Flow("exhausted") as flow:
        n = never()
        d = inc(n)
    state = run(flow, executor, clock=clock)
    st = state.result[n]
    assert type(st) is Failed
    assert st.attempts == 3
    assert str(st.result) == "attempt 3"
    assert clock.sleeps == [1.5, 1.5]
    assert type(state.result[d]) is TriggerFailed
    assert state.is_failed()


def test_no_retries_by_default(executor, clock):
    with Flow("no-retry") as flow:
        b = boom()
    st = run(flow, executor, clock=clock).result[b]
    assert st.is_failed() and st.attempts == 1
    assert clock.sleeps == []


def test_retry_on_matching_exception(executor, clock):
    calls = itertools.count(1)

    @task(max_retries=2, retry_on=[ConnectionError])
    def net():
        if next(calls) == 1:
            raise ConnectionResetError("reset")        # a subclass of ConnectionError
        return "ok"

    with Flow("retry-on") as flow:
        t = net()
    st = run(flow, executor, clock=clock).result[t]
    assert st.result == "ok" and st.attempts == 2


def test_retry_on_other_exception_does_not_retry(executor, clock):
    calls = itertools.count(1)

    @task(max_retries=2, retry_on=ConnectionError)
    def net():
        next(calls)
        raise ValueError("not a network error")

    with Flow("retry-on-other") as flow:
        t = net()
    st = run(flow, executor, clock=clock).result[t]
    assert st.is_failed() and st.attempts == 1
    assert next(calls) == 2
    assert clock.sleeps == []


def test_exponential_backoff(executor, clock):
    from prefect_dask import exponential_backoff

    @task(max_retries=4, retry_delay=exponential_backoff(1, max_delay=5))
    def never():
        raise RuntimeError("no")

    with Flow("backoff") as flow:
        t = never()
    st = run(flow, executor, clock=clock).result[t]
    assert st.attempts == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0]


def test_retry_jitter_stays_in_range(executor, clock):
    @task(max_retries=3, retry_delay=10, retry_jitter_factor=0.5)
    def never():
        raise RuntimeError("no")

    with Flow("jitter") as flow:
        never()
    run(flow, executor, clock=clock)
    assert len(clock.sleeps) == 3
    assert all(10.0 <= s <= 15.0 for s in clock.sleeps), clock.sleeps


def test_retry_condition(executor, clock):
    calls = itertools.count(1)

    def transient(state):
        return "transient" in str(state.result)

    @task(max_retries=5, retry_condition=transient)
    def work():
        n = next(calls)
        if n < 3:
            raise RuntimeError("transient glitch")
        raise RuntimeError("permanent error")

    with Flow("condition") as flow:
        t = work()
    st = run(flow, executor, clock=clock).result[t]
    assert st.is_failed()
    assert str(st.result) == "permanent error"
    assert st.attempts == 3


def test_a_raising_callback_ends_the_task_in_a_state_naming_task_and_callback(executor, clock):
    """retry_condition, retry_delay, cache_validator and task_run_name are user code the
    engine calls: what they raise never escapes flow.run (a state signal gives its state)."""
    def broken_condition(state):
        raise ValueError("no condition")

    def skipping_condition(state):
        raise signals.SKIP("condition skipped it")

    def broken_delay(attempt):
        raise KeyError("no delay")

    def broken_validator(entry, inputs, parameters):
        raise RuntimeError("no validator")

    def broken_name(**fields):
        raise signals.PrefectSignal("no name")

    def pausing_condition(state):
        raise signals.PAUSE("wait for me")   # no final state: Failed, naming the callback

    @task(max_retries=2, retry_condition=broken_condition)
    def a():
        raise RuntimeError("a failed")

    @task(max_retries=2, retry_condition=skipping_condition)
    def b():
        raise RuntimeError("b failed")

    @task(max_retries=2, retry_delay=broken_delay)
    def c():
        raise RuntimeError("c failed")

    @task(cache_for=timedelta(hours=1), cache_validator=broken_validator)
    def d():
        return 1

    @task(task_run_name=broken_name)
    def e():
        return 1

    @task(max_retries=1, retry_condition=pausing_condition)
    def f():
        raise RuntimeError("f failed")

    with Flow("callbacks") as flow:
        ta, tb, tc, td, te, tf = a(), b(), c(), d(), e(), f()
    run(flow, executor, clock=clock)   # the first run stores d's cache entry
    final = run(flow, executor, clock=clock)
    assert final.is_failed()
    got = final.result
    assert type(got[ta]) is Failed and isinstance(got[ta].result, ValueError)
    assert got[ta].message == ("Task 'a': its retry_condition 'broken_condition' raised "
                               "ValueError('no condition'); fix the retry_condition (it must "
                               "not raise).")
    assert type(got[tb]) is Skipped and got[tb].message == "condition skipped it"
    assert type(got[tc]) is Failed and isinstance(got[tc].result, KeyError)
    assert "Task 'c': its retry_delay 'broken_delay' raised KeyError" in got[tc].message
    assert type(got[td]) is Failed
    assert "Task 'd': its cache_validator 'broken_validator' raised RuntimeError" \
        in got[td].message
    assert type(got[te]) is Failed and isinstance(got[te].result, signals.PrefectSignal)
    assert "Task 'e': its task_run_name 'broken_name' raised" in got[te].message
    assert type(got[tf]) is Failed and isinstance(got[tf].result, signals.PAUSE)
    assert "Task 'f': its retry_condition 'pausing_condition' raised PAUSE" in got[tf].message
    for t in (ta, tc):
        assert got[t].attempts == 1   # no retry after the callback failed


def test_retrying_state_carries_start_time(executor, clock):
    seen = []

    def handler(t, old, new):
        if isinstance(new, Retrying):
            seen.append((new.start_time, clock.now()))

    @task(max_retries=1, retry_delay=7, state_handlers=[handler])
    def never():
        raise RuntimeError("no")

    with Flow("start-time") as flow:
        never()
    run(flow, executor, clock=clock)
    ((start, now),) = seen
    assert start.timestamp() == pytest.approx(now + 7)   # a UTC datetime, as in Prefect 1


# -- timeouts ----------------------------------------------------------------------

def test_timeout(executor, rec):
    @task(timeout=timedelta(seconds=0.2))
    def slow():
        time.sleep(2)
        rec.add("finished anyway")
        return 1

    @task(timeout=timedelta(seconds=30))
    def quick():
        return "quick"

    with Flow("timeout") as flow:
        s = slow()
        d = inc(s)
        q = quick()
    state = run(flow, executor)
    st = state.result[s]
    assert type(st) is TimedOut
    assert st.is_failed()
    assert isinstance(st.result, BaseException)
    assert type(state.result[d]) is TriggerFailed
    assert state.result[q].result == "quick"
    assert state.is_failed()


def test_task_with_timeout_behaves_like_any_task(executor):
    # recorded from Prefect 1.4.1: errors, signals and context work under a timeout
    @task(timeout=30)
    def fails():
        raise ValueError("quick fail")

    @task(timeout=30)
    def skips():
        raise signals.SKIP("skip in timeout")

    @task(timeout=30, log_stdout=True)
    def looks():
        print("inside the timeout thread")
        return context.task_name, context.task_run_count

    with Flow("timeout-normal") as flow:
        f, s, lk = fails(), skips(), looks()
    state = run(flow, executor)
    assert type(state.result[f]) is Failed and str(state.result[f].result) == "quick fail"
    assert type(state.result[s]) is Skipped
    assert state.result[lk].result == ("looks", 1)


def test_timed_out_task_is_retried(executor, clock):
    # Prefect 1.4.1 retries a TimedOut task like any failure (checked with the oracle)
    calls = itertools.count(1)

    @task(timeout=timedelta(seconds=0.2), max_retries=1)
    def first_slow():
        if next(calls) == 1:
            time.sleep(2)
        return "second try"

    with Flow("timeout-retry") as flow:
        t = first_slow()
    st = run(flow, executor, clock=clock).result[t]
    assert st.result == "second try" and st.attempts == 2


# -- state handlers and on_failure --------------------------------------------------

def handler_log():
    log: list = []

    def handler(task, old, new):
        log.append((task.name, old, new))
    return log, handler


def test_state_handler_sees_every_transition(executor):
    log, handler = handler_log()

    @task(state_handlers=[handler])
    def ok():
        return 1

    with Flow("handlers") as flow:
        o = ok()
    state = run(flow, executor)
    assert names((o_, n_) for _, o_, n_ in log) == [("Pending", "Running"), ("Running", "Success")]
    assert all(name == "ok" for name, _, _ in log)
    assert log[-1][2].result == 1
    assert state.result[o].result == 1


def test_state_handler_transitions_with_retries(executor, clock):
    # the sequence recorded from Prefect 1.4.1
    log, handler = handler_log()
    calls = itertools.count(1)

    @task(max_retries=2, retry_delay=0, state_handlers=[handler])
    def flaky():
        if next(calls) < 3:
            raise ValueError("x")
        return "ok"

    with Flow("handler-retries") as flow:
        flaky()
    run(flow, executor, clock=clock)
    assert names((o, n) for _, o, n in log) == [
        ("Pending", "Running"), ("Running", "Failed"), ("Failed", "Retrying"),
        ("Retrying", "Running"), ("Running", "Failed"), ("Failed", "Retrying"),
        ("Retrying", "Running"), ("Running", "Success")]


def test_state_handler_transitions_without_running(executor):
    # recorded from Prefect 1.4.1: a task that never runs goes straight from Pending
    skip_log, skip_handler = handler_log()
    fail_log, fail_handler = handler_log()
    sig_log, sig_handler = handler_log()

    @task(state_handlers=[sig_handler])
    def skipper():
        raise signals.SKIP("s")

    with Flow("handler-nonrun") as flow:
        s = skipper()
        inc.copy(state_handlers=[skip_handler])(s)
        inc.copy(state_handlers=[fail_handler])(boom())
    run(flow, executor)
    assert names((o, n) for _, o, n in sig_log) == [("Pending", "Running"), ("Running", "Skipped")]
    assert names((o, n) for _, o, n in skip_log) == [("Pending", "Skipped")]
    assert names((o, n) for _, o, n in fail_log) == [("Pending", "TriggerFailed")]


def test_state_handler_on_timeout(executor):
    log, handler = handler_log()

    @task(timeout=timedelta(seconds=0.2), state_handlers=[handler])
    def slow():
        time.sleep(2)

    with Flow("handler-timeout") as flow:
        slow()
    run(flow, executor)
    assert names((o, n) for _, o, n in log) == [("Pending", "Running"), ("Running", "TimedOut")]


def test_state_handlers_run_in_order_and_chain(executor):
    seen = []

    def first(task, old, new):
        if isinstance(new, Success):
            return new.replace(result=new.result * 10)

    def second(task, old, new):
        if isinstance(new, Success):
            seen.append(new.result)

    @task(state_handlers=[first, second])
    def three():
        return 3

    with Flow("chain-handlers") as flow:
        t = three()
        d = inc(t)
    state = run(flow, executor)
    assert seen == [30]
    assert state.result[t].result == 30
    assert state.result[d].result == 31


def test_state_handler_can_replace_a_failure(executor):
    def rescue(task, old, new):
        if new.is_failed():
            return Success("rescued", result="rescued")
        return new

    @task(state_handlers=[rescue])
    def breaks():
        raise ValueError("x")

    with Flow("rescue") as flow:
        b = breaks()
        d = add(b, "!")
    state = run(flow, executor)
    assert type(state.result[b]) is Success and state.result[b].result == "rescued"
    assert state.result[d].result == "rescued!"
    assert state.is_successful()


def test_state_handler_can_fail_a_task(executor):
    def veto(task, old, new):
        if new.is_successful():
            return Failed("vetoed")

    @task(state_handlers=[veto])
    def fine():
        return 1

    with Flow("veto") as flow:
        f = fine()
    state = run(flow, executor)
    assert type(state.result[f]) is Failed and state.result[f].message == "vetoed"
    assert state.is_failed()


def test_failing_state_handler_fails_the_task(executor, rec):
    # recorded from Prefect 1.4.1: an error in a handler fails the task before it runs;
    # a signal raised by a handler ends the task in the signal's state
    def broken(task, old, new):
        if new.is_running():
            raise RuntimeError("handler broke")

    def skipper(task, old, new):
        if new.is_running():
            raise signals.SKIP("handler skip")

    @task(state_handlers=[broken])
    def first():
        rec.add("first ran")

    @task(state_handlers=[skipper])
    def second():
        rec.add("second ran")

    with Flow("bad-handler") as flow:
        f = first()
        d = inc(f)
        s = second()
    state = run(flow, executor)
    assert type(state.result[f]) is Failed
    assert isinstance(state.result[f].result, RuntimeError)
    assert "handler broke" in str(state.result[f].message)
    assert type(state.result[d]) is TriggerFailed
    assert type(state.result[s]) is Skipped and state.result[s].message == "handler skip"
    assert rec.items == []


def test_on_failure(executor, clock):
    calls = []

    @task(on_failure=lambda t, s: calls.append((t.name, type(s).__name__, str(s.result))))
    def breaks():
        raise ValueError("bad")

    @task(on_failure=lambda t, s: calls.append(("never", t.name)))
    def fine():
        return 1

    with Flow("on-failure") as flow:
        breaks()
        fine()
    run(flow, executor, clock=clock)
    assert calls == [("breaks", "Failed", "bad")]


def test_on_failure_called_per_failed_attempt(executor, clock):
    # Prefect 1.4.1: on_failure is a state handler, so each failed attempt calls it
    calls = []
    counter = itertools.count(1)

    @task(max_retries=2, on_failure=lambda t, s: calls.append(type(s).__name__))
    def flaky():
        if next(counter) < 3:
            raise ValueError("x")
        return 1

    with Flow("on-failure-retries") as flow:
        f = flaky()
    assert run(flow, executor, clock=clock).result[f].is_successful()
    assert calls == ["Failed", "Failed"]


def test_on_failure_for_trigger_failed(executor):
    calls = []
    with Flow("on-failure-trigger") as flow:
        inc.copy(on_failure=lambda t, s: calls.append(type(s).__name__))(boom())
    run(flow, executor)
    assert calls == ["TriggerFailed"]


def test_flow_state_handlers(executor):
    log = []

    def handler(flow, old, new):
        log.append((flow.name, old, new))

    with Flow("flow-handlers", state_handlers=[handler]) as flow:
        one()
    state = run(flow, executor)
    assert [name for name, _, _ in log] == ["flow-handlers"] * 2
    (o1, n1), (o2, n2) = [(o, n) for _, o, n in log]
    assert o1.is_scheduled() and isinstance(n1, Running)
    assert isinstance(o2, Running) and type(n2) is Success
    assert n2 is state


def test_flow_state_handlers_start_from_scheduled(executor):
    log = []
    with Flow("scheduled", state_handlers=[lambda f, o, n: log.append((o, n))]) as flow:
        one()
    run(flow, executor)
    assert names(log) == [("Scheduled", "Running"), ("Running", "Success")]


@pytest.mark.parametrize("how", ["raise FAIL", "return Failed", "raise ValueError",
                                 "raise SKIP"])
def test_flow_handler_ending_the_running_transition_ends_the_run(executor, rec, how):
    """Prefect 1.4.1's flow runner (checked with the oracle): the handler's state (a
    signal's state, a returned one, or Failed naming the error) ends the run; no task runs."""
    def handler(flow, old, new):
        if isinstance(new, Running):
            if how == "raise FAIL":
                raise signals.FAIL("not today")
            if how == "return Failed":
                return Failed("not today")
            if how == "raise ValueError":
                raise ValueError("bad handler")
            raise signals.SKIP("not today")
        return new

    @task
    def work():
        rec.add("work")

    with Flow("refused", state_handlers=[handler]) as flow:
        work()
    state = flow.run(executor=executor)
    assert rec.items == []
    if how == "raise ValueError":
        assert type(state) is Failed and isinstance(state.result, ValueError)
        assert state.message == ("Unexpected error while calling state handlers: "
                                 "ValueError('bad handler') (flow 'refused')")
    else:
        assert type(state) is (Skipped if how == "raise SKIP" else Failed)
        assert state.message == "not today"
    from prefect_dask.store.records import find_run
    assert find_run("last", "refused")["state"] == type(state).__name__


def test_flow_state_handler_can_replace_the_final_state(executor):
    def forgive(flow, old, new):
        if new.is_failed():
            return Success("forgiven", result=new.result)

    with Flow("forgive", state_handlers=[forgive]) as flow:
        b = boom()
    state = run(flow, executor)
    assert type(state) is Success and state.message == "forgiven"
    assert state.result[b].is_failed()


def test_flow_on_failure(executor):
    calls = []

    def on_failure(flow, state):
        calls.append((flow.name, type(state).__name__))

    with Flow("flow-fail", on_failure=on_failure) as failing:
        boom()
    with Flow("flow-ok", on_failure=on_failure) as ok:
        one()
    run(failing, executor)
    run(ok, executor)
    assert calls == [("flow-fail", "Failed")]


# -- logging -----------------------------------------------------------------------

def test_get_logger_in_a_task(executor, caplog):
    caplog.set_level(logging.INFO)

    @task
    def talk():
        get_logger().info("hello from %s", "talk")
        return 1

    with Flow("logflow") as flow:
        run_ = talk()
    run(flow, executor)
    records = [r for r in caplog.records if r.getMessage() == "hello from talk"]
    assert len(records) == 1
    rec = records[0]
    assert rec.name == "prefect_dask.talk"   # the logger get_logger("talk") returns
    assert rec.levelno == logging.INFO
    assert (rec.flow_name, rec.task_name, rec.map_index) == ("logflow", "talk", None)


def test_get_logger_outside_a_run():
    logger = get_logger()
    assert logger.name.startswith("prefect_dask")


def test_log_stdout_captures_print(executor, caplog, capsys):
    caplog.set_level(logging.INFO)

    @task(log_stdout=True)
    def chatty():
        print("printed line one")
        print("printed", "line", "two")
        return 1

    @task
    def quiet():
        print("plain print")

    with Flow("stdout") as flow:
        c = chatty()
        quiet(upstream_tasks=[c])
    state = run(flow, executor)
    assert state.is_successful()
    messages = [r.getMessage() for r in caplog.records]
    assert "printed line one" in messages
    assert "printed line two" in messages
    assert "plain print" not in messages
    records = [r for r in caplog.records if r.getMessage() == "printed line one"]
    assert "chatty" in records[0].name
    out = capsys.readouterr().out
    assert "printed line one" not in out
    assert "plain print" in out


def test_log_stdout_keeps_concurrent_tasks_apart(executor, caplog):
    caplog.set_level(logging.INFO)

    def make(label):
        @task(name=label, log_stdout=True)
        def speak():
            for i in range(20):
                print(f"{label} line {i}")
        return speak

    with Flow("stdout-many") as flow:
        for label in ("alpha", "beta", "gamma"):
            make(label)()
    run(flow, executor)
    lines = [r for r in caplog.records if " line " in r.getMessage()]
    assert len(lines) == 60
    for r in lines:
        assert r.getMessage().split()[0] == r.task_name, (r.name, r.getMessage())
    for label in ("alpha", "beta", "gamma"):
        mine = [r.getMessage() for r in lines if r.task_name == label]
        assert mine == [f"{label} line {i}" for i in range(20)]


# -- context -----------------------------------------------------------------------

def test_context_inside_a_task(executor):
    @task
    def look():
        return {
            "task_name": context.task_name,
            "flow_name": context.flow_name,
            "parameters": dict(context.parameters),
            "map_index": context.get("map_index"),
            "task_run_count": context.task_run_count,
        }

    with Flow("ctxflow") as flow:
        p = Parameter("p", default=3)
        lk = look(upstream_tasks=[p])
    got = run(flow, executor, p=5).result[lk].result
    assert got == {"task_name": "look", "flow_name": "ctxflow", "parameters": {"p": 5},
                   "map_index": None, "task_run_count": 1}


def test_context_item_access_and_extra_values(executor):
    @task
    def look():
        return context["task_name"], context.get("custom"), context.get("absent", "dflt")

    with Flow("ctx-extra") as flow:
        lk = look()
    got = run(flow, executor, context={"custom": 42}).result[lk].result
    assert got == ("look", 42, "dflt")


def test_context_is_per_task(executor):
    def make(label):
        @task(name=label)
        def who():
            return context.task_name
        return who

    labels = [f"task{i}" for i in range(6)]
    with Flow("ctx-many") as flow:
        tasks = [make(label)() for label in labels]
    state = run(flow, executor)
    assert [state.result[t].result for t in tasks] == labels


def test_task_run_name_in_context(executor):
    # recorded from Prefect 1.4.1: a template is formatted with the task's inputs,
    # parameters and context; a callable gets them as keyword arguments
    @task(task_run_name="double-{x}-{p}")
    def double(x):
        return context.get("task_run_name")

    @task(task_run_name=lambda **kw: f"fn-{kw['x']}")
    def triple(x):
        return context.get("task_run_name")

    @task
    def plain(x):
        return context.get("task_run_name")

    with Flow("run-names") as flow:
        p = Parameter("p", default="P")
        a = double(3, upstream_tasks=[p])
        b = triple(4)
        c = plain(5)
    state = run(flow, executor)
    assert [state.result[t].result for t in (a, b, c)] == ["double-3-P", "fn-4", None]


def test_context_is_empty_outside_a_run(executor):
    with Flow("ctx-after") as flow:
        one()
    run(flow, executor)
    assert context.get("task_name") is None
    assert context.get("flow_name") is None
