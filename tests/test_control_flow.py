"""Control flow (issue 6): ``case``/``merge``, ``switch``, ``ifelse``, ``filter_results``.

Semantics follow Prefect 1.4.1 (``prefect.tasks.control_flow``): a branch not
taken ends ``Skipped`` and the skip propagates downstream; ``merge`` returns
the first of its inputs that is not None (the branch that ran); ``FilterTask``
runs with ``all_finished`` and ``skip_on_upstream_skip=False`` and by default
drops None and exceptions (failed or skipped mapped children).  Bad input
(a Task as the value of ``case``, ``merge()`` of nothing) raises before the run.
Every test runs on the in-process executors (``executor`` fixture).
"""

from __future__ import annotations

import pytest

from prefect_dask import (FilterTask, Flow, Parameter, apply_map, case, filter_results, ifelse,
                          merge, signals, switch, task)
from prefect_dask.errors import NoFlowContextError, TaskDefinitionError
from prefect_dask.states import Failed, Mapped, Skipped, Success, TriggerFailed

UPSTREAM_SKIPPED = ("Upstream task was skipped; if this was not the intended behavior, "
                    "consider changing `skip_on_upstream_skip=False` for this task.")


@task
def ident(x):
    return x


@task
def shout(x):
    return f"{x}!"


def branch(label: str, rec):
    """A task that records it ran and returns ``label``."""

    @task(name=label)
    def run():
        rec.add(label)
        return label

    return run


def test_case_runs_only_the_matching_branch_and_merge_takes_it(executor, rec):
    yes, no = branch("yes", rec), branch("no", rec)
    with Flow("case-merge") as flow:
        cond = Parameter("cond")
        with case(cond, True):
            a = yes()
            a2 = shout(a)
        with case(cond, False):
            b = no()
            b2 = shout(b)
        m = merge(a2, b2)
        after = shout(m)

    state = flow.run(parameters={"cond": True}, executor=executor)
    assert isinstance(state, Success)
    assert rec.items == ["yes"]
    assert type(state.result[a]) is Success and state.result[a2].result == "yes!"
    assert type(state.result[b]) is Skipped
    assert type(state.result[b2]) is Skipped
    assert state.result[b2].message == UPSTREAM_SKIPPED          # the skip propagated
    assert state.result[m].result == "yes!"
    assert state.result[after].result == "yes!!"

    state = flow.run(parameters={"cond": False}, executor=executor)
    assert rec.items == ["yes", "no"]
    assert type(state.result[a]) is Skipped and type(state.result[a2]) is Skipped
    assert state.result[m].result == "no!"
    assert state.result[after].result == "no!!"


def test_case_gate_skips_with_prefect1_message(executor):
    with Flow("case-msg") as flow:
        cond = ident("b")
        with case(cond, "a"):
            a = shout("x")
    state = flow.run(executor=executor)
    gates = [t for t in flow.tasks if t not in (cond, a)]
    assert len(gates) == 1                                     # one CompareValue task
    gate_state = state.result[gates[0]]
    assert type(gate_state) is Skipped
    assert "did not match" in gate_state.message
    assert type(state.result[a]) is Skipped
    assert isinstance(state, Success)                          # skipped counts as success


def test_case_only_gates_the_first_task_of_a_chain(executor):
    """As in Prefect 1: a task in the block with an upstream in the block is not wired to the gate."""
    with Flow("case-chain") as flow:
        cond = ident(True)
        with case(cond, True):
            first = ident(1)
            second = shout(first)
    gate = next(t for t in flow.tasks if t not in (cond, first, second))
    assert flow.upstream_tasks(first) == {gate}
    assert flow.upstream_tasks(second) == {first}
    assert flow.upstream_tasks(gate) == {cond}
    state = flow.run(executor=executor)
    assert state.result[second].result == "1!"


def test_nested_case(executor, rec):
    inner_yes, inner_no, outer_no = branch("inner_yes", rec), branch("inner_no", rec), \
        branch("outer_no", rec)
    with Flow("nested-case") as flow:
        outer = Parameter("outer")
        inner = Parameter("inner")     # first used inside a block: it stays a root task
        with case(outer, True):
            with case(inner, True):
                iy = inner_yes()
            with case(inner, False):
                ino = inner_no()
            inner_merged = merge(iy, ino)
        with case(outer, False):
            on = outer_no()
        result = merge(inner_merged, on)

    for (o, i), expected, ran in [((True, True), "inner_yes", ["inner_yes"]),
                                  ((True, False), "inner_no", ["inner_no"]),
                                  ((False, True), "outer_no", ["outer_no"])]:
        before = len(rec.items)
        state = flow.run(parameters={"outer": o, "inner": i}, executor=executor)
        assert isinstance(state, Success), (o, i)
        assert state.result[result].result == expected, (o, i)
        assert rec.items[before:] == ran, (o, i)
    # outer False: both inner branches are skipped, whatever ``inner`` says
    assert type(state.result[iy]) is Skipped and type(state.result[ino]) is Skipped
    assert type(state.result[inner_merged]) is Skipped


