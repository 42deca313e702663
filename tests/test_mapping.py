"""Mapping semantics (issue 3), on every executor of the ``executor`` fixture.

Each behaviour is Prefect 1.4.1's, checked by running the same program under
the real Prefect (``/tmp/oracle``) unless a test says it is a deliberate
difference.  Batching, depth-first order and scale are in
``test_mapping_execution.py``.

The ``executor`` fixture runs tasks in this process (local, threads), so tests
may record events in a ``Recorder``; what must also hold on processes and Dask
is tested in ``test_mapping_execution.py`` and ``test_executors_cluster.py``.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from prefect_dask import (Flow, Parameter, apply_map, case, context, flatten, merge, signals,
                          task, triggers, unmapped)
from tasks import inc, add
from prefect_dask.errors import PrefectDaskError
from prefect_dask.states import Failed, Mapped, Skipped, Success, TimedOut, TriggerFailed

TRIGGER_FAILED = 'Trigger was "all_successful" but some of the upstream tasks failed.'
UPSTREAM_SKIPPED = "Upstream task was skipped"


# -- helpers ------------------------------------------------------------------------

def kinds(state) -> list[str]:
    """Class names of a mapped state's children, in order."""
    return [type(c).__name__ for c in state.map_states]


def assert_mapped(state, results: list, child_kinds: list[str] | None = None) -> None:
    """``state`` is Mapped with these child results (and child state classes)."""
    assert isinstance(state, Mapped), state
    assert len(state.map_states) == len(results)
    assert [c.result for c in state.map_states] == results
    assert list(state.result) == results
    assert kinds(state) == (child_kinds or ["Success"] * len(results))
    assert [c.map_index for c in state.map_states] == list(range(len(results)))


# -- tasks (module level: no shared state, picklable by reference) --------------------

@task
def double(x):
    return 2 * x


@task
def pair(x, y):
    return (x, y)


@task
def ident(x):
    return x


@task
def numbers(n):
    return list(range(n))


@task
def total(xs):
    return sum(xs)


@task
def collect(xs):
    return list(xs)


@task(trigger=triggers.all_finished)
def collect_all(xs):
    return list(xs)


@task(skip_on_upstream_skip=False)
def collect_unskipped(xs):
    return list(xs)


@task
def fail_on(x, bad=2):
    if x == bad:
        raise ValueError(f"bad element {x}")
    return x


@task
def skip_on(x, skip=1):
    if x == skip:
        raise signals.SKIP(f"skip element {x}")
    return x


@task
def repeat(n):
    return [n] * n


@task
def list_of_lists():
    return [[1, 2], [], [3], [4, 5, 6]]


@task
def who_am_i(x):
    return (x, context.get("map_index"), context.get("task_full_name"), context.get("task_name"))


@task
def boom():
    raise ValueError("upstream boom")


# -- task.map over constants, Parameters and upstream results -------------------------

def test_map_over_a_constant_list(executor):
    with Flow("map-constant") as flow:
        a = inc.map([1, 2, 3])
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert_mapped(state.result[a], [2, 3, 4])
    children = state.result[a].map_states
    assert [c.task_name for c in children] == ["inc"] * 3
    assert all(c.attempts == 1 for c in children)


def test_map_states_is_a_list_like_of_states(executor):
    with Flow("list-like") as flow:
        a = inc.map([10, 20, 30])
    ms = flow.run(executor=executor).result[a].map_states
    assert len(ms) == 3
    assert ms[0].result == 11 and ms[-1].result == 31
    assert [s.result for s in ms] == [11, 21, 31]
    assert [s.result for s in ms[1:]] == [21, 31]
    assert [s.result for s in reversed(ms)] == [31, 21, 11]
    assert all(isinstance(s, Success) for s in ms)


@pytest.mark.parametrize("value, expected", [
    ([1, 2, 3], [2, 3, 4]),
    ((1, 2), [2, 3]),
    (range(3), [1, 2, 3]),
])
def test_map_over_a_parameter(executor, value, expected):
    with Flow("map-parameter") as flow:
        xs = Parameter("xs")
        a = inc.map(xs)
    state = flow.run(parameters={"xs": value}, executor=executor)
    assert_mapped(state.result[a], expected)


def test_map_over_a_parameter_default_and_override(executor):
    with Flow("map-parameter-default") as flow:
        xs = Parameter("xs", default=[1, 2])
        a = double.map(xs)
    assert_mapped(flow.run(executor=executor).result[a], [2, 4])
    assert_mapped(flow.run(xs=[5, 6, 7], executor=executor).result[a], [10, 12, 14])


@pytest.mark.parametrize("value, expected", [
    ([1, 2, 3], [2, 3, 4]),
    ((5, 6), [6, 7]),
    (range(4), [1, 2, 3, 4]),
])
def test_map_over_an_upstream_result(executor, value, expected):
    with Flow("map-upstream") as flow:
        a = inc.map(ident(value))
    assert_mapped(flow.run(executor=executor).result[a], expected)


def test_map_over_an_upstream_result_that_depends_on_a_parameter(executor):
    with Flow("staged-width") as flow:
        n = Parameter("n")
        a = inc.map(numbers(n))
        t = total(a)
    for width in (0, 1, 7):
        state = flow.run(n=width, executor=executor)
        assert_mapped(state.result[a], [i + 1 for i in range(width)])
        assert state.result[t].result == sum(range(1, width + 1))


