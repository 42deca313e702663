"""Property tests: random flows give exactly the reference interpreter's states (issue 8).

Hypothesis draws flows (``flows()``): DAGs of up to 30 tasks built in
topological order, with keyed and ordering-only edges, mapped and unmapped,
constant lists mapped over, tasks returning lists for others to map over, random
triggers, ``skip_on_upstream_skip``, retries, batch sizes of mapped children
(which must change nothing), and tasks that raise, ``FAIL`` or ``SKIP`` on chosen attempts (and only for some inputs, so some mapped children
fail and others do not).  Each flow is built twice: as a prefect_dask ``Flow``
whose tasks run ``reference.run_node`` (module-level, pickled by value, so it
also runs in worker processes), and as the description that
``reference.interpret`` runs in plain Python.  Every executor must give the
reference's final state class, result and attempt count for every task and
mapped child, and the reference's flow state.

The reference was checked against Prefect 1.4.1 itself on about a thousand drawn
flows (``test_reference_agrees_with_prefect1``, run when ``PREFECT1_PYTHON`` names
a Python with Prefect 1.4.1 installed).  Engine bugs the properties found are
fixed; each has a plain regression test at the end of this file.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
from pathlib import Path

import cloudpickle
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import reference
from cluster_helpers import append_line, pickle_by_value, read_lines
from prefect_dask import Flow, flatten, signals, task, triggers, unmapped
from prefect_dask import states as S
from prefect_dask.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor
from prefect_dask.executors.base import Started
from prefect_dask.store.records import list_runs
from prefect_dask.results import LocalResult
from reference import ACTIONS, TRIGGERS, In, Node, Out, interpret, norm, task_for

cloudpickle.register_pickle_by_value(reference)   # worker processes need not import tests/
pickle_by_value(__name__)     # nor this module (its regression tests' tasks)

MAX_TASKS = 30



# -- drawing flows ----------------------------------------------------------------

@st.composite
def plans(draw: st.DrawFn) -> tuple[str, ...]:
    """What attempts 1, 2, ... do; mostly succeed."""
    return draw(st.one_of(st.just(("ok",)),
                          st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3).map(tuple)))


@st.composite
def flows(draw: st.DrawFn, max_tasks: int = MAX_TASKS) -> list[Node]:
    """A random flow description, nodes in topological order."""
    n = draw(st.integers(1, max_tasks))
    nodes: list[Node] = []
    for j in range(n):
        mapped = draw(st.booleans())
        ups = draw(st.lists(st.integers(0, j - 1), max_size=3, unique=True)) if j else []
        ins = []
        for k, u in enumerate(ups):
            # map only over what gives lists: a mapped task, or a task returning a list
            can_map = nodes[u].is_mapped or nodes[u].list_len is not None
            ins.append(In(u, draw(st.sampled_from([f"a{k}", f"a{k}", None])),
                          mapped and can_map and draw(st.booleans())))
        if mapped and (not any(i.mapped for i in ins) or draw(st.booleans())):
            ins.append(In(tuple(draw(st.lists(st.integers(0, 9), max_size=4))), "c", True))
        if draw(st.integers(0, 3)) == 0:       # an unmapped constant input
            ins.append(In(tuple(draw(st.lists(st.integers(0, 9), max_size=2))), "u", False))
        nodes.append(Node(
            ins=tuple(ins),
            trigger=draw(st.sampled_from(("all_successful",) * 3 + TRIGGERS)),
            skip_on_upstream_skip=draw(st.booleans()),
            max_retries=draw(st.sampled_from((0, 0, 1, 2))),
            plan=draw(plans()),
            every=draw(st.sampled_from((1, 2, 3))),
            list_len=draw(st.one_of(st.none(), st.integers(0, 3))),
            batch_size=draw(st.sampled_from((None, None, 1, 2, 3))),
        ))
    return nodes


# -- building and observing a prefect_dask flow ------------------------------------

def build(nodes: list[Node], name: str = "prop") -> tuple[Flow, list]:
    """The prefect_dask flow of ``nodes``; its tasks in node order."""
    tasks: list = []
    with Flow(name) as flow:
        for j, node in enumerate(nodes):
            t = task_for(node, f"t{j}")
            kwargs, order = {}, []
            for inp in node.ins:
                src = tasks[inp.src] if isinstance(inp.src, int) else list(inp.src)
                src = src if inp.mapped or not node.is_mapped else unmapped(src)
                if inp.key is None:
                    order.append(src)
                else:
                    kwargs[inp.key] = src
            tasks.append(t.map(upstream_tasks=order, **kwargs) if node.is_mapped
                         else t(upstream_tasks=order, **kwargs))
    return flow, tasks


def observe(state: S.State) -> Out:
    """A prefect_dask final state as the reference writes it."""
    if isinstance(state, S.Mapped):
        children = tuple(observe(c) for c in state.map_states)
        return Out("Mapped", [c.result for c in children], 0, children)
    return Out(type(state).__name__, norm(state.result), state.attempts)


def check(nodes: list[Node], executor: object) -> None:
    """Run ``nodes`` on ``executor``: every task and child as the reference says."""
    want, want_flow = interpret(nodes)
    flow, tasks = build(nodes)
    state = flow.run(executor=executor, progress=False)
    got = [observe(state.result[t]) for t in tasks]
    for j, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"task t{j}:\n got  {g}\n want {w}"
    assert type(state).__name__ == want_flow


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_HOME", str(tmp_path))
    monkeypatch.setattr(logging.getLogger("prefect_dask"), "level", logging.WARNING)


def examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


MANY = examples(60)              # in-process executors
PROCESSES = examples(40)         # one pool lent to every flow
CLUSTER = examples(25)           # a client per flow


@MANY
@given(nodes=flows())
def test_local_executor_matches_reference(nodes):
    check(nodes, LocalExecutor())


@MANY
@given(nodes=flows())
def test_grouped_single_tasks_match_reference(nodes, monkeypatch):
    """One batch per worker: every two or more ready single tasks share a group node."""
    from prefect_dask.engine import compile as compiler

    monkeypatch.setattr(compiler, "BATCHES_PER_WORKER", 1)
    check(nodes, LocalExecutor())


@MANY
@given(nodes=flows())
def test_thread_executor_matches_reference(nodes):
    check(nodes, LocalDaskExecutor(scheduler="threads", num_workers=4))


@pytest.fixture(scope="module")
def process_pool():
    """One pool of 2 processes lent to every drawn flow (a pool per flow would cost more
    start-up than the flows themselves; starting and stopping pools is tested elsewhere)."""
    with LocalDaskExecutor(scheduler="processes", num_workers=2) as pool:
        yield Started(pool)


@pytest.mark.slow
@PROCESSES
@given(nodes=flows())
def test_process_executor_matches_reference(nodes, process_pool):
    check(nodes, process_pool)


@pytest.mark.slow
@CLUSTER
@given(nodes=flows())
def test_dask_executor_matches_reference(nodes, dask_cluster):
    # a client per flow: a client kept open between draws uses `random` in its background
    # thread while Hypothesis draws the next flow (HypothesisDeprecationWarning)
    check(nodes, DaskExecutor(address=dask_cluster.scheduler_address))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PREFECT1_PYTHON"),
                    reason="set PREFECT1_PYTHON to a Python with Prefect 1.4.1 installed")
def test_reference_agrees_with_prefect1(tmp_path):
    """The reference gives what Prefect 1.4.1 gives, on drawn flows."""
    drawn: list[list[Node]] = []

    @settings(max_examples=150, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(flows(max_tasks=15))
    def collect(nodes):
        drawn.append(nodes)

    collect()
    (tmp_path / "flows.pkl").write_bytes(pickle.dumps(drawn))
    subprocess.run([os.environ["PREFECT1_PYTHON"], str(Path(__file__).with_name(
        "prefect1_runner.py")), str(tmp_path / "flows.pkl"), str(tmp_path / "states.pkl")],
        check=True, timeout=1200, capture_output=True)
    for nodes, got in zip(drawn, pickle.loads((tmp_path / "states.pkl").read_bytes())):
        if got[0] != "error" and any(c.state == "Retrying" for o in got[0] for c in o.expand()):
            continue    # Prefect 1 ends a run with non-terminal children still Retrying
        assert got == interpret(nodes), nodes


# -- regressions: engine bugs found by the properties (Prefect 1.4.1 observed) -------

@task
def boom():
    raise ValueError("no numbers")


@task
def skip():
    raise signals.SKIP("nothing to do")


@task
def add(x, c):
    return (x or 0) + c


@task
def ident(x, s):
    return x


@task(trigger=triggers.all_failed)
def after_failure(x, c):
    return "ran"


def test_reference_docstring_flow_on_the_engine():
    """The hand-written flow of ``reference``'s docstring, as a sanity check of ``build``."""
    check([Node(ins=(In((1, 2, 3), "x", True),), plan=("raise", "ok"), max_retries=1),
           Node(ins=(In(0, "xs", False),))], LocalExecutor())


