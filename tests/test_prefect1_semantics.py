"""Prefect 1 behaviour prefect_dask must not silently differ from (issue 13).

Each test was checked against Prefect 1.4.1 running the same program; the
values asserted are the ones Prefect 1 gives.
"""

from __future__ import annotations

import datetime
import threading
import typing

import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import Flow, Parameter, Task, case, context, merge, task, unmapped
from prefect_dask.errors import ExecutorError, FlowValidationError

pickle_by_value(__name__)


@task
def read_context():
    return context.get("key"), context.get("flow_name"), context.get("today")


# -- 1. values set around flow.run reach every task ------------------------------------

def test_context_around_run_reaches_tasks_on_every_executor(any_executor):
    with Flow("ctx") as flow:
        r = read_context()
    day = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)
    with context(key="abc", flow_name="not this", date=day):
        state = flow.run(executor=any_executor)
    # the run's own flow_name wins; dates follow a given date, as in Prefect 1
    assert state.result[r].result == ("abc", "ctx", "2020-01-02")


def test_run_context_overrides_the_context_around_run(executor):
    with Flow("ctx") as flow:
        r = read_context()
    with context(key="around"):
        state = flow.run(executor=executor, context={"key": "given"})
    assert state.result[r].result[0] == "given"
    assert flow.run(executor=executor).result[r].result[0] is None   # nothing left behind


def test_unpicklable_context_value_is_an_error_before_the_run():
    from prefect_dask.executors import LocalDaskExecutor

    with Flow("ctx") as flow:
        read_context()
    with context(lock=threading.Lock()):
        with pytest.raises(ExecutorError, match="context value 'lock' .* cannot be pickled"):
            flow.run(executor=LocalDaskExecutor(scheduler="processes"))


# -- 7. states compare as values; signals carry their state ------------------------------

def test_states_equal_by_class_and_data_not_message():
    from prefect_dask.states import Cached, Looped, Retrying, Success

    assert Success(result=1) == Success(result=1)
    assert Success("a", result=1) == Success("b", result=1)
    assert Success(result=1) != Success(result=2)
    assert Success(result=1) != Cached(result=1)
    assert Retrying(result=1, attempts=2) != Retrying(result=1, attempts=3)
    assert Looped(result=1, loop_count=2) != Looped(result=1, loop_count=3)
    # hashed by identity, as in Prefect 1: equal states stay distinct keys
    assert len({Success(result=1), Success(result=1)}) == 2


def test_signal_carries_its_state():
    from prefect_dask import signals
    from prefect_dask.states import Failed, Retrying, Skipped

    skip = signals.SKIP("x")
    assert isinstance(skip.state, Skipped) and skip.state.result is skip
    assert skip.state.message == "x"
    assert signals.FAIL("boom", result=3).state == Failed(result=3)
    assert signals.RETRY("later", start_time=5.0).state.start_time.timestamp() == 5.0
    assert isinstance(signals.RETRY().state, Retrying)


@task
def add_one(x):
    return x + 1


def test_map_states_compare_equal_to_equal_states(executor):
    from prefect_dask.states import Success

    with Flow("ms") as flow:
        r = add_one.map([1, 2])
    state = flow.run(executor=executor)
    ms = state.result[r].map_states
    assert ms == ms
    assert ms == [Success(result=2), Success(result=3)]
    assert state.result[r] == state.result[r]


def test_reprs_read_like_prefect_1():
    from prefect_dask.states import Success

    assert repr(Success("done")) == '<Success: "done">'
    assert repr(Success()) == "<Success>"
    assert repr(Flow("f")) == '<Flow: name="f">'


# -- 8. handlers edit the state they are given, as Prefect 1's docs show --------------

def set_result_handler(task, old_state, new_state):
    if new_state.is_successful():
        new_state.result = 99
        new_state.message = "edited"
    return new_state


