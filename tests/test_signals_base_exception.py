"""Signals are BaseExceptions, as in Prefect 1.4.1: ``except Exception`` in task code (or in
code a task calls) does not catch them, so the task still ends in the signal's state.

Checked against Prefect 1.4.1 with the same programs: every task below that swallows a
signal under ``except Exception`` ends Skipped/Failed/Success(result)/Retrying/Looped in
Prefect 1 exactly as here; KeyboardInterrupt and SystemExit are not signals and are never
turned into a state.
"""

from __future__ import annotations

import asyncio
import datetime
import pickle

import cloudpickle
import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import Flow, context, resource_manager, signals, task
from prefect_dask.states import (Failed, Looped, Skipped, Success, TimedOut, TriggerFailed,
                                 ValidationFailed)

pickle_by_value(__name__)


def swallowing(sig: BaseException) -> str:
    """What careless user code does: raise under a catch-all ``except Exception``."""
    try:
        raise sig
    except Exception:
        return "swallowed"


@task
def skips():
    return swallowing(signals.SKIP("not today"))


@task
def fails():
    return swallowing(signals.FAIL("too big"))


@task
def succeeds():
    return swallowing(signals.SUCCESS("done early", result=7))


@task
def validation_fails():
    return swallowing(signals.VALIDATIONFAIL("bad row"))


@task
def retries_once():
    if context.get("task_run_count") == 1:
        return swallowing(signals.RETRY("again"))
    return context.get("task_run_count")


@task
def loops():
    n = context.get("task_loop_result", 0)
    if n < 3:
        return swallowing(signals.LOOP(result=n + 1))
    return n


@task
def mapped(x):
    if x == 1:
        return swallowing(signals.SKIP(f"skip {x}"))
    if x == 2:
        return swallowing(signals.FAIL(f"fail {x}"))
    return x


@task
async def skips_async():
    await asyncio.sleep(0)
    return swallowing(signals.SKIP("async skip"))


@task(timeout=30)
def skips_under_timeout():
    return swallowing(signals.SKIP("skip within timeout"))


@task(timeout=30)
def loops_under_timeout():
    n = context.get("task_loop_result", 0)
    if n < 2:
        return swallowing(signals.LOOP(result=n + 1))
    return swallowing(signals.SUCCESS("loop done", result=n * 10))


@task
def raises_timeout_signal():
    raise signals.TaskTimeoutSignal("gave up waiting on the API")


@task
def bare_prefect_signal():
    raise signals.PrefectSignal("odd")


def test_a_signal_is_no_exception():
    for name in signals.__all__:
        obj = getattr(signals, name)
        if isinstance(obj, type):
            assert issubclass(obj, BaseException) and not issubclass(obj, Exception), name
    assert not issubclass(signals.TaskTimeoutSignal, TimeoutError)


def test_except_exception_in_a_task_does_not_catch_signals(executor):
    with Flow("swallow") as flow:
        s, f, ok, v = skips(), fails(), succeeds(), validation_fails()
        r, lp, m = retries_once(), loops(), mapped.map([0, 1, 2])
    state = flow.run(executor=executor)
    assert isinstance(state.result[s], Skipped) and state.result[s].message == "not today"
    assert isinstance(state.result[f], Failed) and state.result[f].message == "too big"
    assert isinstance(state.result[f].result, signals.FAIL)
    assert isinstance(state.result[ok], Success) and state.result[ok].result == 7
    assert isinstance(state.result[v], ValidationFailed)
    assert state.result[r].is_successful() and state.result[r].result == 2
    assert state.result[lp].result == 3
    children = state.result[m].map_states
    assert [type(c) for c in children] == [Success, Skipped, Failed]
    assert children[1].message == "skip 1" and children[2].message == "fail 2"