def test_a_parameter_first_used_inside_case_stays_a_root_task(executor):
    with Flow("case-param") as flow:
        cond = Parameter("cond")
        x = Parameter("x")
        with case(cond, True):
            y = shout(x)
    state = flow.run(parameters={"cond": True, "x": "hi"}, executor=executor)
    assert state.result[y].result == "hi!"
    assert flow.upstream_tasks(x) == set()


def test_a_constant_created_inside_case_stays_a_root_task(executor):
    with Flow("case-const") as flow:
        cond = ident(False)
        with case(cond, True):
            r = ident.map([1, 2])
    state = flow.run(executor=executor)
    assert type(state.result[r]) is Skipped
    (const,) = flow.upstream_tasks(r) - {t for t in flow.tasks if t.name.startswith("case(")}
    assert flow.upstream_tasks(const) == set()
    assert type(state.result[const]) is Success


def test_case_with_a_task_as_value_names_the_fix():
    with Flow("bad-case"):
        a, b = ident(1), ident(2)
        with pytest.raises(TypeError, match=r"must be a constant.*case\(is_equal\(a, b\), True\)"):
            case(a, b)


def test_calling_a_task_in_a_case_outside_a_flow_is_an_error():
    # case() itself needs no flow (the imperative API adds tasks with flow.add_task)
    with pytest.raises(NoFlowContextError, match=r"outside a flow.*with Flow"):
        with case(ident, True):
            ident(1)


def test_merge_of_no_tasks_names_the_fix():
    with Flow("bad-merge"):
        with pytest.raises(TypeError, match=r"merge\(\) needs at least one task.*merge\(branch_a, branch_b\)"):
            merge()


def test_merge_skips_none_and_takes_the_first_in_argument_order(executor):
    """Prefect 1's Merge: the first input (in argument order) that is not None."""
    with Flow("merge-order") as flow:
        m = merge(ident(None), ident(2), ident(1))
        m_all_none = merge(ident(None), ident(None))
    state = flow.run(executor=executor)
    assert state.result[m].result == 2
    assert type(state.result[m_all_none]) is Success
    assert state.result[m_all_none].result is None


def test_merge_of_all_skipped_branches_is_skipped(executor):
    with Flow("merge-skipped") as flow:
        cond = ident("c")
        with case(cond, "a"):
            a = ident("A")
        with case(cond, "b"):
            b = ident("B")
        m = merge(a, b)
        after = shout(m)
    state = flow.run(executor=executor)
    assert type(state.result[m]) is Skipped
    assert type(state.result[after]) is Skipped
    assert isinstance(state, Success)


def test_merge_after_a_failed_branch_is_trigger_failed(executor):
    """Merge's trigger is ``not_all_skipped``: a failed upstream fails it (Prefect 1)."""

    @task
    def boom():
        raise ValueError("branch broke")

    with Flow("merge-failed") as flow:
        cond = ident(True)
        with case(cond, True):
            a = boom()
        with case(cond, False):
            b = ident("B")
        m = merge(a, b)
    state = flow.run(executor=executor)
    assert type(state.result[a]) is Failed
    assert type(state.result[b]) is Skipped
    assert type(state.result[m]) is TriggerFailed
    assert isinstance(state, Failed)


def test_switch_runs_only_the_matching_case(executor, rec):
    a, b, c = branch("a_branch", rec), branch("b_branch", rec), branch("c_branch", rec)
    with Flow("switch") as flow:
        cond = Parameter("which")
        ta, tb, tc = a(), b(), c()
        switch(cond, {"a": ta, "b": tb, "c": tc})
        m = merge(ta, tb, tc)
        down = shout(tb)

    state = flow.run(parameters={"which": "b"}, executor=executor)
    assert isinstance(state, Success)
    assert rec.items == ["b_branch"]
    assert type(state.result[ta]) is Skipped and type(state.result[tc]) is Skipped
    assert state.result[tb].result == "b_branch"
    assert state.result[m].result == "b_branch"
    assert state.result[down].result == "b_branch!"

    state = flow.run(parameters={"which": "zzz"}, executor=executor)   # nothing matches
    assert rec.items == ["b_branch"]
    assert all(type(state.result[t]) is Skipped for t in (ta, tb, tc, m, down))