def edit_and_return_none(task, old_state, new_state):
    if new_state.is_failed():
        new_state.message = "kept without a return"


@task(state_handlers=[set_result_handler])
def gives_one():
    return 1


@task(state_handlers=[set_result_handler])
def echo(x):
    return x


@task(state_handlers=[edit_and_return_none])
def fails():
    raise ValueError("x")


def test_task_handler_edits_take_effect_on_every_executor(any_executor):
    from prefect_dask.states import Success

    with Flow("edit") as flow:
        r = gives_one()
        m = echo.map([1, 2])
        b = fails()
    state = flow.run(executor=any_executor)
    assert state.result[r] == Success(result=99) and state.result[r].message == "edited"
    assert state.result[m].result == [99, 99]
    assert state.result[b].is_failed() and state.result[b].message == "kept without a return"
    with pytest.raises(Exception, match="cannot assign|frozen"):   # frozen outside handlers
        state.result[r].result = 1


def test_flow_and_terminal_handlers_edit_the_state(executor):
    seen = []

    def terminal(flow, state, reference_task_states):
        seen.append(len(reference_task_states))
        state.message = "custom"
        return state

    def shout(flow, old_state, new_state):
        if new_state.is_finished():
            new_state.message += "!"
        return new_state

    with Flow("edit", terminal_state_handler=terminal, state_handlers=[shout]) as flow:
        gives_one()
        fails()
    state = flow.run(executor=executor)
    assert state.is_failed() and state.message == "custom!" and seen == [2]


def test_flow_handlers_and_terminal_handler_see_the_run_context(executor):
    # Prefect 1.4.1: both run in the flow run's context: parameters, flow name, run id and
    # flow.run(context=...) values.
    seen = []

    def snap(where, state):
        seen.append((where, type(state).__name__, context.get("parameters"),
                     context.get("flow_name"), context.get("user"),
                     bool(context.get("flow_run_id")), bool(context.get("today"))))

    def terminal(flow, state, reference_task_states):
        snap("terminal", state)

    def handler(flow, old_state, new_state):
        snap("handler", new_state)

    with Flow("ctx-handlers", terminal_state_handler=terminal, state_handlers=[handler]) as flow:
        gives_one(upstream_tasks=[Parameter("a", default=1)])
    flow.run(executor=executor, parameters={"a": 5}, context={"user": "u"})
    assert seen == [(where, name, {"a": 5}, "ctx-handlers", "u", True, True)
                    for where, name in [("handler", "Running"), ("terminal", "Success"),
                                        ("handler", "Success")]]


def test_triggers_and_cache_validators_run_in_the_task_context(executor):
    # Prefect 1.4.1 checks both inside the task run's context (a mapped child's map_index...).
    seen = []

    def snap(what):
        seen.append((what, context.get("task_name"), context.get("map_index"),
                     context.get("task_run_count"), context.get("parameters")))

    def trigger(upstream_states):
        snap("trigger")
        return True

    def validator(state, inputs, parameters):
        snap("validator")
        return True

    @task(trigger=trigger, cache_for=datetime.timedelta(minutes=5), cache_validator=validator)
    def ctx_checked(x):
        return x

    with Flow("ctx-checks") as flow:
        ctx_checked.map(Parameter("xs", default=[1, 2]))
    flow.run(executor=executor)
    flow.run(executor=executor)
    assert sorted(seen) == sorted(
        [("trigger", "ctx_checked", i, 1, {"xs": [1, 2]}) for i in (0, 1) for _ in range(2)]
        + [("validator", "ctx_checked", i, 1, {"xs": [1, 2]}) for i in (0, 1)])


def test_handler_returning_a_non_state_fails_the_task_naming_it(executor):
    def bad(task, old_state, new_state):
        return "done"

    with Flow("bad-handler") as flow:
        r = gives_one(task_args={"state_handlers": [bad]})
    state = flow.run(executor=executor).result[r]
    assert state.is_failed()
    assert "state handler 'bad'" in state.message and "not a State" in state.message