def test_map_positional_and_keyword_arguments(executor):
    with Flow("positional-keyword") as flow:
        both_pos = add.map([1, 2, 3], [10, 20, 30])
        both_kw = add.map(x=[1, 2, 3], y=[10, 20, 30])
        mixed = pair.map([1, 2, 3], y=["a", "b", "c"])
        reversed_kw = pair.map(y=[1, 2], x=["a", "b"])
    state = flow.run(executor=executor)
    assert_mapped(state.result[both_pos], [11, 22, 33])
    assert_mapped(state.result[both_kw], [11, 22, 33])
    assert_mapped(state.result[mixed], [(1, "a"), (2, "b"), (3, "c")])
    assert_mapped(state.result[reversed_kw], [("a", 1), ("b", 2)])


def test_mapping_keeps_the_original_task_unbound(executor):
    with Flow("copies") as flow:
        a = inc.map([1, 2])
        b = inc.map([3])
    assert a is not inc and b is not inc and a is not b
    assert inc not in flow.tasks
    state = flow.run(executor=executor)
    assert_mapped(state.result[a], [2, 3])
    assert_mapped(state.result[b], [4])


# -- zipping: the shortest mapped input wins ----------------------------------------------

def test_zip_constants_shortest_wins(executor):
    with Flow("zip") as flow:
        a = add.map([1, 2, 3], [10, 20])
        b = add.map(x=[1], y=[10, 20, 30])
    state = flow.run(executor=executor)
    assert_mapped(state.result[a], [11, 22])
    assert_mapped(state.result[b], [11])


def test_zip_mapped_upstream_with_constant_and_parameter(executor):
    with Flow("zip-mixed") as flow:
        p = Parameter("p")
        up = inc.map([0, 1, 2, 3])           # width 4
        a = pair.map(up, [7, 8])             # width 2
        b = pair.map(p, up)                  # width 3 (parameter)
        c = pair.map(numbers(5), up)         # width 4 (staged upstream of width 5)
    state = flow.run(p=["a", "b", "c"], executor=executor)
    assert_mapped(state.result[a], [(1, 7), (2, 8)])
    assert_mapped(state.result[b], [("a", 1), ("b", 2), ("c", 3)])
    assert_mapped(state.result[c], [(0, 1), (1, 2), (2, 3), (3, 4)])


def test_zip_two_mapped_upstreams_of_different_widths(executor):
    with Flow("zip-mapped") as flow:
        long = inc.map([0, 1, 2, 3, 4])
        short = double.map([1, 2, 3])
        z = pair.map(long, short)
    state = flow.run(executor=executor)
    assert_mapped(state.result[z], [(1, 2), (2, 4), (3, 6)])


# -- unmapped -------------------------------------------------------------------------------

def test_unmapped_constant_scalar_and_list(executor):
    with Flow("unmapped-constants") as flow:
        a = add.map([1, 2, 3], unmapped(100))
        b = pair.map([1, 2], y=unmapped([9, 9, 9]))
        c = pair.map(x=unmapped("abc"), y=[1, 2])
    state = flow.run(executor=executor)
    assert_mapped(state.result[a], [101, 102, 103])
    assert_mapped(state.result[b], [(1, [9, 9, 9]), (2, [9, 9, 9])])
    assert_mapped(state.result[c], [("abc", 1), ("abc", 2)])


def test_unmapped_tasks(executor):
    with Flow("unmapped-tasks") as flow:
        p = Parameter("p", default=[5, 6, 7])
        up = inc.map([1, 2, 3])
        with_list_task = pair.map([10, 20], y=unmapped(numbers(3)))
        with_mapped_task = pair.map([10, 20], y=unmapped(up))      # the whole list of results
        with_parameter = pair.map(unmapped(p), up)
        with_scalar_task = add.map(up, unmapped(total([1, 2])))
    state = flow.run(executor=executor)
    assert_mapped(state.result[with_list_task], [(10, [0, 1, 2]), (20, [0, 1, 2])])
    assert_mapped(state.result[with_mapped_task], [(10, [2, 3, 4]), (20, [2, 3, 4])])
    assert_mapped(state.result[with_parameter], [([5, 6, 7], 2), ([5, 6, 7], 3), ([5, 6, 7], 4)])
    assert_mapped(state.result[with_scalar_task], [5, 6, 7])


def test_only_unmapped_inputs_do_not_set_the_width(executor):
    with Flow("unmapped-width") as flow:
        a = pair.map([1, 2], unmapped([1, 2, 3, 4, 5]))
    assert_mapped(flow.run(executor=executor).result[a], [(1, [1, 2, 3, 4, 5]),
                                                          (2, [1, 2, 3, 4, 5])])


# -- flatten --------------------------------------------------------------------------------

def test_flatten_a_constant_list_of_lists(executor):
    with Flow("flatten-constant") as flow:
        a = double.map(flatten([[1, 2], [], [3]]))
        b = double.map(flatten([[], []]))
    state = flow.run(executor=executor)
    assert_mapped(state.result[a], [2, 4, 6])
    assert_mapped(state.result[b], [])


def test_flatten_a_mapped_upstream_returning_lists(executor):
    with Flow("flatten-mapped") as flow:
        lists = repeat.map([1, 0, 3, 2])          # [[1], [], [3, 3, 3], [2, 2]]
        flat = ident.map(flatten(lists))
        again = double.map(flat)
        t = total(flat)
    state = flow.run(executor=executor)
    assert_mapped(state.result[lists], [[1], [], [3, 3, 3], [2, 2]])
    assert_mapped(state.result[flat], [1, 3, 3, 3, 2, 2])
    assert_mapped(state.result[again], [2, 6, 6, 6, 4, 4])
    assert state.result[t].result == 14