def test_switch_with_a_task_as_a_case_value_is_an_error():
    with Flow("bad-switch"):
        cond, other = ident(1), ident(2)
        with pytest.raises(TypeError, match="must be a constant"):
            switch(cond, {other: ident(3)})


@pytest.mark.parametrize("value, taken", [(True, "t"), ([1], "t"), (0, "f"), ("", "f"),
                                          (None, "f")])
def test_ifelse_uses_truthiness(executor, rec, value, taken):
    t, f = branch("t", rec), branch("f", rec)
    with Flow("ifelse") as flow:
        cond = Parameter("cond")
        tt, ff = t(), f()
        ifelse(cond, tt, ff)
        m = merge(tt, ff)
    state = flow.run(parameters={"cond": value}, executor=executor)
    assert rec.items == [taken]
    assert state.result[m].result == taken
    skipped = ff if taken == "t" else tt
    assert type(state.result[skipped]) is Skipped


@task
def is_even(x):
    return x % 2 == 0


@task
def half(x):
    return x // 2


@task
def triple(x):
    return 3 * x


def test_case_and_merge_inside_apply_map(executor):
    """Prefect 1.4.1 gives [3, 1, 9, 2]: each element takes its own branch."""

    def branchy(x):
        cond = is_even(x)
        with case(cond, True):
            r1 = half(x)
        with case(cond, False):
            r2 = triple(x)
        return merge(r1, r2)

    with Flow("apply-map-case") as flow:
        res = apply_map(branchy, [1, 2, 3, 4])
    state = flow.run(executor=executor)
    assert isinstance(state, Success)
    assert state.result[res].result == [3, 1, 9, 2]


def test_mapped_ifelse_and_merge_as_in_prefect1(executor):
    """Prefect 1.4.1: merge -> [3, 1, 9, 2], half's children Skipped/Success alternately."""

    @task
    def nums():
        return [1, 2, 3, 4]

    with Flow("mapped-ifelse") as flow:
        xs = nums()
        h, t = half.map(xs), triple.map(xs)
        ifelse(is_even.map(xs), h, t, mapped=True)
        m = merge(h, t, mapped=True)
    state = flow.run(executor=executor)
    assert state.result[m].result == [3, 1, 9, 2]
    assert [type(c) for c in state.result[h].map_states] == [Skipped, Success, Skipped, Success]


@task
def div(x):
    if x == 0:
        raise ZeroDivisionError("x is zero")
    if x == 3:
        return None
    if x == 4:
        raise signals.SKIP("four is skipped")
    return 12 // x


def test_filter_results_drops_failed_and_none_children_keeps_signals(executor):
    """Prefect 1.4.1: the default filter drops None and Exceptions; a SKIP signal is a
    BaseException, so the skipped child's SKIP stays in the list."""
    with Flow("filter") as flow:
        parts = div.map([1, 0, 2, 3, 4, 6])
        kept = filter_results(parts)
        total = ident(kept)
    state = flow.run(executor=executor)
    parent = state.result[parts]
    assert isinstance(parent, Mapped)
    assert [type(s).__name__ for s in parent.map_states] == [
        "Success", "Failed", "Success", "Success", "Skipped", "Success"]
    assert type(state.result[kept]) is Success           # all_finished: runs despite the failure
    result = state.result[kept].result
    assert [12, 6] == result[:2] and result[3] == 2
    assert isinstance(result[2], signals.SKIP) and str(result[2]) == "four is skipped"
    assert state.result[total].result == result


def test_filter_results_with_a_filter_func(executor):
    with Flow("filter-even") as flow:
        xs = ident.map([1, 2, 3, 4, 5, 6])
        evens = filter_results(xs, filter_func=lambda r: r % 2 == 0)
        even_filter = FilterTask(filter_func=lambda r: r > 3)   # Prefect 1's spelling
        big = even_filter(xs)
    state = flow.run(executor=executor)
    assert state.result[evens].result == [2, 4, 6]
    assert state.result[big].result == [4, 5, 6]


def test_filter_results_runs_when_its_upstream_is_skipped(executor):
    """skip_on_upstream_skip=False: a wholly skipped upstream still reaches the filter."""
    with Flow("filter-skip") as flow:
        cond = ident(False)
        with case(cond, True):
            xs = ident.map([1, 2])
        kept = filter_results(xs)
    state = flow.run(executor=executor)
    assert type(state.result[xs]) is Skipped
    assert type(state.result[kept]) is not Skipped


def test_filter_task_rejects_a_non_callable_filter_func():
    with pytest.raises(TaskDefinitionError, match="filter_func=3 is not callable"):
        FilterTask(filter_func=3)