def test_on_failure_is_among_the_state_handlers(executor):
    calls = []

    def note(task, state):
        calls.append(state.message)
        state.message = "noted"

    t = fails.copy()
    t2 = type(t)(t.run, name="f2", on_failure=note)
    assert len(t2.state_handlers) == 1
    with Flow("of") as flow:
        r = t2()
    state = flow.run(executor=executor)
    assert state.result[r].message == "noted" and len(calls) == 1


# -- 3. case() and merge() on the imperative API ----------------------------------------

class Yes(Task):
    def run(self):
        return True


class Say(Task):
    def __init__(self, word, **kwargs):
        self.word = word
        super().__init__(name=word, **kwargs)

    def run(self):
        return self.word


def test_case_and_merge_with_the_imperative_api(executor):
    flow = Flow("imperative")
    cond, a, b, after = Yes(), Say("a"), Say("b"), Say("after")
    flow.add_task(cond)
    with case(cond, True):
        flow.add_task(a)
        flow.set_dependencies(after, upstream_tasks=[a])   # gated through a, not the gate
    with case(cond, False):
        flow.add_task(b)
    m = merge(a, b, flow=flow)
    state = flow.run(executor=executor)
    assert state.result[m].result == "a"
    assert state.result[a].is_successful() and state.result[b].is_skipped()
    assert state.result[after].result == "after"
    gates = flow.get_tasks(name="case(True)")
    assert len(gates) == 1 and flow.upstream_tasks(after) == {a}


def test_one_case_block_cannot_hold_tasks_of_two_flows():
    f1, f2 = Flow("one"), Flow("two")
    with pytest.raises(FlowValidationError, match=r"case\('Yes', True\).*two flows .*'one'.*'two'"):
        with case(Yes(), True):
            f1.add_task(Say("a"))
            f2.add_task(Say("b"))


def test_case_nested_in_a_resource_block_imperatively(executor, tmp_path):
    from prefect_dask import resource_manager

    @resource_manager
    class Res:
        def setup(self):
            return "r"

        def cleanup(self, r):
            (tmp_path / "cleaned").write_text(r)

    flow = Flow("res-case")
    cond, a = Yes(), Say("a")
    with Res(flow=flow) as r:
        with case(cond, True):
            flow.add_task(a)
    state = flow.run(executor=executor)
    assert state.result[a].result == "a" and (tmp_path / "cleaned").read_text() == "r"
    assert r in flow.upstream_tasks(flow.get_tasks(name="case(True)")[0]) | flow.upstream_tasks(cond)


# -- 11. helper tasks carry Prefect 1's names; ifelse takes lists ------------------------

def test_helper_tasks_have_prefect_1_names(executor):
    from prefect_dask import FilterTask, ifelse, switch

    with Flow("names") as flow:
        cond = Say("a")()
        a, b, c = Say("x")(), Say("y")(), Say("z")()
        switch(cond, {"a": a, "b": b})
        ifelse(Yes()(), [a, b], c)
        merged = merge(a, b)
        kept = FilterTask()([a, b])
    assert flow.get_tasks(name="Merge") == [merged]
    assert flow.get_tasks(name="FilterTask") == [kept]
    assert len(flow.get_tasks(name='CompareValue: "a"')) == 1
    assert all("switch" in t.tags for t in flow.get_tasks(name='CompareValue: "b"'))
    assert len(flow.get_tasks(name="as_bool")) == 1
    state = flow.run(executor=executor)
    assert state.result[merged].result == "x" and state.result[c].is_skipped()


# -- 5. flow.update merges flows that each call the same task ----------------------------