def test_keyed_constant_counts_as_a_successful_upstream():
    """Found by the properties (fixed since): Prefect 1 counts a keyed constant input as a
    successful upstream, so ``all_failed`` does not pass."""
    with Flow("constant-in-trigger") as flow:
        r = after_failure(boom(), 5)
    state = flow.run(progress=False).result[r]
    assert type(state) is S.TriggerFailed       # Prefect 1: "all_failed" but one succeeded


def test_map_over_failed_task_beside_a_constant():
    with Flow("map-failed") as flow:
        r = add.map(boom(), [1, 2])
        r2 = add.copy(trigger=triggers.all_finished).map(boom(), [1, 2])
    state = flow.run(progress=False)
    assert [type(c) for c in state.result[r].map_states] == [S.TriggerFailed] * 2
    assert state.result[r2].result == [1, 2]     # children get x=None, as in Prefect 1


def test_map_over_skipped_task_beside_a_constant():
    with Flow("map-skipped") as flow:
        r = add.map(skip(), [1, 2])
    state = flow.run(progress=False)
    assert type(state.result[r]) is S.Skipped and type(state) is S.Success


def test_map_over_skipped_task_without_skip_on_upstream_skip():
    no_skip = add.copy(skip_on_upstream_skip=False)
    with Flow("map-skipped-no-skip") as flow:
        alone = no_skip.map(skip(), unmapped(1))
        m = ident.map([1, 2], s=unmapped(skip()))
        over_skipped_parent = no_skip.map(m, unmapped(1))
    state = flow.run(progress=False)
    assert type(state.result[alone]) is S.Failed          # engine: Mapped with no children
    assert type(state.result[over_skipped_parent]) is S.Failed   # engine: Mapped, children ran
    assert type(state) is S.Failed


