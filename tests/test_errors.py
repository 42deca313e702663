"""Every user mistake of issue 2 raises a clear error before anything runs.

Messages are pinned with ``match=``; each names what went wrong, where, and the fix.
Error types subclass the built-in a Prefect 1 user would have caught; where
that differs from Prefect 1.4.1 (recorded with the oracle) the test is marked.
"""

from __future__ import annotations

import contextlib
import re

import pytest

from prefect_dask import Flow, Parameter, Task, task
from tasks import inc
from prefect_dask.errors import (CycleError, ExecutorError, FlowValidationError, ParameterError,
                                 PrefectDaskError, TaskBindError, TaskDefinitionError)
from prefect_dask.executors import LocalDaskExecutor

from conftest import Recorder


@contextlib.contextmanager
def raises(builtin, match):
    """``pytest.raises(builtin, match=...)`` that also checks the error is one of ours.

    ``builtin`` is the built-in type Prefect 1.4.1 raised for the same mistake
    (recorded with the oracle), so existing ``except`` clauses keep working.
    """
    with pytest.raises(builtin, match=match) as info:
        yield info
    assert isinstance(info.value, PrefectDaskError), type(info.value).__mro__


@task(nout=2)
def pair():
    return 1, 2


def recording_flow(name="f"):
    """A flow whose root task records when it runs, to prove nothing ran."""
    rec = Recorder()

    @task
    def root():
        rec.add("ran")
        return 1

    flow = Flow(name)
    r = root.copy()
    flow.add_task(r)
    return flow, r, rec


def test_all_errors_share_a_base():
    for err in (CycleError, ExecutorError, FlowValidationError, ParameterError,
                TaskBindError, TaskDefinitionError):
        assert issubclass(err, PrefectDaskError)


# -- calling and binding tasks -------------------------------------------------------

def test_calling_a_task_outside_a_flow():
    # Prefect 1.4.1 raised ValueError here
    with raises(ValueError, match=r"'inc' was called outside a flow.*"
                                            r"`with Flow\(\.\.\.\):`.*call `inc\.run\(\.\.\.\)`"):
        inc(1)


def test_task_argument_the_function_does_not_accept():
    with Flow("f"):
        with raises(TypeError, match=r"Task 'inc' cannot be called with these arguments: "
                                            r"got an unexpected keyword argument 'y'.*"
                                            r"signature is inc\(x\)"):
            inc(1, y=2)


def test_too_many_positional_arguments():
    with Flow("f"):
        with raises(TypeError, match=r"'inc'.*too many positional arguments.*inc\(x\)"):
            inc(1, 2)


def test_missing_argument():
    with Flow("f"):
        with raises(TypeError, match=r"'inc'.*missing a required argument: 'x'"):
            inc()


def test_missing_argument_error_leaves_the_flow_unchanged():
    with Flow("f") as flow:
        a = inc(1)
        with pytest.raises(TypeError):
            inc()
    assert flow.tasks == {a}


def test_run_with_varargs_is_rejected():
    with raises(ValueError, match=r"'spread'.*\*args"):
        @task
        def spread(*xs):
            return xs


def test_nout_mismatch_too_many_targets():
    with Flow("f"):
        # Prefect 1.4.1 raised ValueError (Python's own unpacking error)
        with raises(ValueError, match=r"Task 'pair' declares nout=2 but is unpacked "
                                                r"into 3 values; set nout=3"):
            a, b, c = pair()


def test_nout_mismatch_too_few_targets():
    with Flow("f"):
        with raises(ValueError, match=r"'pair' declares nout=2 but is unpacked into 1"):
            (a,) = pair()


def test_unpacking_a_task_without_nout():
    with Flow("f"):
        with raises(TypeError, match=r"Task 'inc' is not iterable.*nout=N.*Tuple\[\.\.\.\]"):
            a, b = inc(1)


def test_copy_with_unknown_option():
    # Prefect 1.4.1 raised AttributeError
    with raises(AttributeError, match=r"Task 'inc': copy\(\) got an unknown option 'colour'"):
        inc.copy(colour="red")


# -- task options ------------------------------------------------------------------

def test_retry_on_without_max_retries():
    with raises(ValueError, match=r"Task 'fetch': retry_on=.*ConnectionError.* "
                                                  r"has no effect without retries; also pass "
                                                  r"max_retries=N"):
        @task(retry_on=ConnectionError)
        def fetch():
            pass
    with pytest.raises(ValueError, match="max_retries"):      # Prefect 1 raised ValueError too
        Task(name="t", retry_on=[ValueError])