def test_update_merges_tasks_of_the_same_name(executor):
    with Flow("a") as a:
        ra = add_one(1)
    with Flow("b") as b:
        rb = add_one(10)
    a.update(b)
    assert len(a.tasks) == 2 and len({t.slug for t in a.tasks}) == 2
    state = a.run(executor=executor)
    assert (state.result[ra].result, state.result[rb].result) == (2, 11)
    assert b.run(executor=executor).result[rb].result == 11   # b still runs on its own


def test_update_still_refuses_two_explicit_equal_slugs():
    a, b = Flow("a"), Flow("b")
    a.add_task(Say("x", slug="same"))
    b.add_task(Say("y", slug="same"))
    with pytest.raises(FlowValidationError, match="Flow 'a' already has a task with slug 'same'"):
        a.update(b)


# -- 4. flatten: a flat list stays flat; a child that is not a list goes on whole ----------

@task
def lists_but_two(n):
    return n if n == 2 else [n, n]


def test_flatten_follows_prefect_1_on_every_executor(any_executor):
    from prefect_dask import flatten

    with Flow("flatten") as flow:
        flat = add_one.map(flatten([1, 2, 3]))
        mixed = add_one.map(flatten(lists_but_two.map([1, 2, 3])))
    state = flow.run(executor=any_executor)
    assert state.result[flat].result == [2, 3, 4]
    assert state.result[mixed].result == [2, 2, 3, 4, 4]


# -- 2. apply_map maps every task the function builds ------------------------------------

@task
def plus(x, y):
    return x + y


def pick_branch(flag, a, b):
    with case(flag, True):
        yes = add_one(a)
    with case(flag, False):
        no = add_one(b)
    return merge(yes, no)


def test_apply_map_gates_each_element_by_its_own_case(executor):
    from prefect_dask import apply_map

    with Flow("am-case") as flow:
        r = apply_map(pick_branch, [True, False, True], [1, 2, 3], [4, 5, 6])
    assert flow.run(executor=executor).result[r].result == [2, 6, 4]


def test_apply_map_maps_tasks_that_read_no_mapped_argument(executor):
    from prefect_dask import apply_map, unmapped

    with Flow("am-root") as flow:
        r = apply_map(lambda x: plus(x, add_one(1)), [1, 2, 3])
        u = apply_map(lambda x, k: plus(x, add_one(k)), [1, 2, 3], unmapped(10))
    state = flow.run(executor=executor)
    assert state.result[r].result == [3, 4, 5]
    assert state.result[u].result == [12, 13, 14]
    assert all(state.result[t].is_mapped() for t in flow.get_tasks(name="add_one"))


def test_apply_map_zips_to_the_shortest_input(executor):
    from prefect_dask import apply_map

    def each(x, y):
        return plus(add_one(x), add_one(y))

    with Flow("am-len") as flow:
        r = apply_map(plus, range(3), range(3, 300))
        e = apply_map(each, range(3), range(3, 300))
    state = flow.run(executor=executor)
    assert state.result[r].result == [3, 5, 7] and state.result[e].result == [5, 7, 9]
    # every task the function built runs 3 times, not 297 (each reads every argument)
    assert {len(state.result[t].map_states) for t in flow.get_tasks(name="add_one")} == {3}


def test_apply_map_over_apply_map_and_the_imperative_form(executor):
    from prefect_dask import apply_map

    with Flow("am-nested") as flow:
        r = apply_map(lambda x: plus(x, x), apply_map(add_one, [1, 2, 3]))
    assert flow.run(executor=executor).result[r].result == [4, 6, 8]

    def build(x, flow):
        return add_one(x, flow=flow)

    imperative = Flow("am-flow")
    r2 = apply_map(build, [1, 2], flow=imperative)
    assert imperative.run(executor=executor).result[r2].result == [2, 3]


def test_apply_map_inside_an_outer_case_is_gated_as_a_whole(executor):
    from prefect_dask import apply_map

    with Flow("am-outer") as flow:
        with case(Yes()(), False):
            r = apply_map(add_one, [1, 2])
    assert flow.run(executor=executor).result[r].is_skipped()