def test_flatten_a_non_mapped_upstream_returning_a_list_of_lists(executor):
    with Flow("flatten-upstream") as flow:
        flat = double.map(flatten(list_of_lists()))
    assert_mapped(flow.run(executor=executor).result[flat], [2, 4, 6, 8, 10, 12])


def test_flatten_zipped_with_a_plain_mapped_input(executor):
    with Flow("flatten-zip") as flow:
        z = pair.map(flatten([[1, 2], [3]]), [10, 20, 30, 40])
    assert_mapped(flow.run(executor=executor).result[z], [(1, 10), (2, 20), (3, 30)])


def test_flatten_in_a_non_mapped_call_passes_the_flat_list(executor):
    with Flow("flatten-reduce") as flow:
        lists = repeat.map([1, 2])
        from_mapped = collect(flatten(lists))
        from_constant = collect(flatten([[1], [2, 3]]))
    state = flow.run(executor=executor)
    assert isinstance(state.result[from_mapped], Success)
    assert not state.result[from_mapped].is_mapped()
    assert state.result[from_mapped].result == [1, 2, 2]
    assert state.result[from_constant].result == [1, 2, 3]


def test_flatten_keeps_failed_and_skipped_children_as_one_element(executor):
    with Flow("flatten-failed-child") as flow:
        lists = ident.map([[1, 2], 0, [3, 4], 5])
        checked = fail_on.map(lists, bad=unmapped(0))      # child 1 fails
        skipped = skip_on.map(checked, skip=unmapped(5))   # child 3 skipped
        flat = ident.map(flatten(skipped))
    state = flow.run(executor=executor)
    assert kinds(state.result[skipped]) == ["Success", "TriggerFailed", "Success", "Skipped"]
    flat_state = state.result[flat]
    assert isinstance(flat_state, Mapped)
    assert kinds(flat_state) == ["Success", "Success", "TriggerFailed", "Success", "Success",
                                 "Skipped"]
    assert [c.result for c in flat_state.map_states][:2] == [1, 2]
    assert [c.result for c in flat_state.map_states][3:] == [3, 4, None]


# -- apply_map --------------------------------------------------------------------------------

def inc_then_double(x):
    return double(inc(x))


def test_apply_map_maps_every_task_the_function_builds(executor):
    with Flow("apply-map") as flow:
        out = apply_map(inc_then_double, [1, 2, 3])
        t = total(out)
    state = flow.run(executor=executor)
    assert_mapped(state.result[out], [4, 6, 8])
    (inner_inc,) = flow.get_tasks(name="inc")
    assert_mapped(state.result[inner_inc], [2, 3, 4])
    assert state.result[t].result == 18


def test_apply_map_child_i_feeds_child_i(executor):
    def check_then_double(x):
        return double(fail_on(x))

    with Flow("apply-map-failure") as flow:
        out = apply_map(check_then_double, [0, 1, 2, 3])
    state = flow.run(executor=executor)
    (checked,) = flow.get_tasks(name="fail_on")
    assert kinds(state.result[checked]) == ["Success", "Success", "Failed", "Success"]
    assert kinds(state.result[out]) == ["Success", "Success", "TriggerFailed", "Success"]
    assert [state.result[out].map_states[i].result for i in (0, 1, 3)] == [0, 2, 6]


@task
def product(t):
    return t[0] * t[1]


def scaled_sum(x, k, offset):
    return add(product(pair(x, k)), offset)


def test_apply_map_with_unmapped_keyword_arguments(executor):
    with Flow("apply-map-unmapped") as flow:
        k = Parameter("k", default=3)
        out = apply_map(scaled_sum, [1, 2, 3], k=unmapped(k), offset=unmapped(100))
    state = flow.run(executor=executor)
    assert_mapped(state.result[out], [103, 106, 109])
    (inner_pair,) = flow.get_tasks(name="pair")
    assert_mapped(state.result[inner_pair], [(1, 3), (2, 3), (3, 3)])


def test_apply_map_with_unmapped_positional_task_and_list(executor):
    with Flow("apply-map-unmapped-positional") as flow:
        out = apply_map(pair, [1, 2], unmapped(total([1, 1])))
    assert_mapped(flow.run(executor=executor).result[out], [(1, 2), (2, 2)])
    with Flow("apply-map-unmapped-list") as flow:
        out = apply_map(pair, [1, 2], y=unmapped([7, 8]))
    assert_mapped(flow.run(executor=executor).result[out], [(1, [7, 8]), (2, [7, 8])])


@pytest.mark.parametrize("source", ["parameter", "upstream"])
def test_apply_map_over_a_parameter_or_an_upstream_result(executor, source):
    with Flow("apply-map-sources") as flow:
        xs = Parameter("xs", default=[10, 20]) if source == "parameter" else numbers(3)
        out = apply_map(inc_then_double, xs)
    expected = [22, 42] if source == "parameter" else [2, 4, 6]
    assert_mapped(flow.run(executor=executor).result[out], expected)


def test_apply_map_twice_and_beside_a_task_of_the_same_name(executor):
    with Flow("apply-map-twice") as flow:
        before = inc(1)
        first = apply_map(inc_then_double, [1, 2])
        second = apply_map(inc_then_double, [3])
    state = flow.run(executor=executor)
    assert state.result[before].result == 2
    assert_mapped(state.result[first], [4, 6])
    assert_mapped(state.result[second], [8])


@task
def is_even(x):
    return x % 2 == 0