def test_signals_in_async_and_timeout_tasks(executor):
    with Flow("swallow-more") as flow:
        a, t, lp = skips_async(), skips_under_timeout(), loops_under_timeout()
    state = flow.run(executor=executor)
    assert isinstance(state.result[a], Skipped) and state.result[a].message == "async skip"
    assert isinstance(state.result[t], Skipped)
    assert state.result[t].message == "skip within timeout"
    assert state.result[lp].is_successful() and state.result[lp].result == 20


def test_signals_cross_processes(any_executor):
    """A signal raised on a worker (and under a timeout's child process) comes back with
    its state and result."""
    with Flow("swallow-far") as flow:
        s, m = skips(), mapped.map([0, 1, 2])
        ok, t, lp = succeeds(), skips_under_timeout(), loops_under_timeout()
        a, h = skips_async(), handled()
        tf = task(lambda x: x, name="refused", trigger=refuses)(one())
    state = flow.run(executor=any_executor)
    assert isinstance(state.result[a], Skipped) and state.result[a].message == "async skip"
    assert isinstance(state.result[h], Skipped) and state.result[h].message == "handler says skip"
    assert isinstance(state.result[tf], TriggerFailed)
    assert isinstance(state.result[tf].result, signals.TRIGGERFAIL)
    assert isinstance(state.result[s], Skipped)
    assert isinstance(state.result[s].result, signals.SKIP)
    assert [type(c) for c in state.result[m].map_states] == [Success, Skipped, Failed]
    assert state.result[ok].result == 7
    assert isinstance(state.result[t], Skipped)
    assert state.result[lp].result == 20


def test_signals_pickle_with_their_state_and_result():
    for sig in [signals.SUCCESS("ok", result=7), signals.LOOP(result=3),
                signals.RETRY("later", start_time=100, run_count=2), signals.SKIP("x")]:
        for dumps, loads in [(pickle.dumps, pickle.loads), (cloudpickle.dumps, pickle.loads)]:
            back = loads(dumps(sig))
            assert type(back) is type(sig) and back.args == sig.args
            assert type(back.state) is type(sig.state)
            assert (back.result is back) if sig.result is sig else back.result == sig.result
    back = pickle.loads(pickle.dumps(signals.RETRY("later", start_time=100, run_count=2)))
    assert back.state.start_time.timestamp() == 100.0 and back.run_count == 2


def test_a_raised_task_timeout_signal_ends_timed_out(executor):
    with Flow("timeouts") as flow:
        t, p = raises_timeout_signal(), bare_prefect_signal()
    state = flow.run(executor=executor)
    assert isinstance(state.result[t], TimedOut)
    assert isinstance(state.result[t].result, signals.TaskTimeoutSignal)
    assert isinstance(state.result[p], Failed)
    assert state.result[p].message == "Error during execution of task: PrefectSignal('odd')"


@task(timeout=datetime.timedelta(milliseconds=300), max_retries=1,
      retry_delay=datetime.timedelta(0), retry_on=TimeoutError)
def too_slow_retry_on_timeout_error():
    import time
    time.sleep(5)


def test_retry_on_timeout_error_does_not_retry_a_timeout(executor):
    """Prefect 1: a timed-out task's result is a TaskTimeoutSignal, not a TimeoutError."""
    with Flow("slow") as flow:
        t = too_slow_retry_on_timeout_error()
    state = flow.run(executor=executor).result[t]
    assert isinstance(state, TimedOut) and state.attempts == 1


def skip_when_running(task_, old, new):
    if new.is_running():
        try:
            raise signals.SKIP("handler says skip")
        except Exception:
            pass   # not reached for a signal
    return new


def signal_in_handler_then_exception(task_, old, new):
    if new.is_running():
        raise signals.FAIL("handler says fail")
    return new


@task(state_handlers=[skip_when_running])
def handled():
    return 1


@task(state_handlers=[signal_in_handler_then_exception])
def handled_fail():
    return 1


def refuses(upstream_states):
    raise signals.TRIGGERFAIL("custom trigger says no")


def skips_trigger(upstream_states):
    raise signals.SKIP("custom trigger skips")