def test_unmappable_upstream_leaves_no_result():
    with Flow("unmappable") as flow:
        r = add.copy(skip_on_upstream_skip=False).map(skip(), unmapped(1))
        after = ident.copy(trigger=triggers.all_finished)(r, 1)
    state = flow.run(progress=False)
    assert type(state.result[r]) is S.Failed
    assert state.result[r].result is None              # engine: TypeError('a SKIP is not ...')
    assert state.result[after].result is None          # what a downstream task receives


def test_map_over_a_parent_that_could_not_map():
    with Flow("map-unmapped-parent") as flow:
        m = ident.map(boom(), s=unmapped(1))
        r = add.copy(trigger=triggers.all_finished).map(m, [1, 2])
    state = flow.run(progress=False)
    assert type(state.result[m]) is S.Failed
    assert type(state.result[r]) is S.Mapped and state.result[r].map_states == []  # Prefect 1


# A mapped task laid out in the same graph as the mapped task it maps over learns only
# at run time whether that one maps.  Prefect 1.4.1 (observed): a mapped parent that
# does not map (Skipped, or Failed with no result) has no children, and a task mapping
# over one that has no result gets no children either; no child of either runs.


@task(skip_on_upstream_skip=False, trigger=triggers.always_run)
def anyway(x, c=None, log=None):
    append_line(log, f"{x} {c}")
    return [x, c]


def kinds(state: S.State) -> tuple:
    """A final state as (class name, children's class names or None, result)."""
    children = getattr(state, "map_states", None)
    return (type(state).__name__,
            None if children is None else [type(c).__name__ for c in children], state.result)


def test_map_over_a_laid_out_parent_that_could_not_map(any_executor):
    """Found by the properties: t5's width was laid out from t3's (4) before t3 ended
    Skipped, so t5 (Failed, no result) bounded nothing and t6 ran 2 children."""
    nodes = [
        Node(plan=("raise",)),                                          # Failed
        Node(ins=(In(0, "f"),), list_len=0),                            # TriggerFailed
        Node(trigger="not_all_skipped"),                                # Skipped
        Node(ins=(In(2, "s"), In(1, "x", True), In((0, 0, 0, 0), "c", True))),  # Skipped
        Node(list_len=2),
        Node(ins=(In(3, "x", True), In((0, 0, 0, 0), "c", True)),
             skip_on_upstream_skip=False),                              # Failed, no result
        Node(ins=(In(5, "x", True), In(4, "y", True)), trigger="all_finished"),
    ]
    want, _ = interpret(nodes)
    assert [w.state for w in want[2:]] == ["Skipped", "Skipped", "Success", "Failed", "Mapped"]
    assert want[5].nothing and want[6].children == ()
    check(nodes, any_executor)