@task
def halve(x):
    return x // 2


@task
def triple_plus(x, k):
    return 3 * x + k


def collatz_step(x, k):
    even = is_even(x)
    with case(even, True):
        a = halve(x)
    with case(even, False):
        b = triple_plus(x, k)
    return merge(a, b)


def test_apply_map_with_case_and_merge_inside(executor):
    with Flow("apply-map-case") as flow:
        out = apply_map(collatz_step, [1, 2, 3, 4], k=unmapped(1))
        t = collect(out)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert_mapped(state.result[out], [4, 1, 10, 2])
    assert state.result[t].result == [4, 1, 10, 2]
    (half,) = flow.get_tasks(name="halve")
    (trip,) = flow.get_tasks(name="triple_plus")
    # each branch is skipped only at the indices where its case did not match
    assert kinds(state.result[half]) == ["Skipped", "Success", "Skipped", "Success"]
    assert kinds(state.result[trip]) == ["Success", "Skipped", "Success", "Skipped"]
    assert [c.result for c in state.result[half].map_states] == [None, 1, None, 2]


def test_apply_map_children_see_their_map_index(executor):
    def tag(x):
        return who_am_i(inc(x))

    with Flow("apply-map-context") as flow:
        out = apply_map(tag, [5, 6])
    state = flow.run(executor=executor)
    assert_mapped(state.result[out], [(6, 0, "who_am_i[0]", "who_am_i"),
                                      (7, 1, "who_am_i[1]", "who_am_i")])


def test_apply_map_with_a_function_that_creates_no_tasks():
    def no_tasks(x):
        return x

    with Flow("apply-map-empty"):
        with pytest.raises(PrefectDaskError,
                           match=r"apply_map\(no_tasks, \.\.\.\): no_tasks created no tasks"):
            apply_map(no_tasks, [1, 2])


def test_apply_map_outside_a_flow():
    with pytest.raises(PrefectDaskError,
                       match=r"apply_map\(inc_then_double, \.\.\.\) needs a flow: call it "
                             r"inside `with Flow\(\.\.\.\):` or pass flow="):
        apply_map(inc_then_double, [1, 2])


def test_apply_map_reading_a_parameter_the_flow_does_not_have_yet(executor):
    # Prefect 1.4.1 raised ValueError("Parameters must be root tasks ...") while building:
    # every task the function builds reads the mapped arguments, a Parameter cannot.
    def with_k(x):
        return pair(x, k)

    # (the flow then warns that Parameter k was made in its block but never used)
    with pytest.warns(UserWarning, match=r"never added to it: \[<Parameter: k>\]"), \
            Flow("apply-map-closure-param"):
        k = Parameter("k", default=[7, 8])
        with pytest.raises(ValueError, match=r"apply_map\(with_k, \.\.\.\) in flow "
                           r"'apply-map-closure-param': with_k uses Parameter 'k', which is not "
                           r"in the flow yet.*apply_map\(with_k, \.\.\., k=unmapped\(k\)\)"):
            apply_map(with_k, [1, 2])
    # Already in the flow, it is mapped over like any outer task (Prefect 1 too).
    with Flow("apply-map-closure-param-known") as flow:
        k = Parameter("k", default=[7, 8])
        pair(k, 0)
        out = apply_map(with_k, [1, 2])
    assert_mapped(flow.run(executor=executor).result[out], [(1, 7), (2, 8)])


# -- map of map: child i depends only on child i ------------------------------------------------

def test_map_of_map_a_failed_child_fails_only_its_own_index_downstream(executor):
    with Flow("map-of-map") as flow:
        first = fail_on.map([0, 1, 2, 3, 4])       # child 2 fails
        second = double.map(first)
        third = inc.map(second)
    state = flow.run(executor=executor)
    assert kinds(state.result[first]) == ["Success", "Success", "Failed", "Success", "Success"]
    assert kinds(state.result[second]) == ["Success", "Success", "TriggerFailed", "Success",
                                           "Success"]
    assert kinds(state.result[third]) == ["Success", "Success", "TriggerFailed", "Success",
                                          "Success"]
    results = [c.result for c in state.result[third].map_states]
    assert [results[i] for i in (0, 1, 3, 4)] == [1, 3, 7, 9]
    assert isinstance(state.result[first].map_states[2].result, ValueError)
    assert state.result[second].map_states[2].message == TRIGGER_FAILED
    assert state.is_failed()


def test_map_of_map_child_i_receives_child_i(executor):
    with Flow("map-of-map-values") as flow:
        first = who_am_i.map([10, 11, 12])
        second = ident.map(first)
    state = flow.run(executor=executor)
    assert_mapped(state.result[second], [(10, 0, "who_am_i[0]", "who_am_i"),
                                         (11, 1, "who_am_i[1]", "who_am_i"),
                                         (12, 2, "who_am_i[2]", "who_am_i")])


def test_trigger_runs_per_child(executor):
    @task(trigger=triggers.all_failed)
    def cleanup(x):
        return "cleaned"

    with Flow("per-child-trigger") as flow:
        first = fail_on.map([0, 1, 2, 3])
        clean = cleanup.map(first)
    state = flow.run(executor=executor)
    assert kinds(state.result[clean]) == ["TriggerFailed", "TriggerFailed", "Success",
                                          "TriggerFailed"]
    assert state.result[clean].map_states[2].result == "cleaned"