def trigger_timeout(upstream_states):
    raise signals.TaskTimeoutSignal("trigger timed out")


@task
def one():
    return 1


def test_signals_from_handlers_and_triggers(executor):
    with Flow("engine-signals") as flow:
        h, hf = handled(), handled_fail()
        u = one()
        tf = task(lambda x: x, name="refused", trigger=refuses)(u)
        ts = task(lambda x: x, name="trigger-skipped", trigger=skips_trigger)(u)
        tt = task(lambda x: x, name="trigger-odd", trigger=trigger_timeout)(u)
    state = flow.run(executor=executor)
    assert isinstance(state.result[h], Skipped) and state.result[h].message == "handler says skip"
    assert isinstance(state.result[hf], Failed) and state.result[hf].message == "handler says fail"
    assert isinstance(state.result[tf], TriggerFailed)
    assert state.result[tf].message == "custom trigger says no"
    assert isinstance(state.result[ts], Skipped)
    assert isinstance(state.result[tt], TriggerFailed)
    assert "Unexpected error while checking task trigger: TaskTimeoutSignal('trigger timed out')" \
        in state.result[tt].message


@resource_manager
class Resource:
    def __init__(self, mode):
        self.mode = mode

    def setup(self):
        if self.mode == "setup":
            return swallowing(signals.SKIP("no resource today"))
        return "resource"

    def cleanup(self, resource):
        if self.mode == "cleanup":
            swallowing(signals.FAIL("cleanup went wrong"))


@task
def uses(resource):
    return resource


def test_signals_in_resource_manager_setup_and_cleanup(executor):
    with Flow("resources") as flow:
        with Resource("setup") as r1:
            skipped_use = uses(r1)
        with Resource("cleanup") as r2:
            good_use = uses(r2)
    state = flow.run(executor=executor)
    assert isinstance(state.result[skipped_use], Skipped)
    assert state.result[good_use].result == "resource"
    by_name = {}
    for t, s in state.result.items():
        by_name.setdefault(t.name, []).append(s)
    assert sorted(type(s).__name__ for s in by_name["Resource.setup"]) == ["Skipped", "Success"]
    cleanups = {s.message for s in by_name["Resource.cleanup"]}
    assert "cleanup went wrong" in cleanups
    assert state.is_successful()   # cleanup is no reference task, as in Prefect 1


def test_flow_handler_raising_a_signal_fails_the_run(executor):
    """Prefect 1.4.1 crashes here (a TypeError inside its flow runner); we fail the run
    naming the flow."""
    def handler(flow, old, new):
        if new.is_successful():
            raise signals.SKIP("flow handler skip")
        return new

    with Flow("flow-handled", state_handlers=[handler]) as flow:
        one()
    state = flow.run(executor=executor)
    assert isinstance(state, Failed)
    assert state.message == ("Unexpected error while calling state handlers: "
                             "SKIP('flow handler skip') (flow 'flow-handled')")


def test_terminal_state_handler_raising_a_signal_fails_the_run(executor):
    def terminal(flow, state, reference_states):
        raise signals.FAIL("terminal says no")

    with Flow("terminal", terminal_state_handler=terminal) as flow:
        one()
    state = flow.run(executor=executor)
    assert isinstance(state, Failed)
    assert state.message == "Flow 'terminal': its terminal_state_handler raised FAIL('terminal " \
        "says no')."


@task
def interrupted():
    raise KeyboardInterrupt


@task
def exits():
    raise SystemExit(3)


def test_ctrl_c_and_exit_in_a_task_are_not_states(executor):
    """Signals are BaseExceptions, but KeyboardInterrupt and SystemExit are no signals:
    they stop the run instead of becoming a task's state."""
    with Flow("ctrl-c") as flow:
        interrupted()
    with pytest.raises(KeyboardInterrupt):
        flow.run(executor=executor)
    with Flow("exit") as flow:
        exits()
    with pytest.raises(SystemExit, match="3"):
        flow.run(executor=executor)