def test_map_inside_apply_map_is_an_error():
    from prefect_dask import apply_map
    from prefect_dask.errors import ApplyMapError

    with Flow("am-bad"):
        with pytest.raises(ApplyMapError,
                           match=r"'add_one' is mapped inside the function '<lambda>' given to "
                                 r"apply_map.*add_one\(\.\.\.\), not add_one\.map"):
            apply_map(lambda x: add_one.map(x), [1, 2])
        with pytest.raises(TypeError, match=r"argument 1 = 5 is a int, not a sequence"):
            apply_map(plus, 5, [1])


# -- 6. result locations are honoured ----------------------------------------------------

def child_location(**fields):
    return f"call-{fields['task_name']}-{fields['map_index']}.bin"


def test_result_location_templates_are_written_exactly_there(any_executor, tmp_path):
    from prefect_dask import LocalResult, Parameter
    from prefect_dask.results import read_value

    by_input = add_one.copy(result=LocalResult(dir=tmp_path, location="out-{x}.txt"))
    by_fields = add_one.copy(result=LocalResult(
        dir=tmp_path, location="{task_name}-{map_index}-{p}-{today_nodash}.bin"))
    by_call = add_one.copy(result=LocalResult(dir=tmp_path, location=child_location))
    day = datetime.datetime(2021, 3, 4, tzinfo=datetime.timezone.utc)
    with Flow("locations") as flow:
        p = Parameter("p", default="P")
        r = by_input(1)
        m = by_fields.map([1, 2], upstream_tasks=[unmapped(p)])
        c = by_call.map([5])
    state = flow.run(executor=any_executor, context={"date": day})
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "add_one-0-P-20210304.bin", "add_one-1-P-20210304.bin", "call-add_one-0.bin",
        "out-1.txt"]
    assert state.result[r].location == str(tmp_path / "out-1.txt")
    assert read_value(tmp_path / "out-1.txt") == 2
    assert read_value(tmp_path / "add_one-1-P-20210304.bin") == 3
    assert state.result[m].map_states[0].location.endswith("add_one-0-P-20210304.bin")
    assert state.result[c].is_mapped()


def test_flow_result_location_and_home_in_dir(executor, tmp_path, monkeypatch):
    from prefect_dask import LocalResult

    monkeypatch.setenv("HOME", str(tmp_path))
    with Flow("flow-location", result=LocalResult(dir="~/res", location="{task_name}.pkl")) as flow:
        add_one(1)
    flow.run(executor=executor)
    assert (tmp_path / "res" / "add_one.pkl").is_file()


def test_result_location_with_an_unknown_field_is_an_error_before_the_run(executor):
    from prefect_dask import LocalResult
    from prefect_dask.errors import TargetError

    with Flow("bad-location") as flow:
        add_one.copy(result=LocalResult(location="{nope}.pkl"))(1)
    with pytest.raises(TargetError, match=r"task 'add_one': result location '\{nope\}.pkl' uses "
                                          r"unknown "
                                          r"field\(s\) 'nope'"):
        flow.run(executor=executor)
    with context(nope="set around the run"):   # a value of the run context is a field
        assert flow.run(executor=executor).is_successful()


# -- 10. checks Prefect 1 made: its error types, our messages -----------------------------

@pytest.mark.parametrize("arg", ["flow", "mapped", "upstream_tasks", "task_args"])
def test_reserved_run_argument_names_are_refused(arg):
    namespace: dict = {}
    exec(f"def fn({arg}):\n    return 1", namespace)
    with pytest.raises(ValueError, match=rf"Task 'fn': run\(\) has argument\(s\) '{arg}'.*"
                                         r"rename them"):
        task(namespace["fn"])


def test_var_positional_run_is_refused():
    with pytest.raises(ValueError, match=r"Task 'star': run\(\) takes \*args"):
        @task
        def star(*xs):
            return xs