def test_map_over_a_failed_upstream_fails_the_parent(executor):
    # Prefect 1: Failed("No upstream states can be mapped over."), even with all_finished
    with Flow("map-failed-upstream") as flow:
        a = inc.map(boom())
        b = collect_all.map(boom())
    state = flow.run(executor=executor)
    for t in (a, b):
        assert type(state.result[t]) is Failed
        assert state.result[t].message == "No upstream states can be mapped over."


# -- reduce: a non-mapped downstream gets the list of child results ---------------------

def test_reduce_receives_child_results_in_order(executor):
    @task(map_batch_size=1)
    def slow_first(x):
        time.sleep(0.005 * (8 - x))   # later children tend to finish first on threads
        return x * x

    with Flow("reduce-order") as flow:
        squares = slow_first.map(list(range(8)))
        out = collect(squares)
    state = flow.run(executor=executor)
    assert state.result[out].result == [x * x for x in range(8)]


def test_reduce_with_default_trigger_fails_when_a_child_failed(executor):
    with Flow("reduce-trigger-failed") as flow:
        checked = fail_on.map([0, 1, 2, 3])
        out = collect(checked)
    state = flow.run(executor=executor)
    assert type(state.result[out]) is TriggerFailed
    assert state.result[out].message == TRIGGER_FAILED
    assert state.is_failed()


def test_reduce_with_all_finished_receives_the_exceptions(executor):
    with Flow("reduce-all-finished") as flow:
        checked = fail_on.map([0, 1, 2, 3])
        second = double.map(checked)
        out = collect_all(checked)
        out2 = collect_all(second)
    state = flow.run(executor=executor)
    got = state.result[out].result
    assert isinstance(state.result[out], Success)
    assert got[:2] == [0, 1] and got[3] == 3
    assert isinstance(got[2], ValueError) and str(got[2]) == "bad element 2"
    got2 = state.result[out2].result
    assert got2[:2] == [0, 2] and got2[3] == 6
    assert isinstance(got2[2], signals.TRIGGERFAIL)


def mapped_parent_with_one_failed_middle_child(upstream_states) -> bool:
    """A trigger that passes only if it sees the mapped parent and its children's states."""
    (state,) = upstream_states.values()
    return isinstance(state, Mapped) and kinds(state) == ["Success", "Failed", "Success"]


def test_reduce_trigger_sees_the_children(executor):
    @task(trigger=mapped_parent_with_one_failed_middle_child)
    def custom(xs):
        return "ran"

    @task(trigger=triggers.any_failed)
    def on_any_failure(xs):
        return "ran"

    with Flow("reduce-trigger-sees-children") as flow:
        checked = fail_on.map([0, 2, 4], bad=unmapped(2))
        ok = inc.map([0, 2, 4])
        a = custom(checked)
        b = on_any_failure(checked)
        c = on_any_failure(ok)
    state = flow.run(executor=executor)
    assert state.result[a].result == "ran"
    assert state.result[b].result == "ran"
    assert type(state.result[c]) is TriggerFailed


# -- failing children do not stop their siblings -------------------------------------------------

def test_failing_children_do_not_stop_siblings(executor):
    @task(map_batch_size=4)
    def fail_even(x):
        if x % 2 == 0:
            raise ValueError(f"even {x}")
        return x

    with Flow("siblings") as flow:
        a = fail_even.map(list(range(10)))
        b = double.map(a)
    state = flow.run(executor=executor)
    pa = state.result[a]
    assert isinstance(pa, Mapped)
    assert kinds(pa) == ["Failed", "Success"] * 5
    assert [c.result for c in pa.map_states][1::2] == [1, 3, 5, 7, 9]
    assert [str(c.result) for c in pa.map_states][0::2] == [f"even {i}" for i in range(0, 10, 2)]
    assert kinds(state.result[b]) == ["TriggerFailed", "Success"] * 5
    assert [c.result for c in state.result[b].map_states][1::2] == [2, 6, 10, 14, 18]
    assert state.is_failed()


def test_failing_children_do_not_stop_siblings_and_all_ran(executor, rec):
    @task(map_batch_size=3)
    def record(x):
        rec.add(x)
        if x in (0, 4):
            raise ValueError(x)
        return x

    with Flow("siblings-ran") as flow:
        record.map(list(range(7)))
    flow.run(executor=executor)
    assert sorted(rec.items) == list(range(7))


# -- mapping over [] -----------------------------------------------------------------------------

def test_map_over_an_empty_list(executor):
    # Prefect 1.4.1: Mapped with no children; a mapped downstream is Mapped with no
    # children; a reduce (any trigger) succeeds with []; the flow succeeds.
    with Flow("empty") as flow:
        a = inc.map([])
        b = double.map(a)
        r = collect(a)
        r2 = collect(b)
        r3 = collect_all(a)
    state = flow.run(executor=executor)
    assert state.is_successful()
    for t in (a, b):
        assert isinstance(state.result[t], Mapped)
        assert len(state.result[t].map_states) == 0
        assert list(state.result[t].result) == []
    for t in (r, r2, r3):
        assert isinstance(state.result[t], Success) and not state.result[t].is_mapped()
        assert state.result[t].result == []


@pytest.mark.parametrize("source", ["parameter", "upstream", "zip", "flatten"])
def test_map_over_an_empty_list_from_any_source(executor, source):
    with Flow("empty-sources") as flow:
        if source == "parameter":
            a = inc.map(Parameter("xs", default=[]))
        elif source == "upstream":
            a = inc.map(numbers(0))
        elif source == "zip":
            a = add.map([], [1, 2, 3])
        else:
            a = inc.map(flatten(repeat.map([0, 0])))
        t = total(a)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert_mapped(state.result[a], [])
    assert state.result[t].result == 0


