"""The recovery state machine, fed with events (no executor, no flow run)."""

from __future__ import annotations

import pytest
from dask.task_spec import TaskRef

from prefect_dask import Task
from prefect_dask.engine.nodes import (BatchNode, CollectNode, GroupNode, Head, HeadNode, Member,
                                       ParentNode, TaskNode, Whole)
from prefect_dask.engine.recovery import (TRANSITIONS, EndCrashed, GatherHere, InputLost,
                                          InvalidTransition, RunAgain, Split, WorkerDied,
                                          next_action)
from prefect_dask.engine.runner import TaskPlan
from prefect_dask.executors.base import NodeError
from prefect_dask.states import Crashed


def plan(name="t", retries=0):
    return TaskPlan(Task(name=name, max_retries=retries, retry_delay=0 if retries else None),
                    name, (), {}, False)


def died(key, suspects=1, held=False, worker="tcp://127.0.0.1:1"):
    return WorkerDied(NodeError(RuntimeError("worker gone"), crashed_key=key, worker=worker,
                                suspects=suspects), held)


def test_table_covers_every_kind_and_event():
    assert set(TRANSITIONS) == {(k, e) for k in ("run", "group", "gather")
                                for e in (WorkerDied, InputLost)}


def test_a_death_is_an_attempt_while_retries_remain_then_crashed():
    node = TaskNode("t", plan(retries=2), ())
    actions = []
    for _ in range(3):
        action = next_action(node, died("t"))
        actions.append(type(action).__name__)
        if isinstance(action, RunAgain):
            node = action.node
    assert actions == ["RunAgain", "RunAgain", "EndCrashed"]
    assert node.crashes == 2
    state = action.value
    assert isinstance(state, Crashed) and state.attempts == 3
    assert "tcp://127.0.0.1:1" in state.message and "'t'" in state.message


def test_a_batch_ends_with_one_crashed_state_per_child():
    node = BatchNode(("t", 1), plan(), range(4, 7), (Whole(0),), (TaskRef("up"),))
    action = next_action(node, died(("t", 1)))
    assert isinstance(action, EndCrashed)
    assert [s.map_index for s in action.value] == [4, 5, 6]
    assert all(isinstance(s, Crashed) and s.attempts == 1 for s in action.value)
    assert "'t[5]'" in action.value[1].message


def test_a_death_with_several_suspects_charges_nobody_but_isolates_the_node():
    node = TaskNode("t", plan(), ())
    action = next_action(node, died("t", suspects=2))
    assert isinstance(action, RunAgain) and action.node.alone and action.node.crashes == 0
    # dying again, alone (or still among others once isolated): now it is charged
    assert isinstance(next_action(action.node, died("t", suspects=2)), EndCrashed)
    assert isinstance(next_action(action.node, died("t")), EndCrashed)


def test_a_node_whose_input_was_lost_runs_again_unchanged():
    node = TaskNode("t", plan(), (TaskRef("u"),), crashes=1)
    assert next_action(node, InputLost()) == RunAgain(node)


def test_a_group_is_split_and_nobody_is_charged():
    a, b = plan("a"), plan("b")
    group = GroupNode(("~group", 0), (Member(a, (0,)), Member(b, ())), (TaskRef("u"),))
    action = next_action(group, died(("~group", 0)))
    assert isinstance(action, Split)
    assert action.nodes == {
        "a": TaskNode("a", a, (TaskRef("u"),)), "b": TaskNode("b", b, ()),
        ("~group", 0): CollectNode(("~group", 0), ("a", "b"))}
    assert next_action(group, InputLost()) == RunAgain(group)


@pytest.mark.parametrize("node", [ParentNode("p", plan(), (), (("p", 0),)),
                                  CollectNode(("~group", 0), ("a",)),
                                  HeadNode(("~head", "p"), plan(), (TaskRef(("~head", "u")),))])
@pytest.mark.parametrize("event", [died("x"), InputLost()], ids=["died", "lost"])
def test_a_gathering_node_is_gathered_on_the_driver_when_it_holds_the_inputs(node, event):
    assert next_action(node, event) == RunAgain(node)
    held = (WorkerDied(event.error, True) if isinstance(event, WorkerDied)
            else InputLost(True))
    assert next_action(node, held) == GatherHere()


def test_a_head_gathered_on_the_driver_stops_the_children_after_an_upstream_that_did_not_map():
    from prefect_dask import Flow, task
    from prefect_dask.engine.compile import build_plans
    from prefect_dask.engine.runner import RunInfo
    from prefect_dask.states import Failed, Mapped, Skipped

    @task
    def one(x):
        return x

    with Flow("heads") as flow:
        up = one.map([1, 2])
        down = one.copy(skip_on_upstream_skip=False).map(up)
    plans, info = build_plans(flow), RunInfo("heads", "run-1", {})
    node = HeadNode(("~head", down.slug), plans[down], (TaskRef(("~head", up.slug)),))
    maps = node.gather({("~head", up.slug): Head(Mapped(), True)}, info)
    assert isinstance(maps.state, Mapped) and maps.runs
    skipped = node.gather({("~head", up.slug): Head(Skipped("skip"), False)}, info)
    assert isinstance(skipped.state, Failed) and skipped.state.result is None
    assert "cannot map over" in skipped.state.message and not skipped.runs
    no_width = node.gather({("~head", up.slug): Head(Mapped(), False)}, info)  # 0 children
    assert isinstance(no_width.state, Mapped) and not no_width.runs


