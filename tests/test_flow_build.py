"""Building flows: the functional and imperative APIs, task copying and binding.

Nothing here depends on an executor; the few runs use the default one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import pytest

from prefect_dask import Flow, Parameter, Task, task
from tasks import one, inc, add
from prefect_dask.errors import CycleError


def edge_set(flow):
    """Edges as comparable (upstream name, downstream name, key) triples."""
    return {(e.upstream_task.name, e.downstream_task.name, e.key) for e in flow.edges}


# -- functional API ----------------------------------------------------------------

def test_calling_a_task_in_a_flow_copies_and_binds_it():
    with Flow("f") as flow:
        a = one()
        b = inc(a)
    assert a is not one and b is not inc
    assert isinstance(a, Task) and a.name == "one" and b.name == "inc"
    assert flow.tasks == {a, b}
    assert one not in flow.tasks and inc not in flow.tasks
    assert edge_set(flow) == {("one", "inc", "x")}


def test_calling_the_same_task_twice_gives_two_tasks():
    with Flow("f") as flow:
        a = inc(1)
        b = inc(2)
    assert a is not b
    assert len(flow.tasks) == 2
    assert len(flow.get_tasks(name="inc")) == 2


def test_constants_are_not_tasks():
    with Flow("f") as flow:
        s = add(1, y=2)
    assert flow.tasks == {s}
    assert flow.edges == set()
    assert flow.constants[s] == {"x": 1, "y": 2}
    assert flow.run().result[s].result == 3


def test_positional_and_keyword_arguments_become_keyed_edges():
    with Flow("f") as flow:
        a, b = one(), one()
        s = add(a, y=b)
    keys = {e.key: e.upstream_task for e in flow.edges if e.downstream_task is s}
    assert keys == {"x": a, "y": b}


def test_upstream_tasks_adds_ordering_only_edges():
    with Flow("f") as flow:
        a = one()
        b = inc(1, upstream_tasks=[a])
    (edge,) = flow.edges
    assert (edge.upstream_task, edge.downstream_task, edge.key) == (a, b, None)
    assert flow.constants[b] == {"x": 1}
    assert flow.root_tasks() == {a}


def test_list_of_tasks_as_argument_is_collected():
    @task
    def total(xs):
        return sum(xs)

    with Flow("f") as flow:
        t = total([one(), one(), 5])
    assert flow.run().result[t].result == 7


def test_nested_with_flow_blocks_bind_to_the_innermost():
    with Flow("outer") as outer:
        a = one()
        with Flow("inner") as inner:
            b = one()
        c = one()
    assert outer.tasks == {a, c}
    assert inner.tasks == {b}


# -- imperative API ------------------------------------------------------------------

def test_add_task_and_add_edge_with_key():
    flow = Flow("imperative")
    a, b = one.copy(), inc.copy()
    assert flow.add_task(a) is a
    assert flow.tasks == {a}
    edge = flow.add_edge(a, b, key="x")
    assert (edge.upstream_task, edge.downstream_task, edge.key) == (a, b, "x")
    assert flow.tasks == {a, b}
    assert flow.edges == {edge}
    assert flow.run().result[b].result == 2


def test_add_task_is_idempotent():
    flow = Flow("f")
    a = one.copy()
    flow.add_task(a)
    flow.add_task(a)
    assert flow.tasks == {a}


def test_set_dependencies_with_all_three_kinds():
    flow = Flow("deps")
    a, b, c, d = one.copy(), one.copy(), add.copy(), inc.copy()
    flow.set_dependencies(c, upstream_tasks=[a], downstream_tasks=[d],
                          keyword_tasks={"x": b, "y": 10})
    assert flow.tasks == {a, b, c, d}
    by_pair = {(e.upstream_task, e.downstream_task): e.key for e in flow.edges}
    assert by_pair == {(a, c): None, (b, c): "x", (c, d): None}
    assert flow.constants[c] == {"y": 10}


def test_task_set_upstream_and_downstream():
    flow = Flow("f")
    a, b, c = one.copy(), inc.copy(), one.copy()
    b.set_upstream(a, flow=flow, key="x")
    a.set_downstream(c, flow=flow)
    assert {(e.upstream_task, e.downstream_task, e.key) for e in flow.edges} == \
        {(a, b, "x"), (a, c, None)}


def test_chain():
    flow = Flow("chain")
    a, b, c = one.copy(), one.copy(), one.copy()
    edges = flow.chain(a, b, c)
    assert [(e.upstream_task, e.downstream_task, e.key) for e in edges] == [(a, b, None), (b, c, None)]
    assert flow.root_tasks() == {a}
    assert flow.terminal_tasks() == {c}
    assert [t for t in flow.sorted_tasks()] == [a, b, c]


def test_flow_constructor_tasks_and_edges():
    built = Flow("a")
    x, y = one.copy(), inc.copy()
    built.add_edge(x, y, key="x")
    copy = Flow("b", tasks=built.tasks, edges=built.edges)
    assert copy.tasks == {x, y}
    assert edge_set(copy) == {("one", "inc", "x")}
    assert copy.run().result[y].result == 2


def test_root_and_terminal_tasks():
    with Flow("f") as flow:
        a = one()
        b = inc(a)
        c = inc(a)
        d = add(b, c)
        lone = one()
    assert flow.root_tasks() == {a, lone}
    assert flow.terminal_tasks() == {d, lone}


def test_reference_tasks_default_to_terminal_and_can_be_set():
    with Flow("f") as flow:
        a = one()
        b = inc(a)
    assert flow.reference_tasks() == {b}
    flow.set_reference_tasks([a])
    assert flow.reference_tasks() == {a}
    other = Flow("g", tasks=[a, b], reference_tasks=[a])
    assert other.reference_tasks() == {a}


def test_set_reference_tasks_rejects_tasks_not_in_flow():
    with Flow("f") as flow:
        one()
    with pytest.raises(ValueError, match="not in the flow"):
        flow.set_reference_tasks([inc.copy()])


def test_get_tasks_by_name():
    with Flow("f") as flow:
        a = one()
        b = inc(a)
        c = inc(b)
    assert set(flow.get_tasks(name="inc")) == {b, c}
    assert flow.get_tasks(name="one") == [a]
    assert flow.get_tasks(name="nothing") == []


def test_get_tasks_by_tags():
    @task(tags=["io"])
    def load():
        return 1

    with Flow("f") as flow:
        a = load()
        one()
    assert flow.get_tasks(tags=["io"]) == [a]


def test_validate_passes_on_a_dag_and_finds_a_cycle():
    flow = Flow("f")
    a, b = one.copy(), inc.copy()
    flow.add_edge(a, b, key="x")
    flow.validate()
    flow.add_edge(b, a)
    with pytest.raises(CycleError):
        flow.validate()


def test_parameters_are_tasks_of_the_flow():
    with Flow("f") as flow:
        p = Parameter("p", default=2)
        r = inc(p)
    assert p in flow.tasks
    assert flow.parameters() == {p}
    assert flow.root_tasks() == {p}
    assert flow.run().result[r].result == 3


def test_parameter_required_unless_default():
    assert Parameter("a").required is True
    assert Parameter("b", default=None).required is False
    assert Parameter("c", default=1).default == 1


# -- nout and unpacking --------------------------------------------------------------

def test_nout_unpacking():
    @task(nout=2)
    def pair():
        return 1, 2

    with Flow("f") as flow:
        a, b = pair()
        s = add(a, b)
    assert pair.nout == 2
    state = flow.run()
    assert (state.result[a].result, state.result[b].result, state.result[s].result) == (1, 2, 3)


def test_tuple_annotation_sets_nout():
    @task
    def triple() -> Tuple[int, str, float]:
        return 1, "b", 3.0

    @task
    def builtin_pair() -> tuple[int, int]:
        return 4, 5

    assert triple.nout == 3
    assert builtin_pair.nout == 2
    with Flow("f") as flow:
        x, y, z = triple()
        p, q = builtin_pair()
    state = flow.run()
    assert [state.result[t].result for t in (x, y, z, p, q)] == [1, "b", 3.0, 4, 5]


def test_no_nout_without_annotation():
    assert one.nout is None

    @task
    def many() -> Tuple[int, ...]:
        return (1,)

    assert many.nout is None


def test_indexing_a_task_result():
    @task
    def d():
        return {"a": 1, "b": [10, 20]}

    with Flow("f") as flow:
        r = d()
        first = r["a"]
        second = r["b"]
    state = flow.run()
    assert state.result[first].result == 1
    assert state.result[second].result == [10, 20]


# -- copy, run, subclasses and the decorator ---------------------------------------

def test_copy_with_changed_options():
    base = Task(name="base", max_retries=1, tags=["a"])
    c = base.copy(name="copied", max_retries=3)
    assert c is not base
    assert (c.name, c.max_retries, c.tags) == ("copied", 3, {"a"})
    assert (base.name, base.max_retries) == ("base", 1)
    c.tags.add("b")
    assert base.tags == {"a"}


def test_copy_unknown_option_raises():
    with pytest.raises(AttributeError, match="unknown option 'colour'"):     # as Prefect 1
        one.copy(colour="red")


def test_task_args_in_a_call():
    with Flow("f") as flow:
        a = inc(1, task_args={"name": "renamed", "max_retries": 2})
    assert a.name == "renamed" and a.max_retries == 2
    assert inc.name == "inc" and inc.max_retries == 0
    assert flow.get_tasks(name="renamed") == [a]


def test_run_calls_the_function_directly():
    assert inc.run(1) == 2
    assert add.run(2, y=3) == 5
    assert inc.run(x=10) == 11


def test_task_subclass_with_run():
    class Multiply(Task):
        def __init__(self, factor, **kwargs):
            self.factor = factor
            super().__init__(**kwargs)

        def run(self, x):
            return x * self.factor

    m = Multiply(3, name="times3")
    assert m.run(2) == 6
    assert Multiply(2).name == "Multiply"
    with Flow("f") as flow:
        r = m(one())
    assert r is not m and r.factor == 3
    assert flow.run().result[r].result == 3


def test_base_task_runs_to_none():
    with Flow("f") as flow:
        t = Task(name="noop")()
    assert flow.run().result[t].result is None


def test_task_decorator_bare_and_with_arguments():
    @task
    def bare():
        return "bare"

    @task(name="named", max_retries=2, retry_delay=0, tags=["x"], timeout=5)
    def configured():
        return "configured"

    assert isinstance(bare, Task) and bare.name == "bare"
    assert isinstance(configured, Task)
    assert (configured.name, configured.max_retries, configured.tags, configured.timeout) == \
        ("named", 2, {"x"}, 5.0)
    assert bare.run() == "bare" and configured.run() == "configured"


def test_default_task_options_follow_prefect_1():
    t = Task()
    assert t.name == "Task"
    assert t.max_retries == 0
    assert t.skip_on_upstream_skip is True
    assert t.log_stdout is False
    assert t.timeout is None
    from prefect_dask import triggers
    assert t.trigger is triggers.all_successful


def test_durations_accept_seconds_and_timedelta():
    from datetime import timedelta

    a = Task(max_retries=1, retry_delay=timedelta(seconds=3), timeout=timedelta(minutes=1))
    b = Task(max_retries=1, retry_delay=3, timeout=60)
    # as in Prefect 1: retry_delay is a timedelta, timeout seconds
    assert (a.retry_delay, a.timeout) == (b.retry_delay, b.timeout) == (timedelta(seconds=3), 60)


def test_flow_is_unchanged_by_a_run():
    with Flow("f") as flow:
        a = one()
        b = inc(a)
    before = (flow.tasks, set(flow.edges))
    flow.run()
    flow.run()
    assert (flow.tasks, set(flow.edges)) == before


def test_flow_context_is_left_on_error():
    with pytest.raises(RuntimeError):
        with Flow("broken"):
            inc(1)
            raise RuntimeError("while building")
    with pytest.raises(ValueError, match="outside a flow"):
        inc(1)


def test_operators_on_tasks():
    with Flow("ops") as flow:
        a = one()
        b = a + 10
        c = 2 * b
        d = c - a
        e = d > 5
    state = flow.run()
    assert [state.result[t].result for t in (b, c, d, e)] == [11, 22, 21, True]


def test_exponential_backoff_delays():
    from datetime import timedelta

    from prefect_dask import exponential_backoff

    delay = exponential_backoff(timedelta(seconds=2))
    assert [delay(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    capped = exponential_backoff(1, factor=3, max_delay=timedelta(seconds=10))
    assert [capped(n) for n in (1, 2, 3, 4)] == [1.0, 3.0, 9.0, 10.0]


# -- save / load, replace, update, pipe, terminal_state_handler ------------------------------

def test_save_and_load_round_trip(tmp_path):
    with Flow("Saved Flow!") as flow:
        n = Parameter("n", default=2)
        r = inc(add(n, 3))
    path = flow.save(str(tmp_path / "f.prefect"))
    loaded = Flow.load(path)
    assert loaded.name == "Saved Flow!" and len(loaded.tasks) == len(flow.tasks)
    state = loaded.run(parameters={"n": 10})
    (out,) = loaded.get_tasks(name="inc")
    assert state.result[out].result == 14
    assert r in flow.tasks


def test_save_by_default_under_the_home_and_load_by_name():
    from prefect_dask.results import home

    with Flow("Named Flow") as flow:
        one()
    path = flow.save()
    assert path == str(home() / "flows" / "named-flow.prefect")
    assert Flow.load("Named Flow").name == "Named Flow"


def test_load_missing_foreign_or_tampered_files_is_a_clear_error(tmp_path):
    import pickle

    from prefect_dask.results import CorruptResultError, write_value

    with pytest.raises(FileNotFoundError, match="No saved flow.*flow.save"):
        Flow.load(str(tmp_path / "nothing.prefect"))
    other = tmp_path / "other.prefect"
    write_value(other, {"not": "a flow"})
    with pytest.raises(TypeError, match="holds a dict, not a Flow"):
        Flow.load(str(other))
    raw = tmp_path / "raw.prefect"
    raw.write_bytes(pickle.dumps({"a": 1}))       # never unpickled: no digest
    with pytest.raises(CorruptResultError, match="not a prefect_dask result"):
        Flow.load(str(raw))
    with Flow("tampered") as flow:
        one()
    path = flow.save(str(tmp_path / "t.prefect"))
    data = bytearray(Path(path).read_bytes())
    data[-5] ^= 0xFF
    Path(path).write_bytes(bytes(data))
    with pytest.raises(CorruptResultError, match="integrity check"):
        Flow.load(path)


def test_replace_moves_edges_constants_and_references():
    with Flow("replace") as flow:
        a = one()
        b = add(a, 5)
    flow.set_reference_tasks([b])
    new = task(lambda x, y: x * y, name="mul")
    flow.replace(b, new)
    assert b not in flow.tasks and flow.reference_tasks() == {new}
    assert flow.run().result[new].result == 5


def test_replace_a_task_not_in_the_flow_names_the_flow():
    with Flow("replace-missing") as flow:
        one()
    with pytest.raises(ValueError, match="replace-missing.*not in the flow"):
        flow.replace(inc, one)


def test_update_adds_another_flows_tasks_and_merges_parameters():
    with Flow("base") as base:
        n = Parameter("n", default=1)
        r = inc(n)
    with Flow("extra") as extra:
        n2 = Parameter("n", default=40)
        r2 = add(n2, 2)
    base.update(extra, merge_parameters=True, merge_reference_tasks=True)
    assert n not in base.tasks and n2 in base.tasks
    state = base.run()
    assert (state.result[r].result, state.result[r2].result) == (41, 42)
    assert base.reference_tasks() == {r, r2}


def test_pipe_reads_left_to_right_and_refuses_self():
    with Flow("pipe") as flow:
        r = one().pipe(add, y=10)
        with pytest.raises(TypeError, match="pipe.*'self'"):
            one().pipe(add, self=1)
    assert flow.run().result[r].result == 11


def test_inputs_and_outputs_describe_run():
    @task
    def f(x: int, y: str = "a") -> float:
        return 1.0

    assert f.inputs() == {"x": {"type": int, "default": None, "required": True},
                          "y": {"type": str, "default": "a", "required": False}}
    assert f.outputs() is float


def test_terminal_state_handler_must_be_callable():
    with pytest.raises(ValueError, match="terminal_state_handler=5 must be a callable"):
        Flow("t", terminal_state_handler=5)