def test_retry_delay_without_retries_is_refused_but_retries_without_delay_are_fine():
    with pytest.raises(ValueError, match=r"Task 'Task': retry_delay=.* has no effect without "
                                         r"retries; also pass max_retries=N"):
        Task(retry_delay=datetime.timedelta(seconds=1))
    with pytest.raises(ValueError, match="has no effect without retries"):
        Task(max_retries=0, retry_delay=datetime.timedelta(seconds=1))
    assert Task(max_retries=2).max_retries == 2


@pytest.mark.parametrize("bad", [1.5, "3", True])
def test_a_timeout_that_is_not_an_int_or_timedelta_is_a_type_error(bad):
    with pytest.raises(TypeError, match=rf"Task 'Task': timeout={bad!r} must be an int number "
                                        r"of seconds or a datetime.timedelta"):
        Task(timeout=bad)
    assert Task(timeout=datetime.timedelta(milliseconds=500)).timeout == 0.5


def test_tags_as_a_string_is_a_type_error():
    with pytest.raises(TypeError, match=r"Task 'Task': tags='x' is a string; pass a collection "
                                        r"of tags, e.g. tags=\['x'\]"):
        Task(tags="x")


def test_flow_run_inside_its_with_block_is_refused():
    with pytest.raises(RuntimeError, match=r"Flow 'early': flow.run\(\) was called inside its "
                                           r"own `with Flow\(\.\.\.\)` block"):
        with Flow("early") as flow:
            add_one(1)
            flow.run()


def test_an_edge_from_a_task_to_itself_is_refused():
    from prefect_dask import Edge

    t = Task(name="loop")
    with pytest.raises(ValueError, match="An edge cannot connect task 'loop' to itself"):
        Edge(t, t)
    with pytest.raises(ValueError, match="cannot connect task 'loop' to itself"):
        Flow("self").add_edge(t, t)


def test_a_resource_block_cannot_take_tasks_of_another_flow():
    from prefect_dask import resource_manager

    @resource_manager
    class Res:
        def setup(self):
            return 1

    a, b = Flow("a"), Flow("b")
    with pytest.raises(ValueError, match=r"resource 'Res': tasks of two flows \('a' and 'b'\)"):
        with Res(flow=a):
            b.add_task(Task(name="stray"))


@task(nout=2)
def pair(x):
    return x, x


def test_unpacking_a_mapped_task_is_a_type_error():
    with Flow("unpack"):
        with pytest.raises(TypeError, match=r"Task 'pair' is mapped, so it cannot be unpacked"):
            first, second = pair.map([1, 2])
        first, second = pair(1)     # an unmapped one still unpacks


def test_cache_validator_without_cache_for_warns_and_defaults_follow_prefect_1():
    from prefect_dask import cache_validators

    with pytest.warns(UserWarning, match=r"Task 'Task': cache_validator given without cache_for"):
        Task(cache_validator=cache_validators.all_inputs)
    assert Task().cache_validator is cache_validators.never_use
    assert Task(cache_for=datetime.timedelta(1)).cache_validator is cache_validators.duration_only


def test_tasks_created_in_a_flow_block_but_never_added_warn():
    with pytest.warns(UserWarning, match=r"Flow 'unused': tasks were created in its `with` block "
                                         r"but never added to it: \[<Task: lonely>\]"):
        with Flow("unused"):
            add_one(1)
            Task(name="lonely")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Flow("used") as flow:    # called or added tasks do not warn
            template = Task(name="template")
            template()
            flow.add_task(Task(name="added"))


# -- 11. smaller differences --------------------------------------------------------------

def test_parameter_run_outside_a_run_and_copy():
    from prefect_dask import Parameter
    from prefect_dask.errors import ParameterError

    assert Parameter("x", default=2).run() == 2
    with pytest.raises(ParameterError, match=r"Parameter 'x' is required and has no value here"):
        Parameter("x").run()
    y = Parameter("x", default=2).copy("y")
    assert (y.name, y.slug, y.default) == ("y", "y", 2)