def test_an_event_outside_the_table_is_a_bug_report():
    with pytest.raises(InvalidTransition, match=r"No recovery rule for a TaskNode \('t'\) "
                                                r"after str.*prefect_dask bug"):
        next_action(TaskNode("t", plan(), ()), "stopped")


def test_run_wide_data_is_one_node_that_task_nodes_read():
    """A big Parameter every child reads whole travels in the SHARED node only: the batch
    nodes carry neither it nor the run's info, so a cluster ships it once per worker."""
    import cloudpickle

    from prefect_dask import Flow, Parameter, task, unmapped
    from prefect_dask.engine.compile import build_plans, next_stage, shared_slugs
    from prefect_dask.engine.nodes import SHARED, shared_node
    from prefect_dask.engine.run import resolve_parameters
    from prefect_dask.engine.runner import RunInfo, run_task

    @task(map_batch_size=1)
    def use(x, blob):
        return x + len(blob)

    big = bytes(2**20)
    with Flow("ship once") as flow:
        use.map([1, 2, 3, 4], unmapped(Parameter("blob", default=big)))
    plans, order = build_plans(flow), flow.sorted_tasks()
    info = RunInfo("ship once", "run-1", resolve_parameters(flow, {}))
    done = {t: run_task(plans[t], info, None, ()) for t in order if not plans[t].inputs}
    stage = next_stage(plans, order, done, {}, workers=2)
    held = {plans[t].slug: s for t, s in done.items()}
    graph = {k: n.task() for k, n in stage.nodes.items()}
    assert len(stage.nodes) == 5                             # 4 batches and the parent
    assert all(len(cloudpickle.dumps(t)) < 20_000 for t in graph.values())
    blob_slug = next(iter(shared_slugs(plans)))
    assert all(blob_slug not in t.dependencies for t in graph.values())
    assert all(SHARED in t.dependencies for t in graph.values())
    shared = shared_node(info, stage.nodes, {blob_slug: held[blob_slug]})
    assert 2**20 < len(cloudpickle.dumps(shared)) < 2**20 + 50_000   # the blob, once


def test_last_run_is_the_one_started_last_not_the_file_written_last():
    import os

    from prefect_dask import Flow, task
    from prefect_dask.store.records import find_run, list_runs

    @task
    def one():
        return 1

    with Flow("which is last") as flow:
        one()
    flow.run()
    flow.run()
    first, second = sorted(list_runs(), key=lambda r: r["started"])
    os.utime(first["path"])          # the older record's file is touched (copied, synced...)
    assert find_run("last", "which is last")["run_id"] == second["run_id"]


def test_cache_expiry_and_validators_follow_the_runs_clock(clock):
    """cache_for counts on the flow run's clock: an entry written at the fake clock's time
    is still valid at that time, though the wall clock is decades later."""
    import datetime

    from prefect_dask import Flow, task

    calls = []

    @task(cache_for=datetime.timedelta(hours=1))
    def cached():
        calls.append(1)
        return 7

    with Flow("clocked cache") as flow:
        cached()
    first = flow.run(clock=clock)
    clock.sleep(60)                                    # a minute later by the run's clock
    second = flow.run(clock=clock)
    task_ = flow.get_tasks(name="cached")[0]
    expires = first.result[task_].cached_result_expiration
    assert expires == datetime.datetime.fromtimestamp(clock.now() - 60, datetime.timezone.utc) \
        + datetime.timedelta(hours=1)
    assert second.result[task_].is_cached() and calls == [1]
    clock.sleep(3600)                                  # past cache_for by the run's clock
    flow.run(clock=clock)
    assert calls == [1, 1]


def test_what_each_node_that_did_not_return_went_through():
    """A node's own death, a lost input, and a death blamed on data no task ran in (the
    SHARED node): the nodes that could not run because of it are its suspects."""
    from prefect_dask.engine.nodes import SHARED
    from prefect_dask.engine.run import _events

    now = {k: TaskNode(k, plan(k), ()) for k in ("a", "b", "c", "d")}
    gone = RuntimeError("worker gone")
    events = _events({"a": NodeError(gone, crashed_key="a"),
                      "b": NodeError(gone, crashed_key="a"),
                      "c": NodeError(gone, crashed_key=SHARED),
                      "d": NodeError(gone, crashed_key=SHARED)}, now)
    assert isinstance(events["a"], WorkerDied) and events["a"].suspects == 1
    assert events["b"] == InputLost()
    assert [events[k].suspects for k in "cd"] == [2, 2]
    assert isinstance(next_action(now["c"], events["c"]), RunAgain)   # run alone, uncharged