# -- bad map inputs ---------------------------------------------------------------------------

UNMAPPABLE = [
    pytest.param(5, "int", id="int"),
    pytest.param(None, "NoneType", id="None"),
    pytest.param({"a": 1, "b": 2}, "dict", id="dict"),  # Prefect 1 crashes with KeyError: 0
]

@pytest.mark.parametrize("value, type_name", UNMAPPABLE)
@pytest.mark.parametrize("source", ["parameter", "upstream"])
def test_map_over_an_unmappable_value_fails_the_parent(executor, value, type_name, source):
    # Prefect 1.4.1 for a non-iterable from a Parameter or an upstream task: the parent is
    # Failed (not TriggerFailed) and a reduce on it is TriggerFailed; the flow is Failed.
    with Flow("unmappable") as flow:
        if source == "parameter":
            src = Parameter("things")
            src_name = "things"
        else:
            src = ident(value)
            src_name = "ident"
        a = inc.map(src)
        r = collect(a)
    params = {"things": value} if source == "parameter" else {}
    state = flow.run(parameters=params, executor=executor)
    parent = state.result[a]
    assert type(parent) is Failed, parent
    assert "'inc'" in parent.message          # names the task
    assert f"'{src_name}'" in parent.message  # and where the value came from
    assert type_name in parent.message        # and what it was
    assert "unmapped(" in parent.message      # and the fix
    assert type(state.result[r]) is TriggerFailed
    assert state.is_failed()


@pytest.mark.parametrize("value, type_name", UNMAPPABLE + [pytest.param({1, 2}, "set", id="set")])
def test_map_over_an_unmappable_constant_raises_before_anything_runs(value, type_name):
    # Prefect 1 raises TypeError in .map(); DESIGN.md: errors known before the run are raised
    # before anything runs.
    with pytest.raises(TypeError, match=rf"(?s)'inc'.*{type_name}"):
        with Flow("unmappable-constant"):
            inc.map(value)


@pytest.mark.parametrize("source", ["constant", "parameter", "upstream"])
def test_map_over_a_string_maps_its_characters_as_prefect_1_does(executor, source):
    # Prefect 1.4.1 maps a str per character (a documented difference from issue 3, which
    # asked for an error: moving Prefect 1 flows over unchanged wins).
    @task
    def upper(c):
        return c.upper()

    with Flow("string") as flow:
        if source == "constant":
            src = "abc"
        else:
            src = Parameter("text", default="abc") if source == "parameter" else ident("abc")
        a = upper.map(src)
    state = flow.run(executor=executor)
    assert type(state.result[a]) is Mapped
    assert [c.result for c in state.result[a].map_states] == ["A", "B", "C"]


def test_map_over_a_generator_fails_the_parent(executor):
    @task
    def gen():
        return (i for i in range(3))

    with Flow("generator") as flow:
        a = inc.map(gen())
    parent = flow.run(executor=executor).result[a]
    assert type(parent) is Failed
    assert "'inc'" in parent.message and "generator" in parent.message


def test_map_over_a_set_from_upstream_fails_the_parent(executor):
    with Flow("set") as flow:
        a = inc.map(ident({1, 2}))
    parent = flow.run(executor=executor).result[a]
    assert type(parent) is Failed
    assert "'inc'" in parent.message and "set" in parent.message


def test_flatten_of_a_mapped_child_that_is_not_a_list_takes_it_whole(executor, caplog):
    # Prefect 1: the child goes on as one element, with a warning (not a failed map)
    @task
    def lists_but_one(n):
        return 7 if n == 2 else [n] * n

    with Flow("flatten-bad-child") as flow:
        parts = lists_but_one.map([1, 3, 2])
        flat = ident.map(flatten(parts))
    with caplog.at_level("WARNING", logger="prefect_dask"):
        parent = flow.run(executor=executor).result[flat]
    assert parent.is_mapped() and parent.result == [1, 3, 3, 3, 7]
    assert any("'ident'" in r.message and "children [2]" in r.message for r in caplog.records)


def test_flatten_of_a_constant_holding_a_non_list_maps_over_it_unflattened(executor):
    # Prefect 1: flatten leaves a value that is not a list of lists as it is
    with Flow("flatten-bad-constant") as flow:
        a = ident.map(flatten([[1], 5, [2]]))
        b = ident.map(flatten([1, 2, 3]))
    state = flow.run(executor=executor)
    assert state.result[a].result == [[1], 5, [2]] and state.result[b].result == [1, 2, 3]


def test_flatten_of_an_upstream_result_holding_a_non_list_maps_over_it_unflattened(executor):
    with Flow("flatten-bad-element") as flow:
        flat = ident.map(flatten(ident([[1], 5, [2]])))
        whole = ident(flatten(ident([[1], 5, [2]])))
    state = flow.run(executor=executor)
    assert state.result[flat].result == [[1], 5, [2]]
    assert state.result[whole].result == [[1], 5, [2]]


# -- every child runs the whole pipeline on its own -------------------------------------------

@task(max_retries=3, retry_delay=timedelta(seconds=5))
def fails_x_times(x):
    """Child x fails on its first x attempts (4 attempts at most)."""
    if context.task_run_count <= x:
        raise ValueError(f"child {x}, attempt {context.task_run_count}")
    return (x, context.task_run_count)