def test_operators_items_and_dependency_methods_follow_prefect_1():
    with Flow("ops") as flow:
        t = Task(name="t")
        assert (t | 1) == 1                      # the value becomes a Constant downstream
        first = gives_one.copy(checkpoint=True, result="kept")()[0]
        a, b = Task(name="a"), Task(name="b")
        assert a.set_downstream(b) is a and b.set_upstream(a) is b
        assert a.set_dependencies(downstream_tasks=[b]) is a
    assert sorted(x.name for x in flow.downstream_tasks(t)) == ["1"]
    assert (first.checkpoint, first.result) == (True, "kept")


@task
def two(a, b=2, **rest) -> typing.Tuple[int, int]:
    return a, b


def test_signature_and_tuple_annotation():
    import inspect

    assert str(inspect.signature(two)).startswith(
        "(a, b=2, *, mapped: bool = False, task_args: dict = None")
    assert "**rest" in str(inspect.signature(two)) and two.nout == 2


def test_builtin_error_types_for_function_task_and_return_tasks():
    from prefect_dask.task import FunctionTask

    with pytest.raises(TypeError, match=r"FunctionTask needs a function, got 1"):
        FunctionTask(fn=1)
    with Flow("rt") as flow:
        r = add_one(1)
    with pytest.raises(ValueError, match=r"Flow 'rt': flow.run\(\) takes no return_tasks"):
        flow.run(return_tasks=[r])


def test_a_handler_returning_resume_for_a_paused_task_resumes_it(executor):
    from prefect_dask.states import Paused, Resume
    from prefect_dask.triggers import manual_only

    def go_on(task, old_state, new_state):
        return Resume("go") if isinstance(new_state, Paused) else new_state

    gated = add_one.copy(trigger=manual_only, state_handlers=[go_on])
    with Flow("resume") as flow:
        r = gated(gives_one())
    state = flow.run(executor=executor)
    assert state.result[r].is_successful() and state.result[r].result == 100
    # gives_one's handler sets 99


def test_a_restart_with_task_states_sets_a_resource_up_again(executor, tmp_path):
    from prefect_dask import resource_manager

    log = tmp_path / "log"

    @resource_manager
    class Res:
        def setup(self):
            with log.open("a") as fh:
                fh.write("setup\n")
            return 5

        def cleanup(self, r):
            with log.open("a") as fh:
                fh.write("cleanup\n")

    with Flow("restart") as flow:
        with Res() as r:
            u = echo(r)
    first = flow.run(executor=executor)
    given = {t: s for t, s in first.result.items() if t is not u}
    second = flow.run(executor=executor, task_states=given)
    assert second.result[u].result == 99
    assert log.read_text().split() == ["setup", "cleanup"] * 2


def test_a_target_wins_over_a_result_location_with_a_warning(executor, tmp_path):
    from prefect_dask import LocalResult

    with pytest.warns(UserWarning, match=r"Task 'two_ways': both target='t.bin' and a result "
                                         r"location 'l.bin' were given; the target is used"):
        @task(result=LocalResult(dir=tmp_path, location="l.bin"), target="t.bin")
        def two_ways():
            return 1
    with Flow("target-wins") as flow:
        two_ways()
    flow.run(executor=executor)
    assert [f.name for f in tmp_path.iterdir()] == ["t.bin"]


def test_adding_another_flows_task_whose_made_up_slug_clashes_names_the_fix():
    with Flow("a") as a:
        add_one(1)
    with Flow("b") as b:
        theirs = add_one(2)
    with pytest.raises(FlowValidationError, match=r"Flow 'a': task 'add_one' belongs to another "
                                                  r"flow.*flow.update\(other\).*task.copy\(\)"):
        a.add_task(theirs)