def test_retry_on_must_hold_exception_types():
    with raises(ValueError, match=r"retry_on must hold exception classes.*'oops'"):
        Task(name="t", max_retries=1, retry_on=["oops"])


def test_bad_durations():
    with raises(ValueError, match=r"Task 't': retry_delay='soon' is not a duration"):
        Task(name="t", max_retries=1, retry_delay="soon")
    with raises(ValueError, match=r"Task 't': timeout=-1 must be positive"):
        Task(name="t", timeout=-1)
    with raises(ValueError, match=r"max_retries=-1 must be an int >= 0"):
        Task(name="t", max_retries=-1)


def test_non_callable_task_state_handler():
    with raises(ValueError, match=r"Task 't': state handler 'log' is not callable;"
                                                  r" a task state handler is "
                                                  r"fn\(task, old_state, new_state\)"):
        Task(name="t", state_handlers=["log"])


def test_non_callable_task_on_failure():
    with raises(ValueError, match=r"Task 'notify': state handler 3 is not callable"):
        @task(on_failure=3)
        def notify():
            pass


def test_non_callable_flow_state_handler():
    with raises(ValueError, match=r"Flow 'ff': state handler 'nope' is not "
                                                  r"callable; a flow state handler is "
                                                  r"fn\(flow, old_state, new_state\)"):
        Flow("ff", state_handlers=["nope"])


def test_non_callable_flow_on_failure():
    with raises(ValueError, match=r"Flow 'ff': state handler 3 is not callable"):
        Flow("ff", on_failure=3)


def test_task_decorator_needs_a_function():
    with raises(TypeError, match=r"@task / FunctionTask needs a function, got 5"):  # Prefect 1's type
        task(5)


# -- flow structure ----------------------------------------------------------------

def test_cycle_names_the_tasks_on_it():
    flow, root, rec = recording_flow("cyclic")
    a, b, c = inc.copy(name="alpha"), inc.copy(name="beta"), inc.copy(name="gamma")
    flow.add_edge(root, a, key="x")
    flow.add_edge(a, b, key="x")
    flow.add_edge(b, c, key="x")
    flow.add_edge(c, a)
    with pytest.raises(CycleError, match=r"Flow 'cyclic' has a cycle: .*remove one of these "
                                         r"edges") as info:
        flow.run()
    message = str(info.value)
    for name in ("alpha", "beta", "gamma"):
        assert f"'{name}'" in message
    assert "'root'" not in message                # only the tasks on the cycle
    assert rec.items == []
    with pytest.raises(CycleError):
        flow.validate()


def test_cycle_of_two():
    flow = Flow("two")
    a, b = inc.copy(name="a"), inc.copy(name="b")
    flow.add_edge(a, b, key="x")
    flow.add_edge(b, a, key="x")
    with pytest.raises(ValueError, match=r"Flow 'two' has a cycle: '(a|b)' <- '(a|b)' <- '(a|b)'"):
        flow.validate()


def test_add_edge_validate_true_raises_at_once():
    flow = Flow("now")
    a, b = inc.copy(name="a"), inc.copy(name="b")
    flow.add_edge(a, b, key="x")
    with pytest.raises(CycleError, match="cycle"):
        flow.add_edge(b, a, validate=True)


def test_parameter_with_upstream_tasks():
    flow = Flow("pflow")
    p = Parameter("p")
    with raises(ValueError, match=r"Flow 'pflow': Parameter 'p' cannot have "
                                                  r"upstream tasks"):
        flow.add_edge(inc.copy(), p)
    with Flow("pflow2") as flow2:
        p2 = Parameter("p2")
        with pytest.raises(ValueError, match=r"Parameter 'p2' cannot have upstream tasks"):
            p2.set_upstream(inc(1))
    with pytest.raises(ValueError, match=r"Parameter 'p3' cannot have upstream tasks"):
        flow2.set_dependencies(Parameter("p3"), upstream_tasks=[inc.copy()])


def test_argument_bound_twice():
    flow = Flow("twice")
    a, b, d = inc.copy(name="a"), inc.copy(name="b"), inc.copy(name="d")
    flow.add_edge(a, d, key="x")
    with raises(ValueError, match=r"argument 'x' of task 'd' is already bound"):
        flow.add_edge(b, d, key="x")


def test_duplicate_parameter_names():
    with raises(ValueError, match=r"already has a Parameter 'p'"):
        with Flow("dups"):
            inc(Parameter("p"))
            inc(Parameter("p"))


def test_add_task_needs_a_task():
    with pytest.raises(TypeError, match=r"add_task\(\) needs a Task, got 3"):
        Flow("f").add_task(3)