def test_retries_are_per_child(executor, clock):
    with Flow("retries-per-child") as flow:
        a = fails_x_times.map([0, 1, 2, 3, 4])
        r = collect(a)
    state = flow.run(executor=executor, clock=clock)
    parent = state.result[a]
    assert kinds(parent) == ["Success"] * 4 + ["Failed"]
    assert [c.attempts for c in parent.map_states] == [1, 2, 3, 4, 4]
    assert [c.result for c in parent.map_states][:4] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert str(parent.map_states[4].result) == "child 4, attempt 4"
    assert sorted(clock.sleeps) == [5.0] * (0 + 1 + 2 + 3 + 3)    # no real sleeping
    assert type(state.result[r]) is TriggerFailed


def test_retries_per_child_count_calls(executor, clock, rec):
    @task(max_retries=2, retry_delay=1, map_batch_size=2)
    def flaky(x):
        rec.add(x)
        if x == 1 and context.task_run_count < 3:
            raise ValueError("once more")
        return x

    with Flow("retry-calls") as flow:
        a = flaky.map([0, 1, 2])
    state = flow.run(executor=executor, clock=clock)
    assert_mapped(state.result[a], [0, 1, 2])
    assert [rec.count(i) for i in range(3)] == [1, 3, 1]


def test_timeout_is_per_child(executor):
    @task(timeout=timedelta(seconds=0.2), map_batch_size=1)
    def sleepy(x):
        if x == 1:
            time.sleep(1.0)
        return x

    with Flow("timeout-per-child") as flow:
        a = sleepy.map([0, 1, 2])
        b = inc.map(a)
    state = flow.run(executor=executor)
    assert kinds(state.result[a]) == ["Success", "TimedOut", "Success"]
    assert isinstance(state.result[a].map_states[1], TimedOut)
    assert kinds(state.result[b]) == ["Success", "TriggerFailed", "Success"]


def test_skip_in_a_child_skips_only_that_index_downstream(executor):
    # Prefect 1.4.1: the skipped child's result is the SKIP signal, its downstream child is
    # Skipped with result None, a reduce (skip_on_upstream_skip=True) is Skipped, one with
    # skip_on_upstream_skip=False gets the results; the flow succeeds.
    with Flow("skip-child") as flow:
        a = skip_on.map([0, 1, 2])
        b = double.map(a)
        c = inc.map(b)
        r_default = collect(b)
        r_all_finished = collect_all(b)
        r_keep_b = collect_unskipped(b)
        r_keep_a = collect_unskipped(a)
    state = flow.run(executor=executor)
    assert kinds(state.result[a]) == ["Success", "Skipped", "Success"]
    assert kinds(state.result[b]) == ["Success", "Skipped", "Success"]
    assert kinds(state.result[c]) == ["Success", "Skipped", "Success"]
    assert isinstance(state.result[a].map_states[1].result, signals.SKIP)
    assert [c.result for c in state.result[b].map_states] == [0, None, 4]
    assert [c.result for c in state.result[c].map_states] == [1, None, 5]
    assert UPSTREAM_SKIPPED in state.result[b].map_states[1].message
    for t in (r_default, r_all_finished):
        assert type(state.result[t]) is Skipped
        assert UPSTREAM_SKIPPED in state.result[t].message
    assert state.result[r_keep_b].result == [0, None, 4]
    got = state.result[r_keep_a].result
    assert got[0] == 0 and got[2] == 2 and isinstance(got[1], signals.SKIP)
    assert state.is_successful()


def _transitions(rec):
    by_child: dict = {}
    for index, old, new in rec.items:
        by_child.setdefault(index, []).append((old, new))
    return by_child


def test_state_handlers_run_per_child(executor, rec):
    def handler(task_, old, new):
        rec.add((new.map_index, type(old).__name__, type(new).__name__))

    @task(state_handlers=[handler])
    def handled(x):
        if x == 1:
            raise ValueError("one")
        return x

    with Flow("handlers") as flow:
        a = handled.map([0, 1, 2])
    flow.run(executor=executor)
    # Prefect 1.4.1 calls the parent's handler with Pending -> Mapped, and each child's
    # with Pending -> Running -> Success/Failed.
    assert _transitions(rec) == {
        None: [("Pending", "Mapped")],
        0: [("Pending", "Running"), ("Running", "Success")],
        1: [("Pending", "Running"), ("Running", "Failed")],
        2: [("Pending", "Running"), ("Running", "Success")],
    }


def test_state_handler_changes_only_its_own_child(executor):
    def rescue(task_, old, new):
        if new.is_failed():
            return Success(result=f"rescued {new.map_index}")
        return None

    with Flow("handler-rescue") as flow:
        a = fail_on.copy(state_handlers=[rescue]).map([0, 1, 2, 3])
        b = ident.map(a)
    state = flow.run(executor=executor)
    assert kinds(state.result[a]) == ["Success"] * 4
    assert [c.result for c in state.result[a].map_states] == [0, 1, "rescued 2", 3]
    assert_mapped(state.result[b], [0, 1, "rescued 2", 3])


def test_state_replaced_by_a_handler_keeps_the_child_identity(executor):
    def rescue(task_, old, new):
        return Success(result="rescued") if new.is_failed() else None

    with Flow("handler-rescue-identity") as flow:
        a = fail_on.copy(state_handlers=[rescue]).map([0, 1, 2, 3])
    parent = flow.run(executor=executor).result[a]
    assert [(c.task_name, c.map_index) for c in parent.map_states] == [
        ("fail_on", 0), ("fail_on", 1), ("fail_on", 2), ("fail_on", 3)]