def test_chain_after_a_parent_that_could_not_map_runs_no_child(any_executor, tmp_path):
    log = tmp_path / "ran.txt"
    with Flow("chain-unmapped-parent") as flow:
        a = ident.map([1, 2, 3], s=unmapped(skip()))
        b = anyway.map(a, log=unmapped(str(log)))
        c = anyway.map(b, [1, 2, 3], log=unmapped(str(log)))
        d = anyway.map(c, [1, 2, 3], log=unmapped(str(log)))
        e = ident.map(d, [1, 2])
    state = flow.run(executor=any_executor, progress=False)
    assert kinds(state.result[a]) == ("Skipped", None, None)
    assert kinds(state.result[b]) == ("Failed", None, None)    # cannot map over a Skipped
    for t in (c, d, e):
        assert kinds(state.result[t]) == ("Mapped", [], [])
    assert read_lines(log) == [] and type(state) is S.Success
    # the run record expects only what ran: each task, and a's 3 children (Skipped)
    assert list_runs()[0]["expected"] == len(flow.tasks) + 3


def test_always_run_tasks_after_a_parent_that_could_not_map(executor, tmp_path):
    log = tmp_path / "ran.txt"
    with Flow("always-run-unmapped-parent") as flow:
        a = ident.map([[1], [2]], s=unmapped(skip()))
        over_skipped = anyway.map(a, [1, 2], log=unmapped(str(log)))
        only_nothing = anyway.map(over_skipped, log=unmapped(str(log)))
        beside = anyway.map(only_nothing, [1, 2], log=unmapped(str(log)))
        whole = anyway.map([1, 2], c=unmapped(over_skipped), log=unmapped(str(log)))
        strict = ident.map(over_skipped, s=unmapped(1))
    state = flow.run(executor=executor, progress=False)
    assert kinds(state.result[over_skipped]) == ("Failed", None, None)
    assert kinds(state.result[only_nothing]) == ("Failed", None, None)
    assert "No upstream states can be mapped over" in state.result[only_nothing].message
    assert kinds(state.result[beside]) == ("Mapped", [], [])
    assert kinds(state.result[strict]) == ("Failed", None, None)
    # an unmapped edge passes the parent whole: its children run, seeing no result
    assert kinds(state.result[whole]) == ("Mapped", ["Success"] * 2, [[1, None], [2, None]])
    assert sorted(read_lines(log)) == ["1 None", "2 None"]


def test_flatten_a_parent_that_could_not_map(executor, tmp_path):
    log = tmp_path / "ran.txt"
    with Flow("flatten-unmapped-parent") as flow:
        a = ident.map([1, 2, 3], s=unmapped(skip()))
        b = anyway.map(a, log=unmapped(str(log)))
        over_nothing = anyway.map(flatten(b), [1, 2], log=unmapped(str(log)))
        over_skipped = anyway.map(flatten(a), [1, 2], log=unmapped(str(log)))
        single = anyway(flatten(b), log=str(log))
    state = flow.run(executor=executor, progress=False)
    assert kinds(state.result[over_nothing]) == ("Mapped", [], [])
    assert kinds(state.result[over_skipped]) == ("Failed", None, None)
    assert kinds(state.result[single]) == ("Success", None, [None, None])
    assert read_lines(log) == ["None None"] and type(state) is S.Failed


def test_resume_after_a_parent_that_could_not_map(executor, tmp_path):
    log = tmp_path / "ran.txt"
    with Flow("resume-unmapped-parent", result=LocalResult(str(tmp_path / "ckpt"))) as flow:
        xs = add.map([1, 2, 3], unmapped(0))
        a = ident.map(xs, s=unmapped(skip()))
        b = anyway.map(a, log=unmapped(str(log)))
        c = anyway.map(b, xs, log=unmapped(str(log)))
    first = flow.run(executor=executor, progress=False)
    again = flow.run(executor=executor, progress=False, resume="last")
    for state in (first, again):
        assert kinds(state.result[b]) == ("Failed", None, None)
        assert kinds(state.result[c]) == ("Mapped", [], [])
    assert [type(s) for s in again.result[xs].map_states] == [S.Cached] * 3   # reused
    assert read_lines(log) == []