def test_flow_name_must_be_a_string():
    with raises(ValueError, match="non-empty string"):
        Flow("")


# -- flow.run arguments ------------------------------------------------------------

def param_flow():
    rec = Recorder()

    @task
    def use(a, b):
        rec.add("ran")

    with Flow("pf") as flow:
        use(Parameter("alpha"), Parameter("beta", default=2))
    return flow, rec


def test_missing_required_parameter():
    # flow.run raises the plain built-in type, as Prefect 1 did (the conformance harness
    # compares type names); the message is still ours.
    flow, rec = param_flow()
    with pytest.raises(ValueError, match=r"Flow 'pf' needs a value for required "
                                             r"parameter\(s\) 'alpha'; pass "
                                             r"flow\.run\(parameters=\{'alpha': \.\.\.\}\)"):
        flow.run()
    with pytest.raises(ValueError, match="'alpha'"):          # Prefect 1 raised ValueError too
        flow.run(parameters={"beta": 3})
    assert rec.items == []


def test_unknown_parameter():
    # flow.run raises the plain built-in type, as Prefect 1 did (the conformance harness
    # compares type names); the message is still ours.
    flow, rec = param_flow()
    with pytest.raises(ValueError, match=r"Flow 'pf' has no parameter\(s\) 'gamma'; its "
                                             r"parameters are: alpha, beta"):
        flow.run(parameters={"alpha": 1, "gamma": 3})
    assert rec.items == []


def test_unexpected_keyword_to_run():
    # flow.run raises the plain built-in type, as Prefect 1 did (the conformance harness
    # compares type names); the message is still ours.
    flow, rec = param_flow()
    # Prefect 1.4.1 raised TypeError, like any Python call
    with pytest.raises(TypeError, match=r"Flow 'pf': run\(\) got unexpected keyword "
                                               r"argument\(s\) 'gama'; keyword arguments of "
                                               r"run\(\) must name the flow's parameters: "
                                               r"\['alpha', 'beta'\]"):
        flow.run(alpha=1, gama=3)
    assert rec.items == []


def test_unexpected_keyword_on_a_flow_without_parameters():
    # flow.run raises the plain built-in type, as Prefect 1 did (the conformance harness
    # compares type names); the message is still ours.
    flow, root, rec = recording_flow("bare")
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'x'.*parameters: "
                                             r"none"):
        flow.run(x=1)
    assert rec.items == []


def test_unknown_executor_name():
    flow, root, rec = recording_flow()
    with pytest.raises(ExecutorError, match=r"Unknown executor 'cluster'; known executors: "
                                            r".*local.*threads.*Pass one of these names or an "
                                            r"executor object"):
        flow.run(executor="cluster")
    assert rec.items == []


def test_not_an_executor():
    flow, root, rec = recording_flow()
    with pytest.raises(ExecutorError, match=r"42 is not an executor"):
        flow.run(executor=42)
    assert rec.items == []


def test_bad_local_dask_executor_scheduler():
    with pytest.raises(ExecutorError, match=re.escape(
            "LocalDaskExecutor(scheduler='greenlets') is not a scheduler; use one of "
            "'threads', 'processes', 'sync'.")):
        LocalDaskExecutor(scheduler="greenlets")


def test_bad_local_dask_executor_num_workers():
    with pytest.raises(ExecutorError, match=r"num_workers=0\) must be an int >= 1"):
        LocalDaskExecutor(num_workers=0)


def test_executor_used_outside_with():
    ex = LocalDaskExecutor(scheduler="threads", num_workers=1)
    with pytest.raises(ExecutorError, match=r"outside `with executor:`.*flow\.run\(executor=\.\.\.\)"):
        ex.compute({}, [], {})


def test_task_states_for_a_task_not_in_the_flow_is_named():
    from prefect_dask.states import Success

    @task
    def a():
        return 1

    with Flow("given-states") as flow:
        a()
    with pytest.raises(TypeError, match=r"'given-states'.*task_states has <Task: a>.*not a "
                                        r"task of this flow.*get_tasks"):
        flow.run(task_states={a: Success(result=1)})   # `a` itself: the flow holds a copy


def test_task_states_value_that_is_not_a_state_is_named():
    @task
    def a():
        return 1

    with Flow("given-values") as flow:
        t = a()
    with pytest.raises(TypeError, match=r"'given-values'.*task_states\['a'\] = 5 is not a "
                                        r"State.*Success\(result=...\)"):
        flow.run(task_states={t: 5})