def test_on_failure_runs_for_each_failed_child(executor, rec):
    def on_failure(task_, state):
        rec.add((task_.name, state.map_index, str(state.result)))

    with Flow("on-failure") as flow:
        fail_on.copy(on_failure=on_failure).map([2, 0, 2, 1])
    flow.run(executor=executor)
    assert sorted(rec.items) == [("fail_on", 0, "bad element 2"), ("fail_on", 2, "bad element 2")]


def test_state_handlers_see_the_child_context(executor, rec):
    def handler(task_, old, new):
        rec.add((context.get("map_index"), context.get("task_full_name"), type(new).__name__))

    @task(state_handlers=[handler])
    def handled(x):
        return x

    with Flow("handler-context") as flow:
        handled.map([0, 1])
    flow.run(executor=executor)
    # what Prefect 1.4.1 records
    assert sorted(rec.items, key=repr) == sorted([
        (None, "handled", "Mapped"),
        (0, "handled[0]", "Running"), (0, "handled[0]", "Success"),
        (1, "handled[1]", "Running"), (1, "handled[1]", "Success"),
    ], key=repr)


# -- context inside children -------------------------------------------------------------------

def test_children_see_map_index_and_full_name(executor):
    with Flow("context") as flow:
        mapped = who_am_i.map([5, 6, 7])
        single = who_am_i(8)
        from_upstream = who_am_i.map(numbers(2))
    state = flow.run(executor=executor)
    assert_mapped(state.result[mapped], [(5, 0, "who_am_i[0]", "who_am_i"),
                                         (6, 1, "who_am_i[1]", "who_am_i"),
                                         (7, 2, "who_am_i[2]", "who_am_i")])
    assert state.result[single].result == (8, None, "who_am_i", "who_am_i")
    assert_mapped(state.result[from_upstream], [(0, 0, "who_am_i[0]", "who_am_i"),
                                                (1, 1, "who_am_i[1]", "who_am_i")])


def test_child_states_carry_name_and_index(executor):
    with Flow("child-states") as flow:
        a = fail_on.map([0, 1, 2])
    parent = flow.run(executor=executor).result[a]
    assert [(c.task_name, c.map_index) for c in parent.map_states] == [
        ("fail_on", 0), ("fail_on", 1), ("fail_on", 2)]
    assert parent.map_index is None


# -- upstream_tasks= on a mapped call ------------------------------------------------------------

def test_unmapped_upstream_task_runs_before_every_child(executor, rec):
    @task
    def setup():
        rec.add("setup")

    @task
    def work(x):
        rec.add(("work", x))
        return x

    with Flow("ordering-unmapped") as flow:
        s = setup()
        w = work.map([0, 1, 2], upstream_tasks=[unmapped(s)])
    state = flow.run(executor=executor)
    assert_mapped(state.result[w], [0, 1, 2])
    assert rec.items[0] == "setup"
    assert sorted(rec.items[1:]) == [("work", 0), ("work", 1), ("work", 2)]


def test_mapped_upstream_task_orders_child_i_after_child_i(executor, rec):
    @task(map_batch_size=1)
    def first(x):
        rec.add(("first", x))
        if x == 1:
            raise ValueError("first 1")

    @task(map_batch_size=1)
    def second(x):
        rec.add(("second", x))
        return x

    with Flow("ordering-mapped") as flow:
        f = first.map([0, 1, 2, 3])
        s = second.map([10, 11, 12, 13], upstream_tasks=[f])
    state = flow.run(executor=executor)
    items = rec.items
    for i in (0, 2, 3):
        assert items.index(("first", i)) < items.index(("second", 10 + i))
    assert ("second", 11) not in items
    assert kinds(state.result[s]) == ["Success", "TriggerFailed", "Success", "Success"]


def test_failed_unmapped_upstream_task_fails_every_child_trigger(executor):
    # Prefect 1.4.1: the parent is Mapped and every child TriggerFailed
    with Flow("ordering-failed") as flow:
        w = ident.map([0, 1], upstream_tasks=[unmapped(boom())])
    parent = flow.run(executor=executor).result[w]
    assert isinstance(parent, Mapped)
    assert kinds(parent) == ["TriggerFailed", "TriggerFailed"]


def test_skipped_unmapped_upstream_task_skips_the_whole_mapped_task(executor):
    @task
    def skipper():
        raise signals.SKIP("not today")

    with Flow("ordering-skipped") as flow:
        w = ident.map([0, 1], upstream_tasks=[unmapped(skipper())])
    parent = flow.run(executor=executor).result[w]
    assert type(parent) is Skipped
    assert UPSTREAM_SKIPPED in parent.message


def test_upstream_tasks_are_mapped_edges_unless_unmapped(executor):
    # As in Prefect 1, upstream_tasks of .map() are mapped: a non-mapped task returning None
    # there cannot be mapped over, and the parent fails.
    @task
    def returns_none():
        return None

    with Flow("ordering-mapped-edge") as flow:
        w = ident.map([0, 1], upstream_tasks=[returns_none()])
    parent = flow.run(executor=executor).result[w]
    assert type(parent) is Failed
    assert "'ident'" in parent.message and "NoneType" in parent.message


# -- flow state with mapped reference tasks -------------------------------------------------------

def test_flow_fails_when_a_child_of_a_reference_task_fails(executor):
    with Flow("reference") as flow:
        fail_on.map([0, 1, 2, 3])
    assert flow.run(executor=executor).is_failed()
    with Flow("reference-ok") as flow:
        fail_on.map([0, 1, 3])
    assert flow.run(executor=executor).is_successful()
